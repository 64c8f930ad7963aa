package appliance

import (
	"io"
	"math"
	"reflect"
	"strings"
	"testing"

	"statbox/hotpath/statsd"
)

func TestStatsdFlags(t *testing.T) {
	c, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	def := statsd.DefaultOptions()
	if o := c.StatsdConfig.opts; !reflect.DeepEqual(o.PercentThreshold, def.PercentThreshold) || !o.LegacyNamespace ||
		o.GlobalPrefix != "stats" || o.PrefixStats != "statsd" || o.DeleteCounters || o.DeleteGauges {
		t.Errorf("defaults are not etsy's: %+v", o)
	}

	c, err = parseFlags([]string{"--percent-threshold", "90, 99.9,-10", "--histogram", "api.:10,100,inf",
		"--histogram", ":1", "--legacy-namespace=false", "--global-prefix", "", "--prefix-counter", "c",
		"--delete-idle-stats", "--delete-gauges=false", "--forward", "127.0.0.1:2003", "--statsd-debug", "^api"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	o := c.StatsdConfig.opts
	if !reflect.DeepEqual(o.PercentThreshold, []float64{90, 99.9, -10}) {
		t.Errorf("percent thresholds %v", o.PercentThreshold)
	}
	want := []statsd.Histogram{{Metric: "api.", Bins: []float64{10, 100, math.Inf(1)}}, {Metric: "", Bins: []float64{1}}}
	if !reflect.DeepEqual(o.Histograms, want) {
		t.Errorf("histograms %+v", o.Histograms)
	}
	if o.LegacyNamespace || o.GlobalPrefix != "" || o.PrefixCounter != "c" {
		t.Errorf("namespace flags: %+v", o)
	}
	// --delete-idle-stats sets the ones not given, as etsy's deleteIdleStats.
	if !o.DeleteCounters || !o.DeleteTimers || !o.DeleteSets || o.DeleteGauges {
		t.Errorf("delete flags: %+v", o)
	}
	if c.StatsdConfig.forward != "127.0.0.1:2003" || c.StatsdConfig.debug != "^api" {
		t.Errorf("forward %q debug %q", c.StatsdConfig.forward, c.StatsdConfig.debug)
	}

	for _, bad := range [][]string{
		{"--percent-threshold", "abc"}, {"--percent-threshold", "0"}, {"--percent-threshold", "100"},
		{"--histogram", "nocolon"}, {"--histogram", "x:1,zz"}, {"--statsd-debug", "("},
	} {
		if _, err := parseFlags(bad, io.Discard); err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(bad[0], "--")) {
			t.Errorf("%q: %v, want an error naming the flag", bad, err)
		}
	}
}
