package whisper

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

var poolTestArchives = []Retention{{SecondsPerPoint: 1, Points: 600}, {SecondsPerPoint: 60, Points: 60}}

// poolTestFiles creates n whisper files in a fresh directory.
func poolTestFiles(tb testing.TB, n int) (dir string, paths []string) {
	tb.Helper()
	dir = tb.TempDir()
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("m%04d.wsp", i))
		if err := Create(p, slices.Clone(poolTestArchives), CreateOptions{Sparse: true}); err != nil {
			tb.Fatal(err)
		}
		paths = append(paths, p)
	}
	return dir, paths
}

// mappedUnder counts this process's mappings of files under dir.
func mappedUnder(t *testing.T, dir string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for line := range strings.Lines(string(b)) {
		if strings.Contains(line, dir+"/") {
			n++
		}
	}
	return n
}

func valueAt(t *testing.T, f *File, ts, now int64) float64 {
	t.Helper()
	r, vals, err := f.Fetch(nil, ts-1, ts, now)
	if err != nil {
		t.Fatalf("fetch %s: %v", f.Path(), err)
	}
	if r.From != ts || len(vals) != 1 {
		t.Fatalf("fetch %s at %d: got %+v %v", f.Path(), ts, r, vals)
	}
	return vals[0]
}

func acquire(t *testing.T, p *Pool, path string) (*File, func()) {
	t.Helper()
	f, release, err := p.Acquire(path)
	if err != nil {
		t.Fatal(err)
	}
	return f, release
}

// closePool closes p, bounded: a test that failed while holding a file
// would otherwise hang in Close.
func closePool(t *testing.T, p *Pool) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(10 * time.Second):
		t.Error("Close still waiting after 10s: a file was not released")
	}
}

func TestPoolSize(t *testing.T) {
	for _, c := range []struct {
		name                           string
		requested, maps, files, wanted int
	}{
		{"default, kernel defaults", 0, 65530, 1 << 20, 32765},
		{"default, few descriptors", 0, 65530, 1024, 512},
		{"default, raised sysctl capped", 0, 1 << 31, 1 << 30, defaultMaxOpenCap},
		{"negative is default", -1, 65530, 1 << 20, 32765},
		{"configured, honoured", 50000, 65530, 1 << 20, 50000},
		{"configured, at max_map_count", 65530, 65530, 1 << 20, 65530 - 4096},
		{"configured, above max_map_count", 1 << 20, 65530, 1 << 20, 65530 - 4096},
		{"configured, small limits keep half", 1000, 1000, 1 << 20, 500},
		{"configured, above descriptors", 30000, 65530, 20000, 20000 - 4096},
		{"never zero", 0, 1, 1, 1},
	} {
		if got := poolSize(c.requested, c.maps, c.files); got != c.wanted {
			t.Errorf("%s: poolSize(%d, %d, %d) = %d, want %d", c.name, c.requested, c.maps, c.files, got, c.wanted)
		}
	}
	// The default pool on this machine stays well below its limits: the
	// mappings only, and the descriptors too when files are locked.
	maps, files := processLimits()
	p := NewPool(PoolOptions{SyncInterval: -1})
	defer closePool(t, p)
	if m := p.MaxOpen(); m < 1 || m > maps/2 {
		t.Errorf("default MaxOpen %d with max_map_count %d", m, maps)
	}
	pl := NewPool(PoolOptions{SyncInterval: -1, Lock: true})
	defer closePool(t, pl)
	if m := pl.MaxOpen(); m < 1 || m > maps/2 || m > files/2 {
		t.Errorf("default MaxOpen %d with locking, max_map_count %d and %d descriptors", m, maps, files)
	}
}

