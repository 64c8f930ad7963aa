package statsd

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// threadCPU is the calling thread's CPU time in ns. The machine the
// benchmarks run on is shared: CPU time per line is what the code costs,
// whatever else ran; wall time per line is reported too.
func threadCPU() int64 {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_THREAD, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// benchPacket is ~1400 bytes of typical lines, one key per line out of keys.
func benchPacket(keys, start int) ([]byte, int) {
	var b []byte
	n := 0
	for i := start; len(b) < 1350; i++ {
		k := i % keys
		switch i % 4 {
		case 0, 1:
			b = fmt.Appendf(b, "app.service%02d.requests.k%d:1|c\n", k%50, k)
		case 2:
			b = fmt.Appendf(b, "app.service%02d.latency.k%d:%d|ms\n", k%50, k, i%500)
		case 3:
			b = fmt.Appendf(b, "app.service%02d.queue.k%d:%d|g\n", k%50, k, i%100)
		}
		n++
	}
	return b, n
}

// BenchmarkParse is the parser alone: ns per line, allocations per line.
func BenchmarkParse(b *testing.B) {
	pkt, lines := benchPacket(1000, 0)
	var p Parser
	sink := &nopSink{}
	b.SetBytes(int64(len(pkt)))
	b.ReportAllocs()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu := threadCPU()
	for b.Loop() {
		p.Parse(pkt, sink)
	}
	b.ReportMetric(float64(threadCPU()-cpu)/float64(b.N*lines), "cpu-ns/line")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*lines), "ns/line")
}

// counterPacket is ~1400 bytes of the counters bench/statsd sends,
// "bench.kNNNNNN:1|c", one key per line out of keys.
func counterPacket(keys, start int) ([]byte, int) {
	var b []byte
	n := 0
	for i := start; len(b) < 1380; i++ {
		b = fmt.Appendf(b, "bench.k%06d:1|c\n", i%keys)
		n++
	}
	return b, n
}

// shuffledCounterPacket is counterPacket with the keys in a random order
// rather than one after the other, as many senders' lines arrive: each line's
// entry and name are then somewhere else in the table.
func shuffledCounterPacket(keys, start int) ([]byte, int) {
	var b []byte
	n := 0
	for i := start; len(b) < 1380; i++ {
		// A fixed permutation of the keys: i*m mod keys, m prime to keys.
		b = fmt.Appendf(b, "bench.k%06d:1|c\n", i*7919%keys)
		n++
	}
	return b, n
}

// BenchmarkShard is parse plus aggregation into a receiver's table, with
// 1k and 100k distinct keys, flushing every 10M lines as a 10 s interval would:
// the mixed lines of benchPacket, and the counters of the end-to-end bench.
func BenchmarkShard(b *testing.B) {
	for _, c := range []struct {
		name   string
		keys   int
		packet func(keys, start int) ([]byte, int)
	}{
		{"keys=1000", 1000, benchPacket},
		{"keys=100000", 100_000, benchPacket},
		{"counters/keys=1000", 1000, counterPacket},
		{"counters/keys=100000", 100_000, counterPacket},
		{"counters/shuffled/keys=100000", 100_000, shuffledCounterPacket},
	} {
		keys, benchPacket := c.keys, c.packet
		b.Run(c.name, func(b *testing.B) {
			opts := DefaultOptions()
			opts.Store = func([]byte, int64, float64) {}
			a, _ := NewAggregator(opts, timeZero)
			s := a.NewShard(nil)
			var pkts [][]byte
			lines := 0
			for i := 0; i < keys*2; {
				p, n := benchPacket(keys, i)
				pkts = append(pkts, p)
				i += n
				lines += n
			}
			perPkt := float64(lines) / float64(len(pkts))
			b.ReportAllocs()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			cpu := threadCPU()
			done := 0.0
			for i := 0; b.Loop(); i++ {
				s.Packet(pkts[i%len(pkts)])
				if done += perPkt; done > 10_000_000 {
					b.StopTimer()
					c := threadCPU()
					a.Flush(timeZero)
					cpu += threadCPU() - c
					done = 0
					b.StartTimer()
				}
			}
			b.ReportMetric(float64(threadCPU()-cpu)/(float64(b.N)*perPkt), "cpu-ns/line")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/(float64(b.N)*perPkt), "ns/line")
		})
	}
}

// BenchmarkMemory1M measures the heap held per active counter key with
// 1,000,000 keys ("app.service.requests.kNNNNNNN", 29 bytes) in steady state: one receiver
// that has seen every key this interval, and the totals that keep every key
// across flushes.
func BenchmarkMemory1M(b *testing.B) {
	const keys = 1_000_000
	var pkts [][]byte
	for i := 0; i < keys; {
		var p []byte
		for ; i < keys && len(p) < 1350; i++ {
			p = fmt.Appendf(p, "app.service.requests.k%07d:1|c\n", i)
		}
		pkts = append(pkts, p)
	}
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		opts := DefaultOptions()
		opts.Store = func([]byte, int64, float64) {}
		a, _ := NewAggregator(opts, timeZero)
		s := a.NewShard(nil)
		for round := range 3 {
			for _, p := range pkts {
				s.Packet(p)
			}
			if round < 2 {
				a.Flush(timeZero.Add(time.Duration(round+1) * 10 * time.Second))
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/keys, "heap-bytes/key")
		runtime.KeepAlive(a)
		runtime.KeepAlive(s)
	}
}

// BenchmarkFlush is one flush of 100,000 counters a receiver saw in the
// interval: the merge into the totals and etsy's output for every key, per key.
func BenchmarkFlush(b *testing.B) {
	const keys = 100_000
	var pkts [][]byte
	for i := 0; i < keys; {
		p, n := counterPacket(keys, i)
		pkts = append(pkts, p)
		i += n
	}
	opts := DefaultOptions()
	opts.Store = func([]byte, int64, float64) {}
	a, _ := NewAggregator(opts, timeZero)
	s := a.NewShard(nil)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var cpu int64
	now := timeZero
	for b.Loop() {
		b.StopTimer()
		for _, p := range pkts {
			s.Packet(p)
		}
		now = now.Add(10 * time.Second)
		b.StartTimer()
		c := threadCPU()
		a.Flush(now)
		cpu += threadCPU() - c
	}
	b.ReportMetric(float64(cpu)/float64(b.N*keys), "cpu-ns/key")
}
