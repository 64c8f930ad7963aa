package render

import (
	"compress/gzip"
	"io"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestBoundsAndBadInput(t *testing.T) {
	root := writeFixture(t, t.TempDir())
	base := Options{Fetcher: dirFetcher{root}, Finder: listFinder(fixtureNames), Now: func() time.Time { return time.Unix(t0, 0) }}
	with := func(f func(*Options)) Options { o := base; f(&o); return o }
	deep := strings.Repeat("scale(", 20) + "servers.web01.cpu.user" + strings.Repeat(",1)", 20)
	for _, c := range []struct {
		o      Options
		target string
		extra  url.Values
		code   int
		says   string
	}{
		{with(func(o *Options) { o.MaxSeries = 3 }), "servers.*.cpu.*", nil, 413, "MaxSeries"},
		{with(func(o *Options) { o.MaxPoints = 100 }), "servers.*.cpu.user", nil, 413, "MaxPoints"},
		{with(func(o *Options) { o.MaxDepth = 10 }), deep, nil, 413, "MaxDepth"},
		{with(func(o *Options) { o.MaxTargets = 1 }), "a", url.Values{"target": {"b"}}, 413, "MaxTargets"},
		{base, deep, nil, 200, ""},
		{base, "sumSeries(servers.*", nil, 400, "position"},
		{base, "nosuch(a)", nil, 400, "unknown function"},
		{base, "scale(a)", nil, 400, "factor"},
		{base, "a", url.Values{"from": {"-1parsec"}}, 400, "from"},
		{base, "a", url.Values{"until": {"banana"}}, 400, "until"},
		{base, "a", url.Values{"from": {"-1h"}, "until": {"-1h"}}, 400, "empty time range"},
		{base, "a", url.Values{"format": {"png"}}, 400, "format png not available"},
		{base, "a", url.Values{"format": {"xml"}}, 400, "unknown format"},
		{base, "a", url.Values{"xFilesFactor": {"2"}}, 400, "xFilesFactor"},
		{base, "42", nil, 400, "not a series"},
	} {
		q := url.Values{"target": {c.target}, "format": {"json"}, "from": {"-1h"}}
		for k, v := range c.extra {
			if k == "target" {
				q[k] = append(q[k], v...)
			} else {
				q[k] = v
			}
		}
		code, body := ask(Mux(c.o), "GET", "/render", q)
		if code != c.code || !strings.Contains(string(body), c.says) {
			t.Errorf("%.60s %v: %d %q, want %d naming %q", c.target, c.extra, code, body, c.code, c.says)
		}
	}
	rec := httptest.NewRecorder()
	Mux(base).ServeHTTP(rec, httptest.NewRequest("PUT", "/render?target=a", nil))
	if rec.Code != 405 {
		t.Errorf("PUT: %d, want 405", rec.Code)
	}
}

func TestGzipAndPost(t *testing.T) {
	root := writeFixture(t, t.TempDir())
	h := statboxHandler(root)
	q := url.Values{"target": {"sumSeries(servers.*.cpu.user)"}, "format": {"json"}, "from": {"-6h"}, "now": {strconv.Itoa(t0)}, "maxDataPoints": {"100"}}
	req := httptest.NewRequest("GET", "/render?"+q.Encode(), nil)
	req.Header.Set("Accept-Encoding", "gzip")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("no gzip: %v", rec.Header())
	}
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	zipped, _ := io.ReadAll(zr)
	_, plain := ask(h, "POST", "/render", q)
	if string(zipped) != string(plain) || !strings.HasPrefix(string(plain), `[{"target": "sumSeries(servers.*.cpu.user)"`) {
		t.Errorf("gzip GET and POST differ or are wrong:\n%.200s\n%.200s", zipped, plain)
	}
	if code, body := ask(h, "GET", "/version", nil); code != 200 || string(body) != "1.1.8" {
		t.Errorf("/version: %d %q", code, body)
	}
}
