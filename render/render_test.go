package render

import (
	"io"
	"io/fs"
	"math"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"statbox/storage/whisper"
)

type fakeFetcher map[string][]float64

func (f fakeFetcher) Fetch(dst []float64, name string, from, until, now int64) (whisper.Range, []float64, error) {
	vals, ok := f[name]
	if !ok {
		return whisper.Range{}, dst, fs.ErrNotExist
	}
	step := int64(60)
	start := from - from%step + step
	return whisper.Range{From: start, Until: start + step*int64(len(vals)), Step: step}, append(dst, vals...), nil
}

func TestRenderJSON(t *testing.T) {
	f := fakeFetcher{"a.b": {1, math.NaN(), 2.5, 1e16, math.Inf(1), 0.1}, "c": {}}
	h := Handler(Options{Fetcher: f, Now: func() time.Time { return time.Unix(1_700_000_000, 0) }})
	cases := []struct{ query, ctype, body string }{
		{"format=json&target=a.b&from=1699999640&until=1700000000", "application/json",
			`[{"target": "a.b", "tags": {"name": "a.b"}, "datapoints": [[1.0, 1699999680], [null, 1699999740], [2.5, 1699999800], [1e+16, 1699999860], [1e9999, 1699999920], [0.1, 1699999980]]}]`},
		{"format=json&target=missing&target=c&from=-5min", "application/json", `[]`}, // graphite-web's any(data): no values, no series
		{"format=json&target=c&from=-1h&jsonp=cb", "text/javascript", `cb([])`},
		{"format=json&target=nothing", "application/json", `[]`},
	}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/render?"+c.query, nil))
		body, _ := io.ReadAll(rec.Body)
		if rec.Code != 200 || rec.Header().Get("Content-Type") != c.ctype || string(body) != c.body {
			t.Errorf("%s: %d %s\n%s\nwant %s", c.query, rec.Code, rec.Header().Get("Content-Type"), body, c.body)
		}
	}
	for _, q := range []string{"target=sumSeries(a.b", "target=a.b&format=png", "target=nosuch(a.b)&format=json", "target=a.b&from=-1parsec"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/render?"+q, nil))
		if rec.Code != 400 {
			t.Errorf("%s: got %d, want 400", q, rec.Code)
		}
	}
}

func TestParseTime(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	cases := map[string]int64{
		"now": 0, "-1h": -3600, "-7d": -7 * 86400, "now-30min": -1800, "+1w": 7 * 86400,
		"-1h30min": -5400, "-2mon": -60 * 86400, "-1y": -365 * 86400, "-10s": -10, "-5minutes": -300,
	}
	for s, off := range cases {
		got, err := ParseTime(s, now)
		if err != nil || got.Unix() != now.Unix()+off {
			t.Errorf("%q: %v %v, want now%+d", s, got.Unix()-now.Unix(), err, off)
		}
	}
	if got, _ := ParseTime("1600000000", now); got.Unix() != 1600000000 {
		t.Errorf("epoch: %v", got.Unix())
	}
}

// TestJSONStringsAsPython checks names and tags against Python's json.dumps.
func TestJSONStringsAsPython(t *testing.T) {
	names := []string{"a.b", "a;b=c;d=e", "~x;k=v", "métrique.°C", "tab\there", `q"uo\te`, "emoji😀", "del\x7f", "ctl\x01"}
	script := `import json, sys
for n in sys.argv[1:]:
    metric, _, rest = n.partition(';')
    tags = {}
    if rest:
        for seg in rest.split(';'):
            k, v = seg.split('=', 1)
            tags[k] = v
        metric = metric.lstrip('~')
    tags['name'] = metric
    print(json.dumps(n) + '|' + json.dumps(tags))`
	out, err := exec.Command("/usr/bin/python3", append([]string{"-c", script}, names...)...).Output()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	for i, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		got := string(appendTags(append(appendJSONString(nil, names[i]), '|'), names[i]))
		if got != line {
			t.Errorf("%q: got %s, python %s", names[i], got, line)
		}
	}
}
