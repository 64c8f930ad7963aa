package kernel

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Options configure a Stage.
type Options struct {
	// Interval is the collection interval; rounds run at wall-clock
	// multiples of it, so every host's points share timestamps.
	Interval time.Duration
	// Host is the segment after servers.; empty means Hostname().
	Host string
	// Store takes each sample, its name already prefixed with
	// servers.<host>.; the name's bytes are reused after Store returns.
	Store func(name []byte, timestamp int64, value float64)
	// Collectors run in this order each round.
	Collectors []Collector
	// SelfPrefix, when not empty (e.g. "statbox.vm."), is where the stage
	// writes what each round cost: see Stage.
	SelfPrefix string
	// Log gets each collector's errors, once for each new one.
	Log *slog.Logger
}

// Stats are a stage's counters since Start.
type Stats struct {
	Rounds  uint64 // rounds run
	Points  uint64 // samples stored
	Errors  uint64 // collector calls that returned an error or panicked
	Skipped uint64 // samples dropped for a NaN or infinite value
	// LastCPU is the CPU time of the last round, collectors and stores.
	LastCPU time.Duration
}

// Stage calls its collectors once per interval and stores their samples
// under servers.<host>.. A collector's error is logged when it first
// appears or changes, not every round, and the other collectors go on.
//
// With SelfPrefix set, each round also stores, under SelfPrefix:
//
//	collect.cpuMicroseconds         CPU time of the round (thread time)
//	collect.cpuPercent              that time as a percent of one core over the interval
//	collect.wallMicroseconds        wall time of the round
//	collect.points                  samples stored by the round
//	collect.errors                  collectors that failed in the round
//	collect.<collector>.cpuMicroseconds  each collector's share
type Stage struct {
	opts   Options
	prefix string
	emit   Emit
	buf    []byte
	ts     int64
	points uint64 // in the current round

	names   []collectorNames
	lastErr []string

	rounds, stored, errors, skipped atomic.Uint64
	lastCPU                         atomic.Int64

	started  bool // by Start, so Stop has a goroutine to wait for
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

// collectorNames are a collector's self-metric names, built once.
type collectorNames struct{ cpu string }

// New makes a stage without starting it: Round runs one round by hand
// (tests, benchmarks); Start runs them on the clock.
func New(opts Options) *Stage {
	if opts.Host == "" {
		opts.Host = Hostname()
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	s := &Stage{opts: opts, prefix: "servers." + opts.Host + ".",
		stop: make(chan struct{}), done: make(chan struct{})}
	s.emit = func(name string, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			s.skipped.Add(1)
			return
		}
		s.buf = append(append(s.buf[:0], s.prefix...), name...)
		s.opts.Store(s.buf, s.ts, v)
		s.points++
	}
	for _, c := range opts.Collectors {
		s.names = append(s.names, collectorNames{cpu: "collect." + c.Name() + ".cpuMicroseconds"})
	}
	s.lastErr = make([]string, len(opts.Collectors))
	return s
}

// Start makes a stage and runs its rounds until Stop.
func Start(opts Options) (*Stage, error) {
	if opts.Interval <= 0 {
		return nil, fmt.Errorf("collection interval must be positive, got %v", opts.Interval)
	}
	if opts.Store == nil {
		return nil, fmt.Errorf("collection needs a Store")
	}
	s := New(opts)
	s.started = true
	go s.run()
	return s, nil
}

// Stop ends the rounds: a round in progress finishes (its points are
// stored), then every collector that is an io.Closer (eBPF probes to
// detach) is closed, and Stop returns. Call it before the store closes.
func (s *Stage) Stop() {
	s.stopOnce.Do(func() {
		close(s.stop)
		if s.started {
			<-s.done
		}
		for _, c := range s.opts.Collectors {
			if cl, ok := c.(io.Closer); ok {
				if err := cl.Close(); err != nil {
					s.opts.Log.Warn("collector close failed", "collector", c.Name(), "err", err)
				}
			}
		}
	})
}

// Stats returns the stage's counters.
func (s *Stage) Stats() Stats {
	return Stats{Rounds: s.rounds.Load(), Points: s.stored.Load(), Errors: s.errors.Load(),
		Skipped: s.skipped.Load(), LastCPU: time.Duration(s.lastCPU.Load())}
}

func (s *Stage) run() {
	defer close(s.done)
	// Thread CPU time measures the rounds only if they stay on one thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	iv := s.opts.Interval
	next := time.Now().Truncate(iv).Add(iv)
	t := time.NewTimer(time.Until(next))
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		now := time.Now()
		switch {
		case now.Sub(next) >= iv:
			// Late by a whole interval or more (suspend, a clock set
			// forward): skip the missed rounds, as Diamond's scheduler
			// does, rather than run them back to back.
			next = now.Truncate(iv)
		case now.Before(next):
			// Woken early: the wall clock was set back. Realign.
			next = now.Truncate(iv).Add(iv)
			t.Reset(time.Until(next))
			continue
		}
		s.Round(next)
		next = next.Add(iv)
		wait := time.Until(next)
		if wait > iv {
			// The wall clock went back during the round.
			next = time.Now().Truncate(iv).Add(iv)
			wait = time.Until(next)
		}
		t.Reset(wait)
	}
}

