package render

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"statbox/render/internal/graphiteweb"
	"statbox/storage/whisper"
)

// benchTree writes n files of 8,640 ten-second points (one day) under
// dir/whisper/bench/sN.wsp and returns the whisper root and names.
func benchTree(b *testing.B, dir string, n int) (string, []string) {
	root := filepath.Join(dir, "whisper")
	if err := os.MkdirAll(filepath.Join(root, "bench"), 0o755); err != nil {
		b.Fatal(err)
	}
	var names []string
	pts := make([]whisper.Point, 8640)
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("bench.s%04d", i)
		names = append(names, name)
		path := filepath.Join(root, "bench", fmt.Sprintf("s%04d.wsp", i))
		if err := whisper.Create(path, []whisper.Retention{{SecondsPerPoint: 10, Points: 8640}}, whisper.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		f, err := whisper.Open(path, whisper.Options{})
		if err != nil {
			b.Fatal(err)
		}
		for k := range pts {
			pts[k] = whisper.Point{Timestamp: t0 - int64(8640-k)*10, Value: float64((k*7+i)%1000) / 8}
		}
		if err := f.UpdateMany(pts, t0); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
	return root, names
}

// BenchmarkSumSeriesJSON is the budget's request: sumSeries over 1,000
// series of 8,640 points to json. With graphite-web installed it also
// times graphite-web on the same files (metric gw-ms/op, a median of 3).
func BenchmarkSumSeriesJSON(b *testing.B) {
	dir := b.TempDir()
	root, names := benchTree(b, dir, 1000)
	// Files stay open, as the storage cache's pool keeps them.
	open := openFetcher{}
	for _, n := range names {
		f, err := whisper.Open(filepath.Join(root, "bench", n[len("bench."):]+".wsp"), whisper.Options{ReadOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		open[n] = f
	}
	h := Mux(Options{Fetcher: open, Finder: listFinder(names), Now: func() time.Time { return time.Unix(t0, 0) }})
	q := url.Values{"target": {"sumSeries(bench.*)"}, "format": {"json"}, "from": {strconv.Itoa(t0 - 86400)}, "until": {strconv.Itoa(t0)}, "now": {strconv.Itoa(t0)}}
	code, body := ask(h, "GET", "/render", q)
	if code != 200 || len(body) < 8640*10 {
		b.Fatalf("%d %.200s", code, body)
	}
	// CPU time per request as well as wall time: on a shared machine the
	// wall time mostly measures the other tenants.
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		ask(h, "GET", "/render", q)
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	if graphiteweb.Available() != nil || os.Getenv("BENCH_GRAPHITE_WEB") == "" {
		return
	}
	gw, err := graphiteweb.Start(root, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer gw.Close()
	var ds []time.Duration
	for range 3 {
		start := time.Now()
		c, want, err := gw.Get("/render", q)
		ds = append(ds, time.Since(start))
		if err != nil || c != 200 {
			b.Fatal(c, err)
		}
		if err := compareSeries(body, want); err != nil {
			b.Fatal(err)
		}
	}
	med := min(max(ds[0], ds[1]), max(ds[1], ds[2]), max(ds[0], ds[2]))
	b.ReportMetric(float64(med.Milliseconds()), "gw-ms/op")
}

type openFetcher map[string]*whisper.File

func (o openFetcher) Fetch(dst []float64, name string, from, until, now int64) (whisper.Range, []float64, error) {
	f, ok := o[name]
	if !ok {
		return whisper.Range{}, dst, os.ErrNotExist
	}
	return f.Fetch(dst, from, until, now)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
