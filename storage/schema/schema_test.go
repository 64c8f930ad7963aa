package schema

import (
	"compress/gzip"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"statbox/internal/race"
	"statbox/storage/whisper"
)

func rt(secondsPerPoint, points uint32) whisper.Retention {
	return whisper.Retention{SecondsPerPoint: secondsPerPoint, Points: points}
}

func TestParseRetention(t *testing.T) {
	for _, c := range []struct {
		in   string
		want whisper.Retention
		err  string
	}{
		{in: "10s:6h", want: rt(10, 2160)},
		{in: "1m:7d", want: rt(60, 10080)},
		{in: "10m:5y", want: rt(600, 262800)},
		{in: "1h:2w", want: rt(3600, 336)},
		{in: "1d:1y", want: rt(86400, 365)},
		{in: "60:1440", want: rt(60, 1440)}, // bare seconds:points
		{in: "60:1d", want: rt(60, 1440)},
		{in: "1m:1440", want: rt(60, 1440)},
		{in: "7s:1m", want: rt(7, 8)}, // carbon truncates, as int(60 / 7) does
		{in: " \n10s:6h ", want: rt(10, 2160)},
		{in: "1min:6d", err: "Invalid unit 'min' in '1min:6d': carbon takes s, m, h, d, w or y"},
		{in: "10s:6hours", err: "Invalid unit 'hours'"},
		{in: "10x:6h", err: "Invalid unit 'x'"},
		{in: "10S:6h", err: "Invalid precision specification '10S'"},
		{in: "10s:", err: "Invalid retention specification ''"},
		{in: "0:10", err: "Invalid precision specification '0'"},
		{in: "10s:0", err: "Invalid retention specification '0'"},
		{in: "60", err: "Invalid retention definition '60'"},
		{in: "60:1:1", err: "Invalid retention definition '60:1:1'"},
		{in: "", err: "Invalid retention definition ''"},
	} {
		got, err := parseRetention(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: got %v, %v; want error %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: got %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func mustRules(t testing.TB, schemas, aggregation string) *Rules {
	t.Helper()
	r, err := parseRules(strings.NewReader(schemas), "storage-schemas.conf",
		strings.NewReader(aggregation), "storage-aggregation.conf")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const testSchemas = `
[timers]
pattern = ^stats\.timers\.
retentions = 1m:1d

# A later, wider pattern does not take names an earlier one took.
[stats]
pattern = ^stats\.
retentions = 10s:1h,
	1m:1d

[tagged]
pattern = ;env=prod(;|$)
retentions = 60:1440

[sorted]
pattern = ^unsorted\.
retentions = 10m:30d,1m:1d
`

func TestSchemaFirstMatchWins(t *testing.T) {
	r := mustRules(t, testSchemas, "")
	for _, c := range []struct {
		metric, name string
		archives     []whisper.Retention
	}{
		{"stats.timers.api.mean", "timers", []whisper.Retention{rt(60, 1440)}},
		{"stats.gauges.queue", "stats", []whisper.Retention{rt(10, 360), rt(60, 1440)}},
		{"xstats.gauges.queue", "default", []whisper.Retention{rt(60, 10080)}}, // carbon's fallback
		{"disk.used;env=prod;host=a", "tagged", []whisper.Retention{rt(60, 1440)}},
		{"disk.used;env=production", "default", []whisper.Retention{rt(60, 10080)}},
		{"unsorted.x", "sorted", []whisper.Retention{rt(60, 1440), rt(600, 4320)}},
	} {
		s := r.Schema(c.metric)
		if s.Name != c.name || !reflect.DeepEqual(s.Archives, c.archives) {
			t.Errorf("%s: got [%s] %v, want [%s] %v", c.metric, s.Name, s.Archives, c.name, c.archives)
		}
	}
	if s := r.Schema("xstats"); s.Pattern != nil {
		t.Errorf("fallback has pattern %v", s.Pattern)
	}
}

const testAggregation = `
# As in carbon, [DEFAULT] is a section of its own, and its keys fill in
# for the sections after it.
[DEFAULT]
pattern = ^default\.
xFilesFactor = 0.2

[sum]
pattern = \.count$
XFILESFACTOR = 0
aggregationMethod = sum

# Only a pattern: takes whisper's defaults for the keys it leaves out,
# never a later section's.
[keep_defaults]
pattern = ^raw\.

[only_method]
pattern = \.max$
aggregationMethod = max
`

func TestAggregationFirstMatchWins(t *testing.T) {
	r := mustRules(t, "[all]\npattern = .*\nretentions = 60:1d\n", testAggregation)
	for _, c := range []struct {
		metric, name string
		opts         whisper.CreateOptions
	}{
		{"a.count", "sum", whisper.CreateOptions{XFilesFactor: 0, XFilesFactorSet: true, AggregationMethod: whisper.Sum}},
		{"raw.a.count", "sum", whisper.CreateOptions{XFilesFactor: 0, XFilesFactorSet: true, AggregationMethod: whisper.Sum}},
		{"default.a.count", "DEFAULT", whisper.CreateOptions{XFilesFactor: 0.2, XFilesFactorSet: true}},
		{"raw.a.max", "keep_defaults", whisper.CreateOptions{XFilesFactor: 0.2, XFilesFactorSet: true}},
		{"a.max", "only_method", whisper.CreateOptions{XFilesFactor: 0.2, XFilesFactorSet: true, AggregationMethod: whisper.Max}},
		{"a.min", "default", whisper.CreateOptions{}},
	} {
		if a := r.Aggregation(c.metric); a.Name != c.name {
			t.Errorf("%s: got [%s], want [%s]", c.metric, a.Name, c.name)
		}
		if _, opts := r.ForMetric(c.metric); opts != c.opts {
			t.Errorf("%s: got %+v, want %+v", c.metric, opts, c.opts)
		}
	}
}

func TestDefaultSectionIsARule(t *testing.T) {
	r := mustRules(t, "[DEFAULT]\npattern = ^a\\.\nretentions = 60:1d\n[b]\npattern = ^b\\.\n", "")
	if len(r.Schemas) != 2 {
		t.Fatalf("got %d schemas, want [DEFAULT] and [b]", len(r.Schemas))
	}
	if s := r.Schema("a.x"); s.Name != "DEFAULT" {
		t.Errorf("a.x: got [%s]", s.Name)
	}
	if s := r.Schema("b.x"); s.Name != "b" || s.Archives[0] != rt(60, 1440) {
		t.Errorf("b.x: got [%s] %v, want [b] with [DEFAULT]'s retentions", s.Name, s.Archives)
	}
}

func TestDefaultSectionLends(t *testing.T) {
	r := mustRules(t, "[DEFAULT]\nretentions = 1m:1d\n[a]\npattern = ^a\\.\n",
		"[DEFAULT]\nxFilesFactor = 0\n[a]\npattern = ^a\\.\n")
	if len(r.Schemas) != 1 || len(r.Aggregations) != 1 {
		t.Fatalf("got %d schemas and %d aggregations, want [a] alone in each", len(r.Schemas), len(r.Aggregations))
	}
	if archives, opts := r.ForMetric("a.x"); archives[0] != rt(60, 1440) || !opts.XFilesFactorSet || opts.XFilesFactor != 0 {
		t.Errorf("a.x: got %v %+v, want [DEFAULT]'s keys", archives, opts)
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		name, schemas, aggregation string
		file, section, key         string
		line                       int
		err                        string
	}{
		{
			name: "missing pattern", schemas: "[a]\nretentions = 60:1d\n",
			file: "storage-schemas.conf", line: 1, section: "a", key: "pattern", err: "missing",
		},
		{
			name: "empty pattern", schemas: "[a]\npattern =\nretentions = 60:1d\n",
			file: "storage-schemas.conf", line: 1, section: "a", key: "pattern", err: "missing",
		},
		{
			name: "match-all", schemas: "[a]\nmatch-all = true\nretentions = 60:1d\n",
			file: "storage-schemas.conf", line: 1, section: "a", key: "pattern", err: "write pattern = .*",
		},
		{
			name: "missing retentions", schemas: "\n[a]\npattern = .*\n",
			file: "storage-schemas.conf", line: 2, section: "a", key: "retentions", err: "missing",
		},
		{
			name: "bad regexp", schemas: "[a]\npattern = ^(stats\nretentions = 60:1d\n",
			file: "storage-schemas.conf", line: 2, section: "a", key: "pattern", err: "missing closing )",
		},
		{
			name: "Python-only regexp", schemas: "[a]\npattern = ^(?!carbon)\nretentions = 60:1d\n",
			file: "storage-schemas.conf", line: 2, section: "a", key: "pattern", err: "RE2",
		},
		{
			name: "bad retention", schemas: "[a]\npattern = .*\nretentions = 10s:6h,1min:6d\n",
			file: "storage-schemas.conf", line: 3, section: "a", key: "retentions", err: "Invalid unit 'min'",
		},
		{
			name: "trailing comma", schemas: "[a]\npattern = .*\nretentions = 10s:6h,\n",
			file: "storage-schemas.conf", line: 3, section: "a", key: "retentions", err: "Invalid retention definition ''",
		},
		{
			name: "precisions that do not divide", schemas: "[a]\npattern = .*\nretentions = 10s:6h,15s:7d\n",
			file: "storage-schemas.conf", line: 3, section: "a", key: "retentions", err: "evenly divide",
		},
		{
			name: "same precision twice", schemas: "[a]\npattern = .*\nretentions = 10s:6h,10s:7d\n",
			file: "storage-schemas.conf", line: 3, section: "a", key: "retentions", err: "same precision",
		},
		{
			name: "lower precision covering less", schemas: "[a]\npattern = .*\nretentions = 10s:1d,1m:1h\n",
			file: "storage-schemas.conf", line: 3, section: "a", key: "retentions", err: "cover larger time intervals",
		},
		{
			name: "aggregation missing pattern", aggregation: "[a]\nxFilesFactor = 0\n",
			file: "storage-aggregation.conf", line: 1, section: "a", key: "pattern", err: "missing",
		},
		{
			name: "xff not a number", aggregation: "[a]\npattern = .*\nxFilesFactor = half\n",
			file: "storage-aggregation.conf", line: 3, section: "a", key: "xFilesFactor", err: `"half" is not a number`,
		},
		{
			name: "xff above 1", aggregation: "[a]\npattern = .*\nxFilesFactor = 1.5\n",
			file: "storage-aggregation.conf", line: 3, section: "a", key: "xFilesFactor", err: "1.5 is not between 0 and 1",
		},
		{
			name: "xff below 0", aggregation: "[a]\npattern = .*\nxFilesFactor = -0.1\n",
			file: "storage-aggregation.conf", line: 3, section: "a", key: "xFilesFactor", err: "not between 0 and 1",
		},
		{
			name: "xff NaN", aggregation: "[a]\npattern = .*\nxFilesFactor = nan\n",
			file: "storage-aggregation.conf", line: 3, section: "a", key: "xFilesFactor", err: "not between 0 and 1",
		},
		{
			name: "unknown method", aggregation: "[a]\npattern = .*\naggregationMethod = median\n",
			file: "storage-aggregation.conf", line: 3, section: "a", key: "aggregationMethod",
			err: `unknown method "median", want one of average, sum, last, max, min, avg_zero, absmax, absmin`,
		},
		{
			// whisper.py's aggregationMethods list is compared as is.
			name: "method in capitals", aggregation: "[a]\npattern = .*\naggregationMethod = Sum\n",
			file: "storage-aggregation.conf", line: 3, section: "a", key: "aggregationMethod", err: `unknown method "Sum"`,
		},
		{
			name: "aggregation bad regexp", aggregation: "[a]\npattern = a{2,1}\n",
			file: "storage-aggregation.conf", line: 2, section: "a", key: "pattern", err: "invalid repeat count",
		},
		{
			name: "syntax", aggregation: "[a]\npattern\n",
			file: "storage-aggregation.conf", line: 2, section: "a", err: "is not a [section]",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			schemas := c.schemas
			if schemas == "" {
				schemas = "[all]\npattern = .*\nretentions = 60:1d\n"
			}
			_, err := parseRules(strings.NewReader(schemas), "storage-schemas.conf",
				strings.NewReader(c.aggregation), "storage-aggregation.conf")
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want an *Error", err)
			}
			if e.File != c.file || e.Line != c.line || e.Section != c.section || e.Key != c.key || !strings.Contains(e.Err.Error(), c.err) {
				t.Errorf("got %q\nwant %s:%d [%s] %s: ...%s...", err, c.file, c.line, c.section, c.key, c.err)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	for _, c := range []struct {
		e    Error
		want string
	}{
		{Error{File: "f.conf", Line: 3, Section: "a", Key: "pattern", Err: errors.New("missing")}, "f.conf:3: [a] pattern: missing"},
		{Error{File: "f.conf", Line: 3, Section: "a", Err: errors.New("bad")}, "f.conf:3: [a]: bad"},
		{Error{File: "f.conf", Line: 1, Err: errors.New("bad")}, "f.conf:1: bad"},
		{Error{File: "f.conf", Err: errors.New("bad")}, "f.conf: bad"},
	} {
		if got := c.e.Error(); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}

// TestDefaults checks the built-in rules against the names statsd 0.9's
// graphite backend writes, in both namespaces, and a few from other senders.
func TestDefaults(t *testing.T) {
	r, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	const (
		sum = whisper.Sum
		max = whisper.Max
		min = whisper.Min
		avg = whisper.Average
	)
	for _, c := range []struct {
		metric string
		method whisper.AggregationMethod
		xff    float64
	}{
		{"stats.foo.count", sum, 0},
		{"stats.counters.foo.count", sum, 0},
		{"stats_counts.foo", sum, 0},
		{"stats_counts.foo.lower", sum, 0},
		{"stats.timers.x.count", sum, 0},
		{"stats.timers.x.count_90", sum, 0},
		{"stats.timers.x.sum", sum, 0},
		{"stats.timers.x.sum_90", sum, 0},
		{"stats.timers.x.sum_99_9", sum, 0},
		{"stats.timers.x.sum_squares", sum, 0},
		{"stats.timers.x.sum_squares_90", sum, 0},
		{"stats.timers.x.histogram.bin_100", sum, 0},
		{"stats.timers.x.histogram.bin_inf", sum, 0},
		{"stats.sets.users.count", sum, 0},
		{"stats.timers.x.upper", max, 0.1},
		{"stats.timers.x.upper_90", max, 0.1},
		{"stats.timers.x.upper_99_9", max, 0.1},
		{"collectd.web1.ping.max", max, 0.1},
		{"stats.timers.x.lower", min, 0.1},
		{"stats.timers.x.lower_top10", min, 0.1},
		{"collectd.web1.ping.min", min, 0.1},
		{"stats.gauges.x", avg, 0.5},
		{"stats.foo", avg, 0.5}, // legacy namespace's per-second rate
		{"stats.counters.foo.rate", avg, 0.5},
		{"stats.timers.x.mean", avg, 0.5},
		{"stats.timers.x.mean_90", avg, 0.5},
		{"stats.timers.x.count_ps", avg, 0.5},
		{"stats.timers.x.median", avg, 0.5},
		{"stats.timers.x.std", avg, 0.5},
		{"stats.timers.x.uppers", avg, 0.5},
		{"statsd.numStats", avg, 0.5},
		{"servers.web1.cpu.total.user", avg, 0.5},
	} {
		_, opts := r.ForMetric(c.metric)
		want := whisper.CreateOptions{XFilesFactor: c.xff, XFilesFactorSet: true, AggregationMethod: c.method}
		if opts != want {
			t.Errorf("%s: got %v xff %v, want %v xff %v (section [%s])",
				c.metric, opts.AggregationMethod, opts.XFilesFactor, c.method, c.xff, r.Aggregation(c.metric).Name)
		}
	}
	for _, c := range []struct {
		metric, schema string
		archives       []whisper.Retention
	}{
		{"carbon.agents.box-a.cpuUsage", "carbon", []whisper.Retention{rt(60, 129600)}},
		{"statbox.hotpath.bad_lines_seen", "statbox", []whisper.Retention{rt(60, 129600), rt(600, 262800)}},
		{"stats.timers.x.upper", "default", []whisper.Retention{rt(10, 2160), rt(60, 10080), rt(600, 262800)}},
		{"servers.web1.cpu.total.user", "default", []whisper.Retention{rt(10, 2160), rt(60, 10080), rt(600, 262800)}},
	} {
		s := r.Schema(c.metric)
		if s.Name != c.schema || !reflect.DeepEqual(s.Archives, c.archives) {
			t.Errorf("%s: got [%s] %v, want [%s] %v", c.metric, s.Name, s.Archives, c.schema, c.archives)
		}
	}
}

func writeConf(t *testing.T, dir, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("no %s: got %v, want ErrNotExist", SchemasFile, err)
	}

	writeConf(t, dir, SchemasFile, "[all]\npattern = .*\nretentions = 1m:1d\n")
	r, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Like carbon: without a storage-aggregation.conf every file gets
	// whisper's defaults, not the built-in rules.
	if archives, opts := r.ForMetric("stats.foo.count"); opts != (whisper.CreateOptions{}) || archives[0] != rt(60, 1440) {
		t.Errorf("schemas only: got %v %+v", archives, opts)
	}

	writeConf(t, dir, AggregationFile, "[sum]\npattern = \\.count$\naggregationMethod = sum\n")
	r, err = Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, opts := r.ForMetric("stats.foo.count"); opts != (whisper.CreateOptions{AggregationMethod: whisper.Sum}) {
		t.Errorf("both files: got %+v", opts)
	}

	writeConf(t, dir, AggregationFile, "[sum]\npattern = \\.count$\naggregationMethod = total\n")
	var e *Error
	if _, err := Load(dir); !errors.As(err, &e) || e.File != filepath.Join(dir, AggregationFile) || e.Line != 3 {
		t.Errorf("bad aggregation: got %v, want it located in %s line 3", err, filepath.Join(dir, AggregationFile))
	}

	// A file that cannot be read is an error, where carbon carries on
	// without it.
	other := t.TempDir()
	writeConf(t, other, SchemasFile, "[all]\npattern = .*\nretentions = 1m:1d\n")
	if err := os.Mkdir(filepath.Join(other, AggregationFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(other); err == nil {
		t.Error("unreadable aggregation file: got no error")
	}
}

// TestCarbonExamples reads confs in the shape of carbon's shipped examples
// (conf/*.conf.example in graphite-project/carbon) and, when Debian's
// graphite-carbon is installed, the files it ships.
func TestCarbonExamples(t *testing.T) {
	r := mustRules(t, `
# Schema definitions for Whisper files. Entries are scanned in order,
# and first match wins.
[carbon]
pattern = ^carbon\.
retentions = 60:90d

[default_1min_for_1day]
pattern = .*
retentions = 60s:1d
`, `
[min]
pattern = \.min$
xFilesFactor = 0.1
aggregationMethod = min

[max]
pattern = \.max$
xFilesFactor = 0.1
aggregationMethod = max

[sum]
pattern = \.count$
xFilesFactor = 0
# for monotonically increasing counters
aggregationMethod = max
# for counters that reset every interval (statsd-style)
#aggregationMethod = sum

[default_average]
pattern = .*
xFilesFactor = 0.5
aggregationMethod = average
`)
	if a := r.Aggregation("hits.count"); a.Name != "sum" || a.Method != whisper.Max || !a.XFilesFactorSet || a.XFilesFactor != 0 {
		t.Errorf("hits.count: got %+v", a)
	}
	if s := r.Schema("carbon.agents.a.cpuUsage"); s.Archives[0] != rt(60, 129600) {
		t.Errorf("carbon.*: got %v", s.Archives)
	}

	found := 0
	for _, dir := range []string{"/etc/carbon", "/usr/share/doc/graphite-carbon/examples"} {
		for _, base := range []string{SchemasFile, AggregationFile} {
			for _, name := range []string{base, base + ".example", base + ".example.gz"} {
				path := filepath.Join(dir, name)
				f, err := os.Open(path)
				if err != nil {
					continue
				}
				found++
				var in io.Reader = f
				if strings.HasSuffix(name, ".gz") {
					if in, err = gzip.NewReader(f); err != nil {
						t.Fatal(err)
					}
				}
				if base == SchemasFile {
					_, err = ParseSchemas(in, path)
				} else {
					_, err = ParseAggregations(in, path)
				}
				f.Close()
				if err != nil {
					t.Error(err)
				}
			}
		}
	}
	if found == 0 {
		t.Log("Debian's graphite-carbon is not installed: its confs were not read")
	}
}

func TestForMetricAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector makes regexp allocate")
	}
	r, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"stats.gauges.x", "stats.timers.x.upper_90", "carbon.agents.a.cpuUsage", "a;b=c"} {
		if n := testing.AllocsPerRun(100, func() { r.ForMetric(name) }); n != 0 {
			t.Errorf("%s: %v allocations", name, n)
		}
	}
	var zero Rules
	if n := testing.AllocsPerRun(100, func() { zero.ForMetric("x") }); n != 0 {
		t.Errorf("fallback: %v allocations", n)
	}
}

// BenchmarkForMetric matches names that fall through most of the built-in
// rules: the cost of picking the settings of one new file.
func BenchmarkForMetric(b *testing.B) {
	r, err := Load("")
	if err != nil {
		b.Fatal(err)
	}
	names := []string{"stats.gauges.app.queue_depth", "stats.timers.api.request.upper_90", "servers.web1.cpu.total.user"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r.ForMetric(names[i%len(names)])
	}
}
