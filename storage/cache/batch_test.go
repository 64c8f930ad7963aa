package cache

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"
)

// TestBatchStoresAsStore sends the same points through a Batch, interleaved
// across metrics and shards, with a bad name among them: the files hold what
// Store would have left, the last of equal timestamps winning.
func TestBatchStoresAsStore(t *testing.T) {
	c, _, clk, dir := newTestCache(t, nil)
	now := clk.t.Load()
	now -= now % 60
	b := c.NewBatch()
	const metrics = 300 // more than a batch's points spread over every shard
	for round := 0; round < 10; round++ {
		for m := 0; m < metrics; m++ {
			name := []byte(fmt.Sprintf("batch.m%d", m))
			b.Store(name, now-int64(round%5)*60, float64(round))
			name[0] = 'X' // the batch keeps its own copy
		}
		b.Store([]byte("bad..name"), now, 1)
	}
	b.Flush()
	st := c.Stats()
	if st.Received != 10*(metrics+1) || st.DroppedBadName != 10 {
		t.Fatalf("stats %+v", st)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for m := 0; m < metrics; m += 37 {
		r, vals := fetchFile(t, filepath.Join(dir, "batch", fmt.Sprintf("m%d.wsp", m)), now-6*60, now, now)
		// Rounds r and r+5 share a timestamp: the later round wins.
		want := []float64{5, 6, 7, 8, 9} // at now, now-60, ...
		for k, w := range want {
			if got := vals[(now-int64(k)*60-r.From)/r.Step]; got != w {
				t.Fatalf("m%d: %v, want the newest rounds %v from the end", m, vals, want)
			}
		}
	}
}

// TestBatchMaxPoints drops what does not fit, and counts it.
func TestBatchMaxPoints(t *testing.T) {
	c, _, clk, _ := newTestCache(t, func(o *Options) { o.MaxPoints = 10; o.MaxCreatesPerMinute = 1 })
	now := clk.t.Load()
	c.Store([]byte("first"), now, 1) // takes the only create token
	waitFor(t, func() bool { return c.Stats().Size == 0 })
	b := c.NewBatch()
	for i := 0; i < 25; i++ {
		b.Store([]byte("held"), now-int64(i)*10, 1)
	}
	b.Flush()
	if st := c.Stats(); st.DroppedFull != 15 || st.Size != 10 {
		t.Fatalf("stats %+v", st)
	}
}

// TestBatchAfterClose counts points offered after Close as dropped.
func TestBatchAfterClose(t *testing.T) {
	c, _, clk, _ := newTestCache(t, nil)
	b := c.NewBatch()
	c.Close()
	b.Store([]byte("late"), clk.t.Load(), 1)
	b.Flush()
	if st := c.Stats(); st.DroppedClosed != 1 || st.Size != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestBatchAllocs(t *testing.T) {
	c, _, clk, _ := newTestCache(t, nil)
	b := c.NewBatch()
	name := []byte("alloc.batch.metric")
	now := clk.t.Load()
	for i := 0; i < 3*batchSize; i++ {
		b.Store(name, now, 1)
	}
	b.Flush()
	waitFor(t, func() bool { return c.Stats().Size == 0 })
	if n := testing.AllocsPerRun(1000, func() { b.Store(name, now, 1); b.Flush() }); n > 0 {
		t.Fatalf("Batch: %v allocations per point", n)
	}
}

// TestBatchManyNames stores many rounds of points for names of every length up
// to 40 bytes, alike but for their last byte or their length, through two
// Batches, with no writer taking them: each name's pending points, over
// several full chunks, are all its own, each there once.
func TestBatchManyNames(t *testing.T) {
	c := newIdleCache()
	var names [][]byte
	for n := 1; n <= 40; n++ {
		for _, last := range []byte{'a', 'b', '0'} {
			names = append(names, append(bytes.Repeat([]byte{'m'}, n-1), last))
		}
	}
	batches := []*Batch{c.NewBatch(), c.NewBatch()}
	const rounds = 3*chunkPoints + 2
	for r := range rounds {
		for i, name := range names {
			b := batches[(i+r)%2]
			b.Store(name, int64(r), float64(i))
			if i%17 == 0 {
				b.Flush()
			}
		}
	}
	for _, b := range batches {
		b.Flush()
	}
	for i, name := range names {
		got := c.Points(nil, string(name))
		if len(got) != rounds {
			t.Fatalf("%q: %d points pending, want %d", name, len(got), rounds)
		}
		// Points of one round may reach the cache out of order between
		// the two batches; a name's points within one batch keep theirs.
		seen := make(map[int64]bool)
		for _, p := range got {
			if p.Value != float64(i) || p.Timestamp < 0 || p.Timestamp >= rounds || seen[p.Timestamp] {
				t.Fatalf("%q: pending %v", name, got)
			}
			seen[p.Timestamp] = true
		}
	}
	if st := c.Stats(); st.Metrics != int64(len(names)) || st.Size != int64(len(names)*rounds) {
		t.Fatalf("stats %+v", st)
	}
}

// TestBatchHashCollision gives three names of one length the same hash, as
// Store would if maphash collided: each keeps its own points, in order.
func TestBatchHashCollision(t *testing.T) {
	c := newIdleCache()
	b := c.NewBatch()
	names := []string{"collide.one.metric", "collide.two.metric", "collide.one.metriX"}
	const h = 0x5eed << 8
	for r := range 40 {
		for i, name := range names {
			// Store, with the hash given.
			b.items = append(b.items, item{h: h, off: uint32(len(b.names)), n: uint32(len(name)), timestamp: int64(r), value: float64(i)})
			b.names = append(b.names, name...)
		}
		if r%3 == 0 {
			b.Flush()
		}
	}
	b.Flush()
	for i, name := range names {
		sh := &c.shards[h%shardCount]
		s := sh.t.find(h, name)
		if s == nil {
			t.Fatalf("%q not in its shard", name)
		}
		got := s.points.appendTo(nil)
		if len(got) != 40 {
			t.Fatalf("%q: %d points, want 40", name, len(got))
		}
		for r, p := range got {
			if p.Timestamp != int64(r) || p.Value != float64(i) {
				t.Fatalf("%q: point %d is %+v, want {%d %d}", name, r, p, r, i)
			}
		}
	}
}