func TestPoolLRUBound(t *testing.T) {
	const maxOpen = 4
	dir, paths := poolTestFiles(t, 20)
	p := NewPool(PoolOptions{MaxOpen: maxOpen, SyncInterval: -1})
	defer closePool(t, p)
	now := time.Now().Unix()
	check := func() {
		t.Helper()
		if s := p.Stats(); s.Open > maxOpen {
			t.Fatalf("Stats().Open = %d, over MaxOpen %d", s.Open, maxOpen)
		}
		if n := mappedUnder(t, dir); n > maxOpen {
			t.Fatalf("%d files mapped, over MaxOpen %d", n, maxOpen)
		}
	}
	for round := range 3 {
		for i, path := range paths {
			// paths[0] is used between every other file, so it is never the least recent.
			for _, path := range []string{paths[0], path} {
				f, release := acquire(t, p, path)
				if err := f.Update(float64(round*100+i), now-int64(i), now); err != nil {
					t.Fatal(err)
				}
				check()
				release()
				check()
			}
		}
	}
	s := p.Stats()
	if s.Open != maxOpen || mappedUnder(t, dir) != maxOpen {
		t.Errorf("after the rounds: Open %d, mapped %d, want both %d", s.Open, mappedUnder(t, dir), maxOpen)
	}
	// paths[0] missed once; every other file once per round.
	if want := uint64(1 + 3*(len(paths)-1)); s.Misses != want {
		t.Errorf("Misses = %d, want %d", s.Misses, want)
	}
	if want := s.Misses - maxOpen; s.Evictions != want {
		t.Errorf("Evictions = %d, want %d", s.Evictions, want)
	}
	if total := uint64(3 * 2 * len(paths)); s.Hits+s.Misses != total {
		t.Errorf("Hits %d + Misses %d, want %d acquires", s.Hits, s.Misses, total)
	}
}

