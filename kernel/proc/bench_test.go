package proc

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"statbox/kernel"
)

// BenchmarkRound is one collection round of every /proc collector on this
// machine's /proc, through a stage, as statbox runs it. Besides ns/op it
// reports the process's CPU time a round (user+system from getrusage, so
// the kernel's work formatting /proc counts) and that time as a percent of
// one core at the default 10 s interval: the budget is 1%.
func BenchmarkRound(b *testing.B) {
	var sink float64
	s := kernel.New(kernel.Options{Interval: 10 * time.Second, Host: "bench", SelfPrefix: "statbox.bench.",
		Store:      func(name []byte, ts int64, v float64) { sink += v },
		Collectors: Collectors(Options{Interval: 10 * time.Second})})
	now := time.Now()
	s.Round(now) // first round: state and names are built
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for i := range b.N {
		s.Round(now.Add(time.Duration(i+1) * 10 * time.Second))
	}
	cpu := processCPU() - cpu0
	b.StopTimer()
	perRound := float64(cpu) / float64(b.N)
	b.ReportMetric(perRound, "cpu-ns/op")
	b.ReportMetric(100*perRound/float64(10*time.Second), "%core@10s")
	b.ReportMetric(float64(s.Stats().Points)/float64(b.N+1), "samples/op")
	if s.Stats().Points == 0 || sink == 0 {
		b.Fatal("no samples")
	}
}

func processCPU() time.Duration {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCollector is each collector's share of a round.
func BenchmarkCollector(b *testing.B) {
	for _, c := range Collectors(Options{Interval: 10 * time.Second}) {
		b.Run(c.Name(), func(b *testing.B) {
			emit := func(string, float64) {}
			now := time.Now()
			c.Collect(now, emit)
			b.ReportAllocs()
			for i := range b.N {
				c.Collect(now.Add(time.Duration(i+1)*10*time.Second), emit)
			}
		})
	}
}
