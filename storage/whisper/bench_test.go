package whisper

import (
	"fmt"
	"path/filepath"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"statbox/internal/race"
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

// BenchmarkUpdateMany1 is BenchmarkUpdate through UpdateMany: one point per op,
// as the cache writes a series that gets a point every flush or so (statsd's
// flushes, a steady carbon sender).
func BenchmarkUpdateMany1(b *testing.B) { benchUpdateMany(b, 1) }

// BenchmarkUpdateMany100 writes 100 consecutive 10 s points per op.
func BenchmarkUpdateMany100(b *testing.B) { benchUpdateMany(b, 100) }

// benchUpdateMany writes n consecutive 10 s points per op, newest first, as
// the cache gives them.
func benchUpdateMany(b *testing.B, n int) {
	f := newTestFile(b, benchUpdateScheme)
	now := int64(1_700_000_000)
	pts := make([]Point, n)
	b.ReportAllocs()
	for b.Loop() {
		now += int64(n) * 10
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

// BenchmarkFirstWrite is a file's first batch after it is mapped, as a
// writer meets each file of a tree once: open a 10s:6h,1m:7d,10m:5y file
// (sparse, as bench/carbon.sh makes them) and write 200 points at 10 s into
// it, with propagation; the files stay mapped, as in a writer's pool. Per
// file: CPU time, the kernel's included, and page faults.
func BenchmarkFirstWrite(b *testing.B) {
	dir := b.TempDir()
	now := int64(1_700_000_000)
	pts := make([]Point, 200)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var cpu, faults int64
	var open []*File
	defer func() {
		for _, f := range open {
			f.unmap()
		}
	}()
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		path := filepath.Join(dir, fmt.Sprint(i, ".wsp"))
		if err := Create(path, append([]Retention(nil), benchUpdateScheme...), CreateOptions{Sparse: true}); err != nil {
			b.Fatal(err)
		}
		for k := range pts {
			pts[k] = Point{now - int64(k)*10, float64(k)} // newest first, as the cache gives them
		}
		var r0, r1 unix.Rusage
		unix.Getrusage(unix.RUSAGE_THREAD, &r0)
		b.StartTimer()
		f, err := Open(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := f.UpdateMany(pts, now); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		unix.Getrusage(unix.RUSAGE_THREAD, &r1)
		cpu += r1.Utime.Nano() + r1.Stime.Nano() - r0.Utime.Nano() - r0.Stime.Nano()
		faults += r1.Minflt - r0.Minflt
		// Kept mapped, as a writer's pool keeps a tree, and unmapped at the
		// end without a sync: the kernel writes the pages back later.
		open = append(open, f)
		b.StartTimer()
	}
	b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/file")
	b.ReportMetric(float64(faults)/float64(b.N), "faults/file")
}

// TestUpdateAllocs proves the write path allocates nothing once warm.
func TestUpdateAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("under the race detector sync.Pool drops UpdateMany's scratch at random")
	}
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
	one := make([]Point, 1)
	if n := testing.AllocsPerRun(100, func() { now += 10; one[0] = Point{now, 1}; f.UpdateMany(one, now) }); n != 0 {
		t.Errorf("UpdateMany of one point: %v allocations", n)
	}
	var dst []float64
	_, dst, _ = f.Fetch(dst, now-3600, now, now)
	if n := testing.AllocsPerRun(100, func() { _, dst, _ = f.Fetch(dst[:0], now-3600, now, now) }); n != 0 {
		t.Errorf("Fetch: %v allocations", n)
	}
}