func TestPoolEvictedDataPersists(t *testing.T) {
	_, paths := poolTestFiles(t, 10)
	p := NewPool(PoolOptions{MaxOpen: 2, SyncInterval: -1})
	defer closePool(t, p)
	now := time.Now().Unix()
	for i, path := range paths {
		f, release := acquire(t, p, path)
		if err := f.UpdateMany([]Point{{now - 3, float64(i)}, {now - 2, float64(i) + 0.5}}, now); err != nil {
			t.Fatal(err)
		}
		release()
	}
	if s := p.Stats(); s.Evictions != uint64(len(paths)-2) {
		t.Fatalf("Evictions = %d, want %d", s.Evictions, len(paths)-2)
	}
	for i, path := range paths {
		f, err := Open(path, Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		if v := valueAt(t, f, now-3, now); v != float64(i) {
			t.Errorf("%s: %v at now-3, want %v", path, v, float64(i))
		}
		if v := valueAt(t, f, now-2, now); v != float64(i)+0.5 {
			t.Errorf("%s: %v at now-2, want %v", path, v, float64(i)+0.5)
		}
		f.Close()
		// And through the pool again, reopened.
		g, release := acquire(t, p, path)
		if v := valueAt(t, g, now-3, now); v != float64(i) {
			t.Errorf("%s via the pool: %v at now-3, want %v", path, v, float64(i))
		}
		release()
	}
}

func TestPoolHeldFileStaysMapped(t *testing.T) {
	dir, paths := poolTestFiles(t, 5)
	p := NewPool(PoolOptions{MaxOpen: 1, SyncInterval: -1})
	defer closePool(t, p)
	now := time.Now().Unix()

	held, releaseHeld := acquire(t, p, paths[0])
	for _, path := range paths[1:] {
		f, release := acquire(t, p, path)
		if err := f.Update(1, now-1, now); err != nil {
			t.Fatal(err)
		}
		release()
		// The held file is least recently used, but in use: it survives,
		// and the pool is over MaxOpen only by it.
		if err := held.Update(2, now-1, now); err != nil {
			t.Fatalf("held file after acquiring %s: %v", path, err)
		}
		if n := p.Stats().Open; n > 2 {
			t.Fatalf("Open = %d while one file is held, want at most 2", n)
		}
	}
	releaseHeld()
	if s := p.Stats(); s.Open != 1 || mappedUnder(t, dir) != 1 {
		t.Fatalf("after release: Open %d, mapped %d, want 1", s.Open, mappedUnder(t, dir))
	}

	// Forget of a held file leaves it to its last release.
	held, releaseHeld = acquire(t, p, paths[0])
	held2, releaseHeld2 := acquire(t, p, paths[0])
	p.Forget(paths[0])
	if err := held.Update(3, now-1, now); err != nil {
		t.Fatalf("forgotten held file: %v", err)
	}
	fresh, releaseFresh := acquire(t, p, paths[0])
	if fresh == held {
		t.Fatal("Acquire after Forget returned the forgotten mapping")
	}
	releaseFresh()
	releaseHeld()
	if v := valueAt(t, held2, now-1, now); v != 3 {
		t.Fatalf("forgotten file, second holder: %v, want 3", v)
	}
	releaseHeld2()
	if err := held.Update(4, now-1, now); err == nil {
		t.Fatal("the forgotten file is still open after its last release")
	}
	if s := p.Stats(); s.Open != 1 || mappedUnder(t, dir) != 1 {
		t.Fatalf("after the last release: Open %d, mapped %d, want 1", s.Open, mappedUnder(t, dir))
	}
	// Forget of an unused file closes it now.
	p.Forget(paths[0])
	if s := p.Stats(); s.Open != 0 || mappedUnder(t, dir) != 0 {
		t.Fatalf("after Forget: Open %d, mapped %d, want 0", s.Open, mappedUnder(t, dir))
	}
}

// TestPoolConcurrent is for -race: writers, readers, Forget and Sync on more
// files than the pool holds. A file unmapped under a holder fails its write.
func TestPoolConcurrent(t *testing.T) {
	dir, paths := poolTestFiles(t, 16)
	p := NewPool(PoolOptions{MaxOpen: 4, SyncInterval: time.Millisecond})
	now := time.Now().Unix()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			points := make([]Point, 3)
			var buf []float64
			for i := range 400 {
				path := paths[(g*7+i*3)%len(paths)]
				f, release, err := p.Acquire(path)
				if err != nil {
					t.Error(err)
					return
				}
				for k := range points {
					points[k] = Point{now - int64(k+1), float64(g)}
				}
				if err := f.UpdateMany(points, now); err != nil {
					t.Errorf("write %s: %v", path, err)
				}
				if _, buf, err = f.Fetch(buf[:0], now-10, now, now); err != nil {
					t.Errorf("fetch %s: %v", path, err)
				}
				if i%50 == 0 {
					p.Forget(paths[(g+i)%len(paths)])
				}
				release()
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			if err := p.Sync(); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	if n := p.Stats().Open; n > 4 {
		t.Errorf("Open = %d with nothing held, want at most 4", n)
	}
	closePool(t, p)
	if s := p.Stats(); s.Open != 0 || mappedUnder(t, dir) != 0 {
		t.Errorf("after Close: Open %d, mapped %d", s.Open, mappedUnder(t, dir))
	}
}

func TestPoolSingleFlight(t *testing.T) {
	_, paths := poolTestFiles(t, 1)
	p := NewPool(PoolOptions{SyncInterval: -1})
	defer closePool(t, p)
	var opens atomic.Int32
	p.openFile = func(path string, opts Options) (*File, error) {
		opens.Add(1)
		time.Sleep(50 * time.Millisecond) // every Acquire arrives during the open
		return Open(path, opts)
	}
	const n = 32
	files := make([]*File, n)
	var start, wg sync.WaitGroup
	start.Add(1)
	for i := range n {
		wg.Go(func() {
			start.Wait()
			f, release, err := p.Acquire(paths[0])
			if err != nil {
				t.Error(err)
				return
			}
			files[i] = f
			release()
		})
	}
	start.Done()
	wg.Wait()
	if opens.Load() != 1 {
		t.Errorf("opened %d times, want once", opens.Load())
	}
	for _, f := range files {
		if f != files[0] {
			t.Fatal("Acquires of one path returned different files")
		}
	}
	if s := p.Stats(); s.Misses != 1 || s.Hits != n-1 || s.Open != 1 {
		t.Errorf("stats %+v, want 1 miss, %d hits, 1 open", s, n-1)
	}
}

func TestPoolOpenErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.wsp")
	bad := filepath.Join(dir, "bad.wsp")
	if err := os.WriteFile(bad, []byte("not whisper"), 0o666); err != nil {
		t.Fatal(err)
	}
	p := NewPool(PoolOptions{SyncInterval: -1})
	defer closePool(t, p)

	// Several waiters on one failing open all get its error.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, _, err := p.Acquire(missing); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("missing file: %v, want os.ErrNotExist", err)
			}
		})
	}
	wg.Wait()
	_, _, err := p.Acquire(bad)
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Path != bad {
		t.Errorf("corrupt file: %v, want a *CorruptError for %s", err, bad)
	}
	if s := p.Stats(); s.Open != 0 || len(p.entries) != 0 || len(p.mapped) != 0 {
		t.Fatalf("failed opens left Open %d, %d entries, %d mapped", s.Open, len(p.entries), len(p.mapped))
	}

	// Nothing was cached: once the files are good they open.
	for _, path := range []string{missing, bad} {
		os.Remove(path)
		if err := Create(path, slices.Clone(poolTestArchives), CreateOptions{Sparse: true}); err != nil {
			t.Fatal(err)
		}
		_, release := acquire(t, p, path)
		release()
	}
}

