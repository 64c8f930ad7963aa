package cache

import (
	"fmt"
	"math"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"statbox/storage/schema"
	"statbox/storage/whisper"
)

// clock is a settable time for the create throttle and retention.
type clock struct{ t atomic.Int64 }

func (c *clock) now() time.Time      { return time.Unix(c.t.Load(), 0) }
func (c *clock) add(d time.Duration) { c.t.Add(int64(d / time.Second)) }

func newTestCache(t *testing.T, tweak func(*Options)) (*Cache, *whisper.Pool, *clock, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "whisper")
	rules, err := schema.Load("")
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{}
	clk.t.Store(time.Now().Unix())
	pool := whisper.NewPool(whisper.PoolOptions{SyncInterval: -1})
	opts := Options{Dir: dir, Pool: pool, Rules: func() *schema.Rules { return rules }, Now: clk.now, Writers: 2}
	if tweak != nil {
		tweak(&opts)
	}
	c := New(opts)
	t.Cleanup(func() { c.Close(); pool.Close() })
	return c, pool, clk, dir
}

func fetchFile(t *testing.T, path string, from, until, now int64) (whisper.Range, []float64) {
	t.Helper()
	f, err := whisper.Open(path, whisper.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, vals, err := f.Fetch(nil, from, until, now)
	if err != nil {
		t.Fatal(err)
	}
	return r, vals
}

// TestStoreCloseWritesEverything stores from many goroutines at once and
// checks that Close leaves every point in its file.
func TestStoreCloseWritesEverything(t *testing.T) {
	c, _, clk, dir := newTestCache(t, nil)
	now := clk.t.Load()
	now -= now % 10
	const metrics, points, senders = 50, 40, 8
	var wg sync.WaitGroup
	for g := 0; g < senders; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := 0; p < points; p++ {
				for m := g; m < metrics; m += senders {
					c.Store([]byte(fmt.Sprintf("test.m%d.count", m)), now-int64(p)*10, float64(p))
				}
			}
		}()
	}
	wg.Wait()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	st := c.Stats()
	if st.Received != metrics*points || st.Committed != metrics*points || st.Size != 0 || st.Creates != metrics {
		t.Fatalf("stats %+v", st)
	}
	for m := 0; m < metrics; m++ {
		_, vals := fetchFile(t, filepath.Join(dir, "test", fmt.Sprintf("m%d", m), "count.wsp"), now-points*10, now, now+1)
		got := 0
		for _, v := range vals {
			if !math.IsNaN(v) {
				got++
			}
		}
		if got != points {
			t.Fatalf("m%d: %d of %d points in the file: %v", m, got, points, vals)
		}
	}
}

func TestBadNamesDropped(t *testing.T) {
	c, _, _, dir := newTestCache(t, nil)
	for _, name := range []string{"", "a..b", ".a", "a.", "../../etc/passwd", "a/b", "a\x00b", "a\nb", "a.\x7f"} {
		c.Store([]byte(name), 1, 1)
	}
	c.Store([]byte("ok.metric"), time.Now().Unix(), 1)
	c.Close()
	if st := c.Stats(); st.DroppedBadName != 9 || st.Committed != 1 {
		t.Fatalf("stats %+v", st)
	}
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), "*"))
	if len(matches) != 1 {
		t.Fatalf("files outside the tree: %v", matches)
	}
}

func TestMaxPointsDrops(t *testing.T) {
	c, _, clk, _ := newTestCache(t, func(o *Options) { o.MaxPoints = 10; o.MaxCreatesPerMinute = 1 })
	now := clk.t.Load()
	c.Store([]byte("first"), now, 1) // takes the only create token
	time.Sleep(50 * time.Millisecond)
	for i := 0; i < 20; i++ {
		c.Store([]byte("held"), now-int64(i)*10, 1) // held: no token left
	}
	st := c.Stats()
	if st.DroppedFull != 10 || st.Size != 10 {
		t.Fatalf("stats %+v", st)
	}
}

