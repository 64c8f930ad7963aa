package appliance

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"statbox/hotpath/listen"
	"statbox/hotpath/statsd"
	"statbox/storage/cache"
)

// statsdConfig is etsy statsd's settings that change the output, as flags
// named after etsy's (kebab case), plus the forward and the debug pattern.
type statsdConfig struct {
	opts    statsd.Options
	forward string
	debug   string
}

// addStatsdFlags registers the statsd flags with etsy's defaults.
func addStatsdFlags(fs *flag.FlagSet, c *statsdConfig) {
	c.opts = statsd.DefaultOptions()
	o := &c.opts
	fs.Func("percent-threshold", "statsd timer percentiles, a comma list as etsy's percentThreshold; negative ones are the lowest values (default 90)", func(s string) error {
		o.PercentThreshold = o.PercentThreshold[:0]
		for _, f := range strings.Split(s, ",") {
			p, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || p == 0 || p <= -100 || p >= 100 {
				return fmt.Errorf("percent threshold %q is not a number within (-100, 100) other than 0", f)
			}
			o.PercentThreshold = append(o.PercentThreshold, p)
		}
		return nil
	})
	fs.Func("histogram", "statsd histogram bins `METRIC:BIN,BIN,...[,inf]` for the timers whose name contains METRIC, as etsy's histogram (repeatable; the first match wins)", func(s string) error {
		i := strings.LastIndexByte(s, ':')
		if i < 0 {
			return fmt.Errorf("histogram %q is not METRIC:BIN,BIN,...", s)
		}
		h := statsd.Histogram{Metric: s[:i]}
		for _, b := range strings.Split(s[i+1:], ",") {
			b = strings.TrimSpace(b)
			if b == "inf" {
				h.Bins = append(h.Bins, math.Inf(1))
				continue
			}
			f, err := strconv.ParseFloat(b, 64)
			if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				return fmt.Errorf("histogram %q: bin %q is not a number or inf", s, b)
			}
			h.Bins = append(h.Bins, f)
		}
		o.Histograms = append(o.Histograms, h)
		return nil
	})
	fs.BoolVar(&o.LegacyNamespace, "legacy-namespace", true, "statsd: etsy's legacy names (stats.X and stats_counts.X for counters); false gives stats.counters.X.rate and .count")
	fs.StringVar(&o.GlobalPrefix, "global-prefix", o.GlobalPrefix, "statsd: etsy's globalPrefix, without --legacy-namespace")
	fs.StringVar(&o.PrefixCounter, "prefix-counter", o.PrefixCounter, "statsd: etsy's prefixCounter, without --legacy-namespace")
	fs.StringVar(&o.PrefixTimer, "prefix-timer", o.PrefixTimer, "statsd: etsy's prefixTimer, without --legacy-namespace")
	fs.StringVar(&o.PrefixGauge, "prefix-gauge", o.PrefixGauge, "statsd: etsy's prefixGauge, without --legacy-namespace")
	fs.StringVar(&o.PrefixSet, "prefix-set", o.PrefixSet, "statsd: etsy's prefixSet, without --legacy-namespace")
	fs.StringVar(&o.PrefixStats, "prefix-stats", o.PrefixStats, "statsd: etsy's prefixStats, the prefix of statsd's own metrics")
	fs.Bool("delete-idle-stats", false, "statsd: stop writing metrics not received in the interval, as etsy's deleteIdleStats (sets the four --delete-* not given)")
	fs.BoolVar(&o.DeleteCounters, "delete-counters", false, "statsd: etsy's deleteCounters")
	fs.BoolVar(&o.DeleteTimers, "delete-timers", false, "statsd: etsy's deleteTimers")
	fs.BoolVar(&o.DeleteGauges, "delete-gauges", false, "statsd: etsy's deleteGauges")
	fs.BoolVar(&o.DeleteSets, "delete-sets", false, "statsd: etsy's deleteSets")
	fs.StringVar(&c.forward, "forward", "", "also send each statsd flush to the carbon plaintext receiver at `ADDR` over TCP, as etsy's graphite backend does")
	fs.StringVar(&c.debug, "statsd-debug", "", "log every incoming statsd line matching `PATTERN` (a Go regexp) to stderr")
}