func TestPoolSyncAndClose(t *testing.T) {
	dir, paths := poolTestFiles(t, 3)
	p := NewPool(PoolOptions{SyncInterval: -1})
	now := time.Now().Unix()
	var files []*File
	for i, path := range paths {
		f, release := acquire(t, p, path)
		if err := f.Update(float64(i)+0.25, now-1, now); err != nil {
			t.Fatal(err)
		}
		release()
		files = append(files, f)
	}
	if !files[0].dirty.Load() {
		t.Fatal("a written file is not dirty")
	}
	if err := p.Sync(); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f.dirty.Load() {
			t.Errorf("%s dirty after Sync", f.Path())
		}
	}

	// Close waits for the held file, then syncs and unmaps everything.
	held, release := acquire(t, p, paths[0])
	if err := held.Update(7, now-2, now); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error)
	go func() { closed <- p.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned while a file was held: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	if err := held.Update(8, now-3, now); err != nil {
		t.Fatalf("held file during Close: %v", err)
	}
	if _, _, err := p.Acquire(paths[1]); !errors.Is(err, ErrPoolClosed) {
		t.Errorf("Acquire during Close: %v, want ErrPoolClosed", err)
	}
	release()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return after the last release")
	}
	for _, f := range files {
		if f.dirty.Load() || !f.closed {
			t.Errorf("%s after Close: dirty %v, closed %v", f.Path(), f.dirty.Load(), f.closed)
		}
	}
	if s := p.Stats(); s.Open != 0 || mappedUnder(t, dir) != 0 {
		t.Fatalf("after Close: Open %d, mapped %d", s.Open, mappedUnder(t, dir))
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	for i, path := range paths {
		f, err := Open(path, Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		if v := valueAt(t, f, now-1, now); v != float64(i)+0.25 {
			t.Errorf("%s: %v, want %v", path, v, float64(i)+0.25)
		}
		if i == 0 {
			if v := valueAt(t, f, now-3, now); v != 8 {
				t.Errorf("%s: %v written during Close, want 8", path, v)
			}
		}
		f.Close()
	}
}

// TestPoolSyncfs: with Dir, Sync writes the dirty files on Dir's file
// system with one syncfs, restores their dirty marks when it fails, and
// msyncs the files on other file systems one by one.
func TestPoolSyncfs(t *testing.T) {
	dir, paths := poolTestFiles(t, 3)
	p := NewPool(PoolOptions{SyncInterval: -1, Dir: dir})
	calls := 0
	var fail error
	fds := map[int]bool{}
	p.syncfs = func(fd int) error {
		calls++
		fds[fd] = true
		if fail != nil {
			return fail
		}
		return unix.Syncfs(fd)
	}
	now := time.Now().Unix()
	var files []*File
	write := func(f *File, v float64, ts int64) {
		t.Helper()
		if err := f.Update(v, ts, now); err != nil {
			t.Fatal(err)
		}
	}
	for i, path := range paths {
		f, release := acquire(t, p, path)
		write(f, float64(i)+0.5, now-1)
		release()
		files = append(files, f)
	}
	if err := p.Sync(); err != nil || calls != 1 {
		t.Fatalf("Sync of 3 dirty files: %v, %d syncfs calls, want 1", err, calls)
	}
	if p.dir < 0 || !fds[p.dir] {
		t.Errorf("after Sync the pool holds descriptor %d, syncfs got %v: Dir is not kept open", p.dir, fds)
	}
	for _, f := range files {
		if f.dirty.Load() {
			t.Errorf("%s dirty after Sync", f.Path())
		}
	}
	if err := p.Sync(); err != nil || calls != 1 {
		t.Fatalf("Sync with nothing dirty: %v, %d syncfs calls, want still 1", err, calls)
	}

	// A failed syncfs is reported and counted, and the files it was for stay
	// dirty for the next Sync.
	write(files[1], 9, now-2)
	fail = unix.EIO
	if err := p.Sync(); err == nil || !strings.Contains(err.Error(), "syncfs") || !errors.Is(err, unix.EIO) {
		t.Fatalf("Sync with syncfs failing: %v, want a syncfs error wrapping EIO", err)
	}
	if !files[1].dirty.Load() || files[0].dirty.Load() {
		t.Errorf("after a failed syncfs: dirty %v %v, want false true", files[0].dirty.Load(), files[1].dirty.Load())
	}
	if n := p.Stats().SyncErrors; n != 1 {
		t.Errorf("SyncErrors %d, want 1", n)
	}
	fail = nil
	write(files[2], 10, now-2)
	if err := p.Close(); err != nil || calls != 3 {
		t.Fatalf("Close: %v, %d syncfs calls, want 3", err, calls)
	}
	// One descriptor of Dir for the pool's life, so that syncfs also reports
	// write-back errors from between two Syncs; Close closes it.
	if len(fds) != 1 || p.dir != -1 {
		t.Errorf("syncfs got %d descriptors, want 1; after Close the pool holds %d, want -1", len(fds), p.dir)
	}
	for i, path := range paths {
		f, err := Open(path, Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		if v := valueAt(t, f, now-1, now); v != float64(i)+0.5 {
			t.Errorf("%s: %v, want %v", path, v, float64(i)+0.5)
		}
		f.Close()
	}

	// Files on another file system than Dir's (here /proc's) are msynced.
	p = NewPool(PoolOptions{SyncInterval: -1, Dir: "/proc"})
	calls = 0
	p.syncfs = func(int) error { calls++; return nil }
	f, release := acquire(t, p, paths[0])
	write(f, 11, now-3)
	release()
	if err := p.Sync(); err != nil || calls != 0 || f.dirty.Load() {
		t.Fatalf("Sync of a file outside Dir's file system: %v, %d syncfs calls, dirty %v; want an msync", err, calls, f.dirty.Load())
	}
	closePool(t, p)
}

// TestPoolSyncLogs: a background Sync that fails is logged and counted.
func TestPoolSyncLogs(t *testing.T) {
	dir, paths := poolTestFiles(t, 1)
	var logged atomic.Int64
	h := slogFunc(func(r slog.Record) {
		if r.Level == slog.LevelError && r.Message == "sync failed" {
			logged.Add(1)
		}
	})
	p := NewPool(PoolOptions{SyncInterval: time.Millisecond, Dir: dir, Log: slog.New(h)})
	p.syncMu.Lock() // no Sync runs until syncfs is replaced
	p.syncfs = func(int) error { return unix.EIO }
	p.syncMu.Unlock()
	now := time.Now().Unix()
	f, release := acquire(t, p, paths[0])
	if err := f.Update(1, now-1, now); err != nil {
		t.Fatal(err)
	}
	release()
	deadline := time.Now().Add(5 * time.Second)
	for logged.Load() == 0 || p.Stats().SyncErrors == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s of failing syncs: %d logged, %d counted", logged.Load(), p.Stats().SyncErrors)
		}
		time.Sleep(time.Millisecond)
	}
	p.syncMu.Lock()
	p.syncfs = unix.Syncfs
	p.syncMu.Unlock()
	closePool(t, p)
}

