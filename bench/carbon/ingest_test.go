package main

import (
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"syscall"
	"testing"
	"time"

	"statbox/hotpath/carbon"
	"statbox/storage/cache"
	"statbox/storage/schema"
	"statbox/storage/whisper"
)

var (
	ingestMetrics = flag.Int("ingest.metrics", 100_000, "BenchmarkIngest: distinct metrics")
	ingestRounds  = flag.Int("ingest.rounds", 100, "BenchmarkIngest: points per metric in each iteration")
	ingestWarmup  = flag.Int("ingest.warmup", 1, "BenchmarkIngest: rounds written before timing, so that every file is open (0: time the first opens too)")
	ingestSync    = flag.Duration("ingest.sync", 0, "BenchmarkIngest: the pool's msync interval (0: the daemon's default; negative: none, as when a run is shorter than it)")
	ingestRead    = flag.Int("ingest.read", 256<<10, "BenchmarkIngest: bytes fed at a time, as statbox's carbon TCP loops read them (appliance's carbonReadSize)")
	ingestConns   = flag.Int("ingest.conns", 1, "BenchmarkIngest: senders, each with its own parser, their reads interleaved as a listener serving several connections reads them")
	ingestProfile = flag.String("ingest.cpuprofile", "", "BenchmarkIngest: write a CPU profile of the timed part only (not the set-up, warm-up and clean-up) to `FILE`")
)

// cpuTime is the process's user and system CPU time so far: on a shared,
// noisy machine CPU per point says more than wall-clock rates do.
func cpuTime() (time.Duration, int64) {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Minflt + ru.Majflt
}

// BenchmarkIngest is bench/carbon.sh's statbox run without the sockets: the
// same lines, in reads of the listener's size, fed to a carbon.Stream whose
// parser stores into the cache, whose writers apply them to whisper files
// (sparse, of the default schema) through a pool, as statbox run wires them.
// It reports points/s accepted (fed) and persisted (committed), from the
// first line fed. For the profile of one core:
//
//	go test -run '^$' -bench Ingest -benchtime 1x -cpu 1 -cpuprofile cpu.out ./bench/carbon
//
// Setting up 100,000 files takes a while; -ingest.metrics makes fewer.
func BenchmarkIngest(b *testing.B) {
	metrics, rounds := *ingestMetrics, *ingestRounds
	root := filepath.Join(b.TempDir(), "whisper")
	rules, err := schema.Load("")
	if err != nil {
		b.Fatal(err)
	}
	if err := createTree(root, rules, metrics, 8); err != nil {
		b.Fatal(err)
	}
	pool := whisper.NewPool(whisper.PoolOptions{SyncInterval: *ingestSync})
	c := cache.New(cache.Options{Dir: root, Pool: pool, Rules: func() *schema.Rules { return rules }})
	defer pool.Close()
	defer c.Close()
	var stats carbon.Stats
	nconns := max(*ingestConns, 1)
	streams := make([]*carbon.Stream, nconns)
	cns := make([]*conn, nconns)
	for i := range streams {
		streams[i] = carbon.NewStream(carbon.NewParser(c.NewBatch(), &stats))
		cns[i] = newConn(i, nconns, metrics)
	}
	rests := make([][]byte, nconns)
	now := time.Now().Unix()
	ts := now - now%10 - 10*int64(*ingestWarmup+rounds)
	feed := func(rounds int) int {
		for r := range rounds {
			for i, cn := range cns {
				cn.round(r, ts)
				rests[i] = cn.buf
			}
			ts += 10
			for left := true; left; {
				left = false
				for i, rest := range rests {
					if len(rest) == 0 {
						continue
					}
					n := min(len(rest), *ingestRead)
					streams[i].Feed(rest[:n])
					rests[i] = rest[n:]
					left = true
				}
			}
		}
		return rounds * metrics
	}
	committed := func(want uint64) {
		for c.Stats().Committed < want {
			time.Sleep(time.Millisecond)
		}
	}
	var total uint64
	if *ingestWarmup > 0 {
		start := time.Now()
		total += uint64(feed(*ingestWarmup))
		committed(total)
		b.Logf("warm-up: %d points persisted in %v", total, time.Since(start))
	}
	runtime.GC()
	var fed, written time.Duration
	var points uint64
	if *ingestProfile != "" {
		f, err := os.Create(*ingestProfile)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
	}
	cpu0, faults0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		n := uint64(feed(rounds))
		fed += time.Since(start)
		total += n
		points += n
		committed(total)
		written += time.Since(start)
		// Later iterations overwrite the same intervals: the cache and the
		// files do the same work.
		ts -= 10 * int64(rounds)
	}
	b.StopTimer()
	cpu, faults := cpuTime()
	cpu -= cpu0
	faults -= faults0
	if *ingestProfile != "" {
		pprof.StopCPUProfile()
	}
	if got := stats.Points.Load(); got != total {
		b.Fatalf("parser took %d points, want %d", got, total)
	}
	st := c.Stats()
	b.ReportMetric(float64(points)/fed.Seconds(), "accepted/s")
	b.ReportMetric(float64(points)/written.Seconds(), "persisted/s")
	b.ReportMetric(float64(st.Committed)/float64(st.UpdateOperations), "points/update")
	b.ReportMetric(float64(written.Nanoseconds())/float64(points), "ns/point")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(points), "cpu-ns/point")
	b.ReportMetric(float64(faults)/float64(points), "faults/point")
}
