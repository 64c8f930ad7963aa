package cache

import (
	"fmt"
	"hash/maphash"
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
			c := &Cache{opts: Options{}, seed: maphash.MakeSeed(), stop: make(chan struct{})}
			c.writers = []*writer{{c: c, wake: make(chan struct{}, 1)}}
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
			take := func() {
				for i := range c.shards {
					sh := &c.shards[i]
					for _, s := range sh.dirty {
						take(s)
						if burst {
							s.flight = list{} // the chunks left to the GC
						} else {
							sh.release(&s.flight)
						}
					}
					sh.dirty = sh.dirty[:0]
				}
				c.size.Store(0)
			}
			round(0)
			take()
			b.ResetTimer()
			ts := int64(10)
			for done, rounds := 0, 0; done < b.N; done += metrics {
				round(ts)
				ts += 10
				if rounds++; !burst || rounds%burstRounds == 0 {
					b.StopTimer()
					take()
					b.StartTimer()
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64((b.N+metrics-1)/metrics*metrics), "ns/point")
		})
	}
}