// slogFunc is a slog.Handler that calls itself with every record.
type slogFunc func(slog.Record)

func (h slogFunc) Enabled(context.Context, slog.Level) bool      { return true }
func (h slogFunc) Handle(_ context.Context, r slog.Record) error { h(r); return nil }
func (h slogFunc) WithAttrs([]slog.Attr) slog.Handler            { return h }
func (h slogFunc) WithGroup(string) slog.Handler                 { return h }

func TestPoolPeriodicSync(t *testing.T) {
	_, paths := poolTestFiles(t, 1)
	p := NewPool(PoolOptions{SyncInterval: 10 * time.Millisecond})
	defer closePool(t, p)
	now := time.Now().Unix()
	f, release := acquire(t, p, paths[0])
	defer release()
	for round := range 2 {
		if err := f.Update(float64(round), now-1, now); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for f.dirty.Load() {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: still dirty after 5s of a 10ms SyncInterval", round)
			}
			time.Sleep(time.Millisecond)
		}
	}
}

func TestPoolAcquireAllocs(t *testing.T) {
	_, paths := poolTestFiles(t, 8)
	p := NewPool(PoolOptions{SyncInterval: -1})
	defer closePool(t, p)
	for _, path := range paths {
		_, release := acquire(t, p, path)
		release()
	}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		_, release, err := p.Acquire(paths[i%len(paths)])
		if err != nil {
			t.Fatal(err)
		}
		release()
		i++
	})
	if allocs != 0 {
		t.Errorf("a hit Acquire and its release allocate %v times, want 0", allocs)
	}
}

