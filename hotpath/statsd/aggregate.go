package statsd

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Histogram gives the timers whose name contains Metric their bins: each
// bin counts the values below its bound and at or above the previous one;
// a last bound of +Inf ("inf") takes every value left.
type Histogram struct {
	Metric string
	Bins   []float64
}

// Options are etsy statsd's settings that change what a flush writes, under
// etsy's names. DefaultOptions returns etsy's defaults.
type Options struct {
	FlushInterval    time.Duration // flushInterval
	PercentThreshold []float64     // percentThreshold
	Histograms       []Histogram   // histogram

	LegacyNamespace bool // graphite.legacyNamespace
	// GlobalPrefix and the type prefixes apply only when LegacyNamespace is off,
	// as in etsy; an empty one leaves its part out.
	GlobalPrefix, PrefixCounter, PrefixTimer, PrefixGauge, PrefixSet string
	PrefixStats                                                      string // prefixStats, in both namespaces

	DeleteCounters, DeleteTimers, DeleteGauges, DeleteSets bool

	// Store receives every flushed point: the appliance's write path.
	Store func(name []byte, timestamp int64, value float64)
	// Stored, when set, is called once a flush has given Store its last
	// point, before the flush returns: a Store that gathers points (the
	// cache's Batch) stores them then.
	Stored func()
	// Forward, when set, receives each flush as etsy's graphite backend
	// would send it: "name value timestamp\n" lines. It owns the slice.
	Forward func(payload []byte)
	// Yield, when set, is called by a flush after every yieldEvery series
	// it merges or points it writes. Where the flusher shares one core with
	// the receivers, it waits there while they have input: a flush of many
	// keys then takes the core in slices short enough for their sockets to
	// hold what arrives meanwhile. A flush still ends: Yield must return
	// after a bounded wait, and a flush calls it only during its first
	// yieldBudget, so that saturated receivers do not hold it back past its
	// interval.
	Yield func()
}

// yieldEvery is how many series merged or points written a flush does
// between calls of Options.Yield: about a millisecond of its work.
const yieldEvery = 512

// yieldBudget is how long a flush of an interval of iv goes on calling
// Options.Yield: half the interval. Past it the flush runs to its end
// without waiting, so that saturated receivers, which have input at every
// one of its calls, do not hold it back past its interval (on one core each
// wait then lasts until the scheduler preempts a receiver, 10 to 20 ms):
// the next flush comes on time and reports one interval's counts.
//
// Below saturation the waits end as the receivers drain their sockets, and
// the flush advances on the core they leave: with receivers at 90% of it, a
// flush that needs half a second of the core takes five seconds. Cut short,
// it takes the core from them at once, and their sockets overflow: a first
// flush of 100,000 new keys (0.46 s of the core, most of it making their
// series in the cache) lost 22,000 datagrams when the budget was one second
// (bench/RESULTS.md).
func yieldBudget(iv time.Duration) time.Duration {
	return iv / 2
}

// DefaultOptions returns etsy statsd 0.9's defaults.
func DefaultOptions() Options {
	return Options{
		FlushInterval:    10 * time.Second,
		PercentThreshold: []float64{90},
		LegacyNamespace:  true,
		GlobalPrefix:     "stats",
		PrefixCounter:    "counters",
		PrefixTimer:      "timers",
		PrefixGauge:      "gauges",
		PrefixSet:        "sets",
		PrefixStats:      "statsd",
	}
}

// Aggregator is the statsd server's state: the receivers' shards and the
// totals the flusher keeps across intervals (gauges, and the names etsy
// keeps writing as zeros until they are deleted).
type Aggregator struct {
	opts Options

	shardsMu sync.Mutex
	shards   []*Shard

	// mu serializes flushes and admin commands; it guards what follows.
	mu     sync.Mutex
	global *table
	// prevFlush is the previous flush's time, for timestamp_lag.
	prevFlush int64
	gstats    flushStats
	badTotal  uint64
	out       []byte // the flush's text, when forwarding
	name      []byte
	steps     int // series merged and points written, for Options.Yield
	// yieldUntil is when the flush under way stops calling Options.Yield.
	yieldUntil time.Time

	start   int64
	clock   atomic.Int64 // unix seconds, ticked by Run
	healthy atomic.Bool
	// Flushes counts completed flushes.
	Flushes atomic.Uint64
}