// finishStatsdFlags applies --delete-idle-stats to the --delete-* flags not
// given, as etsy does, and checks the pattern.
func finishStatsdFlags(fs *flag.FlagSet, c *statsdConfig) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if f := fs.Lookup("delete-idle-stats"); f.Value.String() == "true" {
		o := &c.opts
		for name, p := range map[string]*bool{"delete-counters": &o.DeleteCounters, "delete-timers": &o.DeleteTimers,
			"delete-gauges": &o.DeleteGauges, "delete-sets": &o.DeleteSets} {
			if !set[name] {
				*p = true
			}
		}
	}
	if c.debug != "" {
		if _, err := regexp.Compile(c.debug); err != nil {
			return fmt.Errorf("--statsd-debug: %w", err)
		}
	}
	return nil
}

// statsdUDPWait is how long a statsd UDP receiver sleeps after a short batch
// (listen.UDPOptions.Wait); Go's timers make it about 1.1 ms, at a million
// datagrams/s about 1,100 of them, which the receive buffer holds many times
// over.
const statsdUDPWait = 200 * time.Microsecond

// statsdReadBuffer is the receive buffer asked for each statsd UDP socket
// (listen.UDPOptions.ReadBuffer): 64 MiB, which the kernel doubles to hold
// about 50,000 queued ~1,400-byte datagrams, 0.4 s of 10M lines/s. statsd
// has no way to ask a sender to wait: what a socket cannot hold while its
// receiver is held up (a flush, a garbage collection, another tenant of the
// machine) is lost. The kernel takes the memory only for what is queued.
const statsdReadBuffer = 64 << 20

// statsdStage is the statsd server: UDP and TCP receivers, the flusher,
// the forward and the admin interface.
type statsdStage struct {
	agg       *statsd.Aggregator
	udp       *listen.UDPListener
	tcp       *listen.TCPListener
	fwd       *statsd.Forwarder
	admin     *statsd.AdminServer
	stop      chan struct{}
	done      chan struct{}
	tcpShards []*statsd.Shard
	next      atomic.Uint32
}