// TestPoolLock: with Lock a write waits for another descriptor's flock, as
// whisper.py's writes do with carbon's WHISPER_LOCK_WRITES; without, it does not.
func TestPoolLock(t *testing.T) {
	for _, lock := range []bool{true, false} {
		t.Run(fmt.Sprintf("Lock=%v", lock), func(t *testing.T) {
			_, paths := poolTestFiles(t, 1)
			p := NewPool(PoolOptions{Lock: lock, SyncInterval: -1})
			defer closePool(t, p)
			f, release := acquire(t, p, paths[0])
			defer release()

			fd, err := unix.Open(paths[0], unix.O_RDWR|unix.O_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(fd)
			if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
				t.Fatal(err)
			}
			unlocked := false
			unlock := func() {
				if !unlocked {
					unlocked = true
					if err := unix.Flock(fd, unix.LOCK_UN); err != nil {
						t.Fatal(err)
					}
				}
			}
			defer unlock() // so that a failed test's writer finishes

			now := time.Now().Unix()
			done := make(chan error, 1)
			go func() { done <- f.Update(42, now-1, now) }()
			if lock {
				select {
				case err := <-done:
					t.Fatalf("write finished while another descriptor held LOCK_EX: %v", err)
				case <-time.After(100 * time.Millisecond):
				}
				unlock()
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("write still waiting 5s after the flock was free")
			}
			if v := valueAt(t, f, now-1, now); v != 42 {
				t.Errorf("read back %v, want 42", v)
			}
		})
	}
}

// BenchmarkPoolAcquireUpdate is the write path's use of the pool: acquire a
// file by path, write a point with propagation, release, round-robin over
// 1000 files. "warm" holds them all; "evicting" holds 100, so every
// acquire closes one file and maps another.
func BenchmarkPoolAcquireUpdate(b *testing.B) {
	_, paths := poolTestFiles(b, 1000)
	for _, c := range []struct {
		name    string
		maxOpen int
	}{{"warm", 2000}, {"evicting", 100}} {
		b.Run(c.name, func(b *testing.B) {
			p := NewPool(PoolOptions{MaxOpen: c.maxOpen, SyncInterval: -1})
			defer p.Close()
			for _, path := range paths {
				_, release, err := p.Acquire(path)
				if err != nil {
					b.Fatal(err)
				}
				release()
			}
			now := time.Now().Unix()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				f, release, err := p.Acquire(paths[i%len(paths)])
				if err != nil {
					b.Fatal(err)
				}
				if err := f.Update(float64(i), now-int64(i%500), now); err != nil {
					b.Fatal(err)
				}
				release()
				i++
			}
		})
	}
}

