package render

import (
	"net/url"
	"strconv"
	"testing"
)

// FuzzRender asks the handler arbitrary targets and times over the fixture:
// every answer is a 200 or a 4xx, never a 500 or a crash.
func FuzzRender(f *testing.F) {
	for _, t := range diffTargets {
		f.Add(t, "-6h", "")
	}
	f.Add("summarize(servers.*.cpu.user,'0s')", "-1h", "10")
	f.Add("movingAverage(servers.web01.cpu.user,-5)", "yesterday", "1")
	f.Add("hitcount(counters.errors,'1s',true)", "-1d", "3")
	root := writeFixture(f, f.TempDir())
	h := statboxHandler(root)
	f.Fuzz(func(t *testing.T, target, from, maxPoints string) {
		q := url.Values{"target": {target}, "format": {"json"}, "from": {from}, "now": {strconv.Itoa(t0)}, "maxDataPoints": {maxPoints}}
		code, body := ask(h, "GET", "/render", q)
		if code != 200 && (code < 400 || code > 499) {
			t.Fatalf("%q from %q maxDataPoints %q: %d %s", target, from, maxPoints, code, body)
		}
	})
}
