package whisper

import (
	"fmt"
	"path/filepath"
	"testing"
)

// The schemes of the benchmarks, shared with bench/whisper_py.py so that
// statbox and whisper.py are timed on the same files.
var (
	benchUpdateScheme = []Retention{{10, 2160}, {60, 10080}, {600, 262800}} // 10s:6h,1m:7d,10m:5y
	benchFetchScheme  = []Retention{{10, 8640}, {60, 10080}}                // 10s:1d,1m:7d
)

// newTestFile creates and opens a whisper file of scheme in a temporary
// directory, closed when the test ends.
func newTestFile(tb testing.TB, scheme []Retention) *File {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "test.wsp")
	if err := Create(path, append([]Retention(nil), scheme...), CreateOptions{}); err != nil {
		tb.Fatal(err)
	}
	f, err := Open(path, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	return f
}

// BenchmarkUpdate writes one point per op at a new 10 s interval, so every
// update propagates into the 1 m archive, and every sixth into the 10 m one.
func BenchmarkUpdate(b *testing.B) {
	f := newTestFile(b, benchUpdateScheme)
	now := int64(1_700_000_000)
	b.ReportAllocs()
	for b.Loop() {
		now += 10
		if err := f.Update(42, now, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUpdateMany100 writes 100 consecutive 10 s points per op.
func BenchmarkUpdateMany100(b *testing.B) {
	f := newTestFile(b, benchUpdateScheme)
	now := int64(1_700_000_000)
	pts := make([]Point, 100)
	b.ReportAllocs()
	for b.Loop() {
		now += 1000
		for i := range pts {
			pts[i] = Point{now - int64(i)*10, float64(i)}
		}
		if err := f.UpdateMany(pts, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFetchDay reads a full day at 10 s: 8640 values.
func BenchmarkFetchDay(b *testing.B) {
	f := newTestFile(b, benchFetchScheme)
	now := int64(1_700_000_000)
	pts := make([]Point, 0, 8640)
	for i := 0; i < 8640; i++ {
		pts = append(pts, Point{now - int64(i)*10, float64(i)})
	}
	if err := f.UpdateMany(pts, now); err != nil {
		b.Fatal(err)
	}
	var dst []float64
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if _, dst, err = f.Fetch(dst[:0], now-86400, now, now); err != nil || len(dst) != 8640 {
			b.Fatal(len(dst), err)
		}
	}
}

// BenchmarkCreate makes a 10s:6h,1m:7d,10m:5y file (3.3 MB) per op.
func BenchmarkCreate(b *testing.B) {
	dir := b.TempDir()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		if err := Create(filepath.Join(dir, fmt.Sprint(i, ".wsp")), append([]Retention(nil), benchUpdateScheme...), CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestUpdateAllocs proves the write path allocates nothing once warm.
func TestUpdateAllocs(t *testing.T) {
	f := newTestFile(t, benchUpdateScheme)
	now := int64(1_700_000_000)
	pts := make([]Point, 100)
	fill := func() {
		now += 1000
		for i := range pts {
			pts[i] = Point{now - int64(i)*10, float64(i)}
		}
	}
	fill()
	f.UpdateMany(pts, now)
	if n := testing.AllocsPerRun(100, func() { now += 10; f.Update(1, now, now) }); n != 0 {
		t.Errorf("Update: %v allocations", n)
	}
	if n := testing.AllocsPerRun(100, func() { fill(); f.UpdateMany(pts, now) }); n != 0 {
		t.Errorf("UpdateMany: %v allocations", n)
	}
	var dst []float64
	_, dst, _ = f.Fetch(dst, now-3600, now, now)
	if n := testing.AllocsPerRun(100, func() { _, dst, _ = f.Fetch(dst[:0], now-3600, now, now) }); n != 0 {
		t.Errorf("Fetch: %v allocations", n)
	}
}