// flushStats are the graphiteStats etsy's backend reports about itself.
type flushStats struct {
	lastFlush, lastException, flushTime, flushLength int64
}

// NewAggregator checks opts and returns an Aggregator with no shards.
func NewAggregator(opts Options, now time.Time) (*Aggregator, error) {
	if opts.FlushInterval < time.Millisecond {
		return nil, fmt.Errorf("statsd: flush interval %v is below a millisecond", opts.FlushInterval)
	}
	for _, p := range opts.PercentThreshold {
		if p == 0 || p <= -100 || p >= 100 || math.IsNaN(p) {
			return nil, fmt.Errorf("statsd: percent threshold %v is not within (-100, 100) or is 0", p)
		}
	}
	for _, h := range opts.Histograms {
		if len(h.Bins) == 0 {
			return nil, fmt.Errorf("statsd: histogram %q has no bins", h.Metric)
		}
	}
	if opts.Store == nil {
		return nil, errors.New("statsd: Options.Store is nil")
	}
	a := &Aggregator{opts: opts, global: newTable(), start: now.Unix()}
	a.clock.Store(now.Unix())
	a.healthy.Store(true)
	a.gstats.lastFlush = now.Unix()
	// etsy makes its own three counters at start, so they are written
	// from the first flush on.
	for _, n := range []string{".bad_lines_seen", ".packets_received", ".metrics_received"} {
		a.global.lookup(Counter, []byte(opts.PrefixStats+n))
	}
	return a, nil
}

// NewShard adds a receiver's shard. debug, when set, sees every line.
func (a *Aggregator) NewShard(debug func(line []byte)) *Shard {
	s := &Shard{agg: a, cur: newTable()}
	s.p.Debug = debug
	a.shardsMu.Lock()
	a.shards = append(a.shards, s)
	a.shardsMu.Unlock()
	return s
}

func (a *Aggregator) shardList() []*Shard {
	a.shardsMu.Lock()
	defer a.shardsMu.Unlock()
	return a.shards
}

// Run flushes at every wall-clock multiple of the flush interval until stop
// is closed, then flushes once more and returns: the final flush of a drain,
// to be called after the listeners are drained.
//
// The first flush is the first multiple a whole interval after the start,
// and the final one is stamped with the multiple that ends the interval it
// cuts short. A flush's points land where a whole interval's would, and a
// restart within one interval does not make two flushes with one
// timestamp, the second overwriting the first in whisper: the stopping
// process writes its part at the end of the interval, the new one skips
// that multiple and writes its part at the next.
func (a *Aggregator) Run(stop <-chan struct{}) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	iv := a.opts.FlushInterval
	start := time.Now()
	next := start.Truncate(iv).Add(iv)
	if next.Sub(start) < iv {
		next = next.Add(iv)
	}
	timer := time.NewTimer(time.Until(next))
	defer timer.Stop()
	for {
		select {
		case now := <-tick.C:
			a.clock.Store(now.Unix())
		case <-timer.C:
			a.Flush(next)
			next = next.Add(iv)
			if d := time.Until(next); d < 0 {
				// Flushes were missed (a stopped clock, a suspended box):
				// go on from the next multiple.
				next = time.Now().Truncate(iv).Add(iv)
			}
			timer.Reset(time.Until(next))
		case <-stop:
			a.Flush(next)
			return
		}
	}
}

// Health reports the admin interface's health status.
func (a *Aggregator) Health() bool { return a.healthy.Load() }