// Round runs every collector once and stores their samples at now's second,
// then the round's cost under SelfPrefix. It is what Start calls each
// interval; it must not be called concurrently with itself.
func (s *Stage) Round(now time.Time) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	s.ts = now.Unix()
	s.points = 0
	wall := time.Now()
	start := threadCPU()
	cpu := start
	failed := 0
	var own [16]time.Duration // per-collector cost without allocating for the usual few
	costs := own[:0]
	for i, c := range s.opts.Collectors {
		err := s.collect(c, now)
		if err != nil {
			failed++
		}
		s.note(i, c, err)
		end := threadCPU()
		costs = append(costs, end-cpu)
		cpu = end
	}
	used := cpu - start
	elapsed := time.Since(wall)
	s.rounds.Add(1)
	s.stored.Add(s.points)
	s.errors.Add(uint64(failed))
	s.lastCPU.Store(int64(used))
	if s.opts.SelfPrefix == "" {
		return
	}
	points := s.points
	s.self("collect.cpuMicroseconds", float64(used)/1e3)
	if iv := s.opts.Interval; iv > 0 {
		s.self("collect.cpuPercent", 100*float64(used)/float64(iv))
	}
	s.self("collect.wallMicroseconds", float64(elapsed)/1e3)
	s.self("collect.points", float64(points))
	s.self("collect.errors", float64(failed))
	for i, d := range costs {
		s.self(s.names[i].cpu, float64(d)/1e3)
	}
}

// collect calls one collector, turning a panic into an error: a collector's
// bug costs its own samples, not the appliance.
func (s *Stage) collect(c Collector, now time.Time) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return c.Collect(now, s.emit)
}

// note logs a collector's error when it differs from the one it last
// returned, and its recovery, so that a missing file is one line in the
// log and not one a round.
func (s *Stage) note(i int, c Collector, err error) {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if msg == s.lastErr[i] {
		return
	}
	if err != nil {
		s.opts.Log.Warn("collector failed, skipping what it could not read", "collector", c.Name(), "err", err)
	} else {
		s.opts.Log.Info("collector recovered", "collector", c.Name())
	}
	s.lastErr[i] = msg
}

func (s *Stage) self(name string, v float64) {
	s.buf = append(append(s.buf[:0], s.opts.SelfPrefix...), name...)
	s.opts.Store(s.buf, s.ts, v)
}

// threadCPU is the CPU time the calling thread has used: the round's cost
// without the rest of the process (listeners, writers) that getrusage's
// process time would include.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