// start opens the statsd listeners on cfg.Statsd and the admin interface on
// cfg.Admin, flushing into c.
//
// On one core, a flush waits for the receivers of in that have input
// (ingest.yield), and the statsd listeners join those the cache's writers
// wait for.
func (s *statsdStage) start(cfg Config, c *cache.Cache, in *ingest, log *slog.Logger) error {
	if !enabled(cfg.Statsd) {
		// No flushes either: with statsd off, statsd's own metrics would
		// be the only thing it wrote.
		if enabled(cfg.Admin) {
			log.Warn("statsd is off: its admin interface is not started", "admin", cfg.Admin)
		}
		return nil
	}
	sc := cfg.StatsdConfig
	opts := sc.opts
	opts.FlushInterval = cfg.FlushInterval
	// The flusher stores through a Batch of its own: a lock and a round of
	// the cache's counters a shard, not a point, and the lookups of a
	// shard's points overlapped. Flushes are serialised by the aggregator.
	b := c.NewBatch()
	opts.Store, opts.Stored = b.Store, b.Flush
	oneCore := runtime.GOMAXPROCS(0) == 1
	if oneCore {
		opts.Yield = in.yield
	}
	if sc.forward != "" {
		s.fwd = statsd.NewForwarder(sc.forward, statsd.ForwarderOptions{Log: log})
		opts.Forward = s.fwd.Send
	}
	agg, err := statsd.NewAggregator(opts, time.Now())
	if err != nil {
		return err
	}
	s.agg = agg
	if s.fwd != nil {
		s.fwd.Failed = agg.ForwardFailed
	}
	var debug func([]byte)
	if sc.debug != "" {
		re := regexp.MustCompile(sc.debug)
		debug = func(line []byte) {
			if re.Match(line) {
				log.Info("statsd debug", "line", string(line))
			}
		}
	}
	{
		// The TCP loops share a few shards (a connection lives on one loop,
		// but which loop is not known when its session is made).
		for range runtime.GOMAXPROCS(0) {
			s.tcpShards = append(s.tcpShards, agg.NewShard(debug))
		}
		t, err := listen.ListenTCP(cfg.Statsd, listen.TCPOptions{Idle: in.Idle}, func() listen.Session {
			sh := s.tcpShards[int(s.next.Add(1))%len(s.tcpShards)]
			return &statsdSession{st: statsd.NewStream(sh)}
		})
		if err != nil {
			return fmt.Errorf("statsd tcp %s: %w", cfg.Statsd, err)
		}
		s.tcp = t
		// UDP on the port TCP got, so that ":0" gives one port for both.
		// Wait: with one metric per datagram, a receiver woken per datagram
		// spends most of its time waking (bench/RESULTS.md, statsd).
		u, err := listen.ListenUDP(t.Addr().String(), listen.UDPOptions{Wait: statsdUDPWait, Idle: in.Idle, ReadBuffer: statsdReadBuffer}, func(int) listen.PacketHandler {
			return agg.NewShard(debug)
		})
		if err != nil {
			t.Close()
			s.tcp = nil
			return fmt.Errorf("statsd udp %s: %w", t.Addr(), err)
		}
		s.udp = u
		if oneCore {
			in.addWaiters(u, t)
		}
		log.Info("statsd started", "tcp", t.Addr().String(), "udp", u.Addr().String(),
			"udp_read_buffer", u.ReadBuffer(), "flush_interval", cfg.FlushInterval.String())
	}
	if enabled(cfg.Admin) {
		a, err := statsd.ListenAdmin(cfg.Admin, agg)
		if err != nil {
			return fmt.Errorf("statsd admin %s: %w", cfg.Admin, err)
		}
		s.admin = a
		log.Info("statsd admin started", "addr", a.Addr().String())
	}
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(s.done)
		agg.Run(s.stop)
	}()
	return nil
}

// drain stops the listeners, parses what they hold, makes the last flush
// and sends what the forward still holds.
func (s *statsdStage) drain(ctx context.Context) error {
	var errs []error
	if s.udp != nil {
		errs = append(errs, s.udp.Drain(ctx))
	}
	if s.tcp != nil {
		errs = append(errs, s.tcp.Drain(ctx))
	}
	if s.admin != nil {
		errs = append(errs, s.admin.Close())
	}
	if s.stop != nil {
		close(s.stop)
		<-s.done
	}
	if s.fwd != nil {
		errs = append(errs, s.fwd.Close(ctx))
	}
	return errors.Join(errs...)
}

// statsdSession is one statsd TCP connection.
type statsdSession struct{ st *statsd.Stream }

func (ss *statsdSession) Data(b []byte) bool { ss.st.Feed(b); return false }
func (ss *statsdSession) Close()             { ss.st.Close() }

// selfMetrics adds the statsd stage's counters to statbox's own metrics:
// what the UDP sockets read and what the kernel dropped on them (the loss a
// sender cannot see), and the forward's outcome.
func (s *statsdStage) selfMetrics(r *selfReporter) {
	if u := s.udp; u != nil {
		r.counter("statsd.udp.datagrams", u.Stats().Datagrams.Load)
		r.counter("statsd.udp.truncated", u.Stats().Truncated.Load)
		r.counter("statsd.udp.kernelDrops", func() uint64 { n, _ := u.KernelDrops(); return n })
	}
	if t := s.tcp; t != nil {
		r.counter("statsd.tcp.accepted", t.Stats().Accepted.Load)
		r.gauge("statsd.tcp.open", func() uint64 { return uint64(t.Stats().Open.Load()) })
	}
	if f := s.fwd; f != nil {
		r.counter("statsd.forward.sent", f.Stats().Sent.Load)
		r.counter("statsd.forward.failed", f.Stats().Failed.Load)
		r.counter("statsd.forward.dropped", f.Stats().Dropped.Load)
	}
	if a := s.agg; a != nil {
		r.counter("statsd.flushes", a.Flushes.Load)
	}
}
