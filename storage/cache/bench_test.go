package cache

import (
	"fmt"
	"hash/maphash"
	"log/slog"
	"testing"
)

// BenchmarkBatchStore is a receiver's side of the write path over many
// series: points stored through Batches of several connections, interleaved
// as a listener reads them, with no writer running. It reports CPU-bound ns
// per point; the lookups miss the CPU's caches as a large tree does.
//
// In the steady case the points are taken away after each round, as a
// writer keeping up would take them, and their chunks reused. In the burst
// case, bench/carbon.sh's, each series gathers burstRounds points before
// they are taken, and its chunks are new memory, as when the writers wait
// for a burst to end.
func BenchmarkBatchStore(b *testing.B) {
	const burstRounds = 20
	for _, bc := range []struct {
		metrics int
		burst   bool
	}{{1000, false}, {100_000, false}, {100_000, true}} {
		metrics, burst := bc.metrics, bc.burst
		name := fmt.Sprintf("series=%d", metrics)
		if burst {
			name += "/burst"
		}
		b.Run(name, func(b *testing.B) {
			c := newIdleCache()
			const conns = 4
			names := make([][]byte, metrics)
			for i := range names {
				names[i] = fmt.Appendf(nil, "bench.host%03d.metric%03d", i/1000, i%1000)
			}
			batches := make([]*Batch, conns)
			for i := range batches {
				batches[i] = c.NewBatch()
			}
			// readLines is what one 64 KiB read of such lines holds.
			const readLines = 1500
			round := func(ts int64) {
				for start := 0; start < metrics; start += readLines * conns {
					for k, bt := range batches {
						for i := start + k; i < min(start+readLines*conns, metrics); i += conns {
							bt.Store(names[i], ts, 1)
						}
						bt.Flush()
					}
				}
			}
			round(0)
			takeAll(c, !burst)
			b.ResetTimer()
			ts := int64(10)
			for done, rounds := 0, 0; done < b.N; done += metrics {
				round(ts)
				ts += 10
				if rounds++; !burst || rounds%burstRounds == 0 {
					b.StopTimer()
					takeAll(c, !burst)
					b.StartTimer()
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64((b.N+metrics-1)/metrics*metrics), "ns/point")
		})
	}
}

// newIdleCache is a Cache with no writer running and no files: points
// stay in it until a test takes them (takeAll).
func newIdleCache() *Cache {
	c := &Cache{opts: Options{Log: slog.New(slog.DiscardHandler)}, seed: maphash.MakeSeed(), stop: make(chan struct{})}
	c.writers = []*writer{{c: c, wake: make(chan struct{}, 1)}}
	return c
}

// takeAll takes every queued series' points, as a writer would, with no
// writer running. reuse gives their chunks back to the shards for the next
// stores; otherwise they are left to the GC, and the next stores take new
// memory.
func takeAll(c *Cache, reuse bool) {
	for i := range c.shards {
		sh := &c.shards[i]
		for _, s := range sh.dirty {
			take(s)
			if reuse {
				sh.release(&s.flight)
			} else {
				s.flight = list{}
			}
		}
		sh.dirty = sh.dirty[:0]
	}
	c.size.Store(0)
}

// BenchmarkFlushStores is the statsd flusher's side of the write path: one
// point for each of 200,000 names (stats.X and stats_counts.X of 100,000
// counters), stored one by one (Cache.Store) or through a Batch. In the
// first case the names are new to the cache, as in the first flush after
// a start, which makes every series; in the steady case they are not, and
// the points of the round before have been taken. It reports ns per point.
func BenchmarkFlushStores(b *testing.B) {
	const keys = 100_000
	names := make([][]byte, 0, 2*keys)
	for i := range keys {
		names = append(names, fmt.Appendf(nil, "stats.bench.counter%06d", i), fmt.Appendf(nil, "stats_counts.bench.counter%06d", i))
	}
	for _, first := range []bool{true, false} {
		for _, batch := range []bool{false, true} {
			name := "steady/"
			if first {
				name = "first/"
			}
			if batch {
				name += "batch"
			} else {
				name += "store"
			}
			b.Run(name, func(b *testing.B) {
				var c *Cache
				var bt *Batch
				fresh := func() {
					c = newIdleCache()
					bt = c.NewBatch()
				}
				round := func(ts int64) {
					for _, n := range names {
						if batch {
							bt.Store(n, ts, 1)
						} else {
							c.Store(n, ts, 1)
						}
					}
					bt.Flush()
				}
				fresh()
				rounds := 0
				for b.Loop() {
					b.StopTimer()
					if first {
						fresh()
					} else if rounds == 0 {
						round(0)
						takeAll(c, true)
					}
					b.StartTimer()
					rounds++
					round(int64(rounds))
					b.StopTimer()
					takeAll(c, true)
					b.StartTimer()
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rounds*len(names)), "ns/point")
			})
		}
	}
}
