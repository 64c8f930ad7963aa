package cache

import (
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