// TestCreateThrottleHoldsPoints checks carbon's MAX_CREATES_PER_MINUTE: the
// metrics past the limit keep their points, readable through Fetch, until
// the clock gives new tokens.
func TestCreateThrottleHoldsPoints(t *testing.T) {
	c, _, clk, dir := newTestCache(t, func(o *Options) { o.MaxCreatesPerMinute = 2 })
	now := clk.t.Load()
	for m := 0; m < 5; m++ {
		c.Store([]byte(fmt.Sprintf("thr.m%d", m)), now, float64(m))
	}
	waitFor(t, func() bool { return c.Stats().Creates == 2 && c.Stats().CreatesHeld >= 3 })
	time.Sleep(250 * time.Millisecond)
	if st := c.Stats(); st.Creates != 2 || st.Size != 3 {
		t.Fatalf("throttled: %+v", st)
	}
	for m := 0; m < 5; m++ {
		r, vals, err := c.Fetch(nil, fmt.Sprintf("thr.m%d", m), now-60, now, now)
		if err != nil || vals[(now-now%r.Step-r.From)/r.Step] != float64(m) {
			t.Fatalf("m%d: fetch %v %v %v", m, r, vals, err)
		}
	}
	clk.add(time.Minute)
	waitFor(t, func() bool { return c.Stats().Creates == 4 })
	clk.add(time.Minute)
	waitFor(t, func() bool { return c.Stats().Creates == 5 && c.Stats().Size == 0 })
	_, vals := fetchFile(t, filepath.Join(dir, "thr", "m4.wsp"), now-60, now, now)
	if vals[len(vals)-1] != 4 {
		t.Fatalf("m4 file: %v", vals)
	}
}

// TestHeldMetricsWaitIdle: metrics held by the create throttle are not
// looked for again, nor held again, while the throttle has no token.
func TestHeldMetricsWaitIdle(t *testing.T) {
	c, pool, clk, _ := newTestCache(t, func(o *Options) { o.MaxCreatesPerMinute = 2 })
	now := clk.t.Load()
	const metrics = 100
	for m := 0; m < metrics; m++ {
		c.Store([]byte(fmt.Sprintf("held.m%d", m)), now, float64(m))
	}
	waitFor(t, func() bool { return c.Stats().Creates == 2 && c.Stats().CreatesHeld >= metrics-2 })
	misses, held := pool.Stats().Misses, c.Stats().CreatesHeld
	time.Sleep(350 * time.Millisecond) // three retries of the writers at least
	if m, h := pool.Stats().Misses, c.Stats().CreatesHeld; m != misses || h != held {
		t.Fatalf("without a token: %d file look-ups and %d holds more", m-misses, h-held)
	}
	clk.add(time.Minute)
	waitFor(t, func() bool { return c.Stats().Creates == 4 })
	c.Close()
	if st := c.Stats(); st.Creates != metrics || st.Size != 0 || st.Committed != metrics {
		t.Fatalf("after Close: %+v", st)
	}
}

func TestLastReceivedWins(t *testing.T) {
	c, _, clk, dir := newTestCache(t, func(o *Options) { o.Writers = 1 })
	now := clk.t.Load()
	now -= now % 10
	for _, v := range []float64{1, 2, 3} {
		c.Store([]byte("dup"), now, v)
	}
	c.Close()
	_, vals := fetchFile(t, filepath.Join(dir, "dup.wsp"), now-10, now, now)
	if vals[len(vals)-1] != 3 {
		t.Fatalf("got %v, want the last received (3)", vals)
	}
}

// TestOverlay lays cached points over file values as graphite-web merges
// carbon's cache.
func TestOverlay(t *testing.T) {
	nan := math.NaN()
	r := whisper.Range{From: 100, Until: 150, Step: 10}
	vals := []float64{1, nan, 3, nan, 5}
	overlay(vals, r, []whisper.Point{{Timestamp: 125, Value: 9}, {Timestamp: 121, Value: 8}, {Timestamp: 95, Value: 7}, {Timestamp: 140, Value: 6}, {Timestamp: 140, Value: 4}, {Timestamp: 160, Value: 1}}, whisper.Average, true)
	want := []float64{1, nan, 9, nan, 4}
	for i := range want {
		if !(vals[i] == want[i] || math.IsNaN(vals[i]) && math.IsNaN(want[i])) {
			t.Fatalf("raw: got %v, want %v", vals, want)
		}
	}
	r = whisper.Range{From: 60, Until: 240, Step: 60}
	vals = []float64{nan, nan, nan}
	overlay(vals, r, []whisper.Point{{Timestamp: 60, Value: 1}, {Timestamp: 70, Value: 3}, {Timestamp: 130, Value: 10}, {Timestamp: 190, Value: 5}, {Timestamp: 200, Value: 1}}, whisper.Sum, false)
	if vals[0] != 4 || vals[1] != 10 || vals[2] != 6 {
		t.Fatalf("aggregated: %v", vals)
	}
}

