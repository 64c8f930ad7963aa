package find

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"statbox/storage/index"
)

// benchPatterns are asked of both servers; the comments give the matches on
// the benchmark tree s<0-9>.b<0-99>.m<0-99>.
var benchPatterns = []string{
	"s1.*.m5",              // 100
	"*.b?.*",               // 10,000
	"s1.b1.*",              // 100
	"s1.b1.m1",             // 1
	"s{1,2}.b{3,4}.m[0-4]", // 20
}

// BenchmarkFindHTTP times /metrics/find (treejson) over loopback HTTP on one
// tree of 100,000 whisper files (empty: find reads no file), statbox and
// graphite-web 1.1.8 side by side in the same run. The tree is written to
// $STATBOX_BENCH_TREE when set (and reused), else to a temporary directory.
// Run: go test -run '^$' -bench FindHTTP -benchtime 20x ./render/find
func BenchmarkFindHTTP(b *testing.B) {
	data := os.Getenv("STATBOX_BENCH_TREE")
	if data == "" {
		data = b.TempDir()
	}
	wsp := filepath.Join(data, "whisper")
	if _, err := os.Stat(filepath.Join(wsp, "s9", "b99", "m99.wsp")); err != nil {
		for s := range 10 {
			for d := range 100 {
				dir := filepath.Join(wsp, fmt.Sprintf("s%d", s), fmt.Sprintf("b%d", d))
				if err := os.MkdirAll(dir, 0o755); err != nil {
					b.Fatal(err)
				}
				for m := range 100 {
					if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("m%d.wsp", m)), nil, 0o644); err != nil {
						b.Fatal(err)
					}
				}
			}
		}
	}
	x, err := index.Open(data)
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	sb := httptest.NewServer(&Handler{Index: x})
	defer sb.Close()
	gw := startGraphiteWeb(b, wsp)
	for _, side := range []struct{ name, base string }{{"statbox", sb.URL}, {"graphite-web", gw.URL}} {
		for _, p := range benchPatterns {
			u := side.base + "/metrics/find?query=" + url.QueryEscape(p)
			b.Run(side.name+"/"+p, func(b *testing.B) {
				for b.Loop() {
					resp, err := http.Get(u)
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Fatalf("%s: %s", u, resp.Status)
					}
				}
			})
		}
	}
}
