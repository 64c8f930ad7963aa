package render

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"statbox/storage/layout"
	"statbox/storage/whisper"
)

// t0 anchors every fixture file: the request's now in the differential tests.
const t0 = 1_700_000_040 // a multiple of 60 and of 600

// fixtureNames are the metrics of the differential tests' whisper tree.
var fixtureNames = []string{
	"servers.web01.cpu.user", "servers.web01.cpu.system",
	"servers.web02.cpu.user", "servers.web02.cpu.system",
	"servers.web03.cpu.user", "servers.web03.cpu.system",
	"servers.db01.cpu.user", "servers.db01.disk.used",
	"counters.requests", "counters.errors",
	"gauges.temp10s", "gauges.negative", "gauges.sparse", "gauges.empty",
	"disk.used;dc=east;host=a", "disk.used;dc=east;host=b", "disk.used;dc=west;host=c", "cpu.load;dc=east;host=a",
}

// fixtureEvents are the events of the differential tests: when and tags.
var fixtureEvents = []struct {
	when int64
	tags []string
}{
	{t0 - 3000, []string{"deploy", "web"}}, {t0 - 3000, []string{"deploy", "web"}},
	{t0 - 1500, []string{"deploy", "db"}}, {t0 - 700, []string{"outage"}}, {t0 - 100, []string{"deploy", "web", "canary"}},
}

// fixtureEventSource gives fixtureEvents carrying all the asked tags, from
// and until included, as graphite-web's find_events does.
type fixtureEventSource struct{}

func (fixtureEventSource) EventTimes(from, until int64, tags []string) ([]int64, error) {
	var out []int64
	for _, e := range fixtureEvents {
		ok := e.when >= from && e.when <= until
		for _, t := range tags {
			ok = ok && slices.Contains(e.tags, t)
		}
		if ok {
			out = append(out, e.when)
		}
	}
	return out, nil
}

// fixtureValue is the value of metric k at minute i before t0, NaN for none.
func fixtureValue(name string, k, i int) float64 {
	switch name {
	case "counters.requests":
		// A counter that wraps at 1000.
		return float64((i * 7) % 1000)
	case "counters.errors":
		if i%50 == 0 {
			return math.NaN()
		}
		return float64(i / 3)
	case "gauges.negative":
		return -50 + float64(i%100) - 0.25
	case "gauges.sparse":
		if i%5 != 0 {
			return math.NaN()
		}
		return float64(i%37) * 1.5
	case "gauges.empty":
		return math.NaN()
	}
	if (i+k)%29 == 0 {
		return math.NaN()
	}
	return float64((i*(k+3)+k*11)%97) + float64(k)/4
}

// writeFixture creates the whisper tree under dir/whisper and returns that
// directory: minutely for two days then 10-minutely for 30 days, and one
// 10-second file, all written as of t0.
func writeFixture(tb testing.TB, dir string) string {
	tb.Helper()
	root := filepath.Join(dir, "whisper")
	for k, name := range fixtureNames {
		path := filepath.Join(root, string(layout.AppendPath(nil, []byte(name))))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		ret := []whisper.Retention{{SecondsPerPoint: 60, Points: 2 * 1440}, {SecondsPerPoint: 600, Points: 30 * 144}}
		step := int64(60)
		n := 3 * 1440
		if name == "gauges.temp10s" {
			ret = []whisper.Retention{{SecondsPerPoint: 10, Points: 6 * 360}, {SecondsPerPoint: 60, Points: 2 * 1440}}
			step, n = 10, 6*360
		}
		if err := whisper.Create(path, ret, whisper.CreateOptions{XFilesFactorSet: true, XFilesFactor: 0.1}); err != nil {
			tb.Fatal(err)
		}
		f, err := whisper.Open(path, whisper.Options{})
		if err != nil {
			tb.Fatal(err)
		}
		var pts []whisper.Point
		for i := n; i >= 0; i-- {
			v := fixtureValue(name, k, i)
			if math.IsNaN(v) {
				continue
			}
			pts = append(pts, whisper.Point{Timestamp: t0 - int64(i)*step, Value: v})
		}
		if len(pts) > 0 {
			if err := f.UpdateMany(pts, t0); err != nil {
				tb.Fatal(err)
			}
		}
		f.Close()
	}
	return root
}

// dirFetcher reads whisper files under a root, as the storage cache does
// with nothing cached.
type dirFetcher struct{ root string }

func (d dirFetcher) Fetch(dst []float64, name string, from, until, now int64) (whisper.Range, []float64, error) {
	f, err := whisper.Open(filepath.Join(d.root, string(layout.AppendPath(nil, []byte(name)))), whisper.Options{ReadOnly: true})
	if err != nil {
		return whisper.Range{}, dst, err
	}
	defer f.Close()
	return f.Fetch(dst, from, until, now)
}

// listFinder is a test Finder over a fixed list of names, with graphite's
// glob syntax turned into a regular expression per node.
type listFinder []string

func (l listFinder) Expand(pattern string) []string {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch c {
		case '*':
			b.WriteString(`[^.]*`)
		case '?':
			b.WriteString(`[^.]`)
		case '[':
			j := strings.IndexByte(pattern[i:], ']')
			if j < 0 {
				return nil
			}
			b.WriteString(pattern[i : i+j+1])
			i += j
		case '{':
			j := strings.IndexByte(pattern[i:], '}')
			if j < 0 {
				return nil
			}
			alts := strings.Split(pattern[i+1:i+j], ",")
			for k := range alts {
				alts[k] = regexp.QuoteMeta(alts[k])
			}
			b.WriteString("(?:" + strings.Join(alts, "|") + ")")
			i += j
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil
	}
	var out []string
	for _, n := range l {
		if re.MatchString(n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

func (l listFinder) TaggedSeries(exprs []string) ([]string, error) {
	var out []string
	for _, n := range l {
		if !strings.Contains(n, ";") {
			continue
		}
		tags := seriesTags(n)
		ok := true
		for _, e := range exprs {
			i := strings.IndexAny(e, "!=")
			if i < 0 {
				return nil, fmt.Errorf("bad tag expression %q", e)
			}
			k, op, v := e[:i], "", ""
			for _, o := range []string{"!=~", "=~", "!=", "="} {
				if strings.HasPrefix(e[i:], o) {
					op, v = o, e[i+len(o):]
					break
				}
			}
			switch op {
			case "=":
				ok = ok && tags[k] == v
			case "!=":
				ok = ok && tags[k] != v
			case "=~", "!=~":
				re, err := regexp.Compile("^(?:" + v + ")")
				if err != nil {
					return nil, err
				}
				ok = ok && re.MatchString(tags[k]) == (op == "=~")
			}
		}
		if ok {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}