// BenchmarkPoolAcquireParallel is a hit Acquire and release from every P, on
// distinct files, to show the cost of the pool's one lock under contention.
func BenchmarkPoolAcquireParallel(b *testing.B) {
	_, paths := poolTestFiles(b, 1000)
	p := NewPool(PoolOptions{SyncInterval: -1})
	defer p.Close()
	for _, path := range paths {
		_, release, err := p.Acquire(path)
		if err != nil {
			b.Fatal(err)
		}
		release()
	}
	var seq atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := int(seq.Add(1) * 997)
		for pb.Next() {
			_, release, err := p.Acquire(paths[i%len(paths)])
			if err != nil {
				b.Error(err)
				return
			}
			release()
			i++
		}
	})
}

func ExamplePool() {
	dir, err := os.MkdirTemp("", "pool-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "load.wsp")
	if err := Create(path, []Retention{{SecondsPerPoint: 60, Points: 1440}}, CreateOptions{}); err != nil {
		fmt.Println(err)
		return
	}

	pool := NewPool(PoolOptions{}) // MaxOpen from vm.max_map_count, msync every 30s
	defer pool.Close()

	now := int64(1699999980) // a whole minute
	f, release, err := pool.Acquire(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	err = f.UpdateMany([]Point{{now - 120, 0.5}, {now - 60, 0.75}}, now)
	release()
	if err != nil {
		fmt.Println(err)
		return
	}

	f, release, _ = pool.Acquire(path) // a hit: no open, no allocation
	_, values, _ := f.Fetch(nil, now-180, now-60, now)
	release()
	fmt.Println(values, pool.Stats().Hits, pool.Stats().Misses)
	// Output: [0.5 0.75] 1 1
}

// AcquireRef finds a file through its Ref while the pool keeps it, and
// through the path once it was evicted or forgotten: never a stale mapping.
func TestPoolAcquireRef(t *testing.T) {
	_, paths := poolTestFiles(t, 3)
	p := NewPool(PoolOptions{MaxOpen: 1, SyncInterval: -1})
	defer closePool(t, p)
	var r Ref
	f1, release, err := p.AcquireRef(paths[0], &r)
	if err != nil {
		t.Fatal(err)
	}
	release()
	f2, release, err := p.AcquireRef(paths[0], &r)
	if err != nil {
		t.Fatal(err)
	}
	release()
	if f1 != f2 {
		t.Fatal("a second AcquireRef of a pooled file mapped it again")
	}
	if s := p.Stats(); s.Hits != 1 || s.Misses != 1 {
		t.Fatalf("hits %d, misses %d, want 1 and 1", s.Hits, s.Misses)
	}
	// Another file takes the only place: the Ref's entry is evicted.
	_, release = acquire(t, p, paths[1])
	release()
	f3, release, err := p.AcquireRef(paths[0], &r)
	if err != nil {
		t.Fatal(err)
	}
	if f3 == f1 {
		t.Fatal("AcquireRef returned an evicted file")
	}
	if err := f3.Update(1, time.Now().Unix()-1, time.Now().Unix()); err != nil {
		t.Fatal(err)
	}
	release()
	p.Forget(paths[0])
	f4, release, err := p.AcquireRef(paths[0], &r)
	if err != nil {
		t.Fatal(err)
	}
	release()
	if f4 == f3 {
		t.Fatal("AcquireRef returned a forgotten file")
	}
	// A missing file fails through the Ref as through the path, and clears it.
	var missing Ref
	if _, _, err := p.AcquireRef(paths[0]+".gone", &missing); err == nil || missing.e != nil {
		t.Fatalf("missing file: err %v, ref kept %v", err, missing.e)
	}
}