func TestStoreAllocs(t *testing.T) {
	c, _, clk, _ := newTestCache(t, nil)
	name := []byte("alloc.test.metric")
	now := clk.t.Load()
	for i := 0; i < 1000; i++ {
		c.Store(name, now, 1)
	}
	waitFor(t, func() bool { return c.Stats().Size == 0 })
	if n := testing.AllocsPerRun(1000, func() { c.Store(name, now, 1) }); n > 0 {
		t.Fatalf("Store: %v allocations per point", n)
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestOnCreate tells the index each new file once, by metric name.
func TestOnCreate(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	c, _, clk, _ := newTestCache(t, func(o *Options) {
		o.OnCreate = func(name string) { mu.Lock(); seen[name]++; mu.Unlock() }
	})
	now := clk.t.Load()
	for i := 0; i < 3; i++ {
		c.Store([]byte("a.b.c"), now-int64(i)*60, 1)
		c.Store([]byte("a.b.d;x=y"), now-int64(i)*60, 1)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen["a.b.c"] != 1 || seen["a.b.d;x=y"] != 1 {
		t.Fatalf("OnCreate saw %v", seen)
	}
}

// A series fills two cache lines exactly, in a size class aligned to them.
func TestSeriesSize(t *testing.T) {
	if n := unsafe.Sizeof(series{}); n != 128 {
		t.Errorf("series is %d bytes, want 128", n)
	}
	if off := unsafe.Offsetof(series{}.inline); off+31 > 64 {
		t.Errorf("inline name at byte %d: its first 31 bytes are not in the first cache line", off)
	}
}

// Writers wait while receivers are busy and the cache is under its Backlog,
// write once the receivers are idle, and write regardless once the cache
// holds Backlog points; Close writes everything even while busy.
func TestWritersYieldToBusyReceivers(t *testing.T) {
	var busy atomic.Bool
	busy.Store(true)
	c, _, clk, _ := newTestCache(t, func(o *Options) {
		o.Writers, o.Backlog, o.Busy = 1, 3, busy.Load
	})
	now := clk.t.Load()
	// The first write of each pass asks Busy: hold the writer there.
	c.Store([]byte("a.one"), now-10, 1)
	c.Store([]byte("a.two"), now-10, 2)
	time.Sleep(50 * time.Millisecond)
	if st := c.Stats(); st.Committed != 0 || st.Yields == 0 {
		t.Fatalf("while busy under the backlog: committed %d, yields %d; want 0 and some", st.Committed, st.Yields)
	}
	// A third point reaches the backlog: the writer goes on though busy,
	// until the cache is under it again at one of its looks (at the first
	// write of each shard's batch, then every yieldEvery writes).
	c.Store([]byte("a.three"), now-10, 3)
	waitFor(t, func() bool { return c.Stats().Committed >= 1 })
	waitFor(t, func() bool { return c.Stats().Size < 3 })
	settled := c.Stats().Committed
	time.Sleep(30 * time.Millisecond)
	if st := c.Stats(); st.Committed != settled || st.Size+int64(st.Committed) != 3 {
		t.Fatalf("busy, back under the backlog: committed %d then %d, size %d", settled, st.Committed, st.Size)
	}
	c.Store([]byte("a.four"), now-10, 4)
	busy.Store(false)
	c.Idle()
	waitFor(t, func() bool { return c.Stats().Committed == 4 })
	busy.Store(true)
	c.Store([]byte("a.five"), now-10, 5)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Committed != 5 {
		t.Fatalf("after Close while busy: committed %d, want 5", st.Committed)
	}
}
