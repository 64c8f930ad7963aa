package appliance

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"statbox/hotpath/listen"
	"statbox/kernel"
	"statbox/kernel/proc"
	"statbox/render"
	renderevents "statbox/render/events"
	"statbox/render/find"
	"statbox/render/tags"
	"statbox/storage/cache"
	"statbox/storage/events"
	"statbox/storage/index"
	"statbox/storage/schema"
	"statbox/storage/whisper"
)

// Run is `statbox run`: it starts every stage, serves until SIGTERM or
// SIGINT, then drains and returns the exit code. SIGHUP re-reads the schemas.
func Run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "statbox run:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	// Caught before the first listener opens, so that a SIGTERM as soon as
	// /health is green drains rather than kills.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	d, err := start(cfg, log)
	if err != nil {
		log.Error("start failed", "err", err)
		return 1
	}
	for sig := range sigs {
		if sig == syscall.SIGHUP {
			d.reload()
			continue
		}
		log.Info("draining", "signal", sig.String())
		break
	}
	if err := d.stop(); err != nil {
		log.Error("drain failed", "err", err)
		return 1
	}
	log.Info("stopped")
	return 0
}

// daemon is a running appliance: its stages in start order.
type daemon struct {
	cfg                Config
	log                *slog.Logger
	rules              atomic.Pointer[schema.Rules]
	pool               *whisper.Pool
	cache              *cache.Cache
	index              *index.Index
	events             *events.Store
	ingest             ingest
	statsd             statsdStage
	self               *selfReporter
	stopSelf, selfDone chan struct{}
	collect            *kernel.Stage
	collectCounts      *proc.Counts
	http               *http.Server
	httpL              net.Listener
	ready              atomic.Bool
}

func start(cfg Config, log *slog.Logger) (*daemon, error) {
	d := &daemon{cfg: cfg, log: log}
	rules, err := schema.Load(cfg.ConfDir)
	if err != nil {
		return nil, err
	}
	d.rules.Store(rules)
	if err := os.MkdirAll(filepath.Join(cfg.Data, "whisper"), 0o755); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if cfg.MaxMapCount > 0 {
		raiseMapCount(cfg.MaxMapCount, log)
	}
	// The index is built before the cache starts creating files, and the
	// cache tells it of each file it creates from then on.
	if d.index, err = index.Open(cfg.Data); err != nil {
		return nil, err
	}
	log.Info("index built", "metrics", d.index.Len(), "unreadable_dirs", d.index.Unreadable())
	if d.events, err = events.Open(filepath.Join(cfg.Data, "events")); err != nil {
		d.index.Close()
		return nil, err
	}
	if d.events.Skipped > 0 {
		log.Warn("unreadable event records skipped", "records", d.events.Skipped)
	}
	d.pool = whisper.NewPool(whisper.PoolOptions{MaxOpen: cfg.MaxOpenFiles, SyncInterval: cfg.SyncInterval, Lock: cfg.LockWrites, Dir: cfg.Data, Log: log})
	copts := cache.Options{
		Dir: filepath.Join(cfg.Data, "whisper"), Pool: d.pool, Rules: d.rules.Load,
		MaxPoints: cfg.MaxCacheSize, MaxCreatesPerMinute: cfg.MaxCreatesPerMinute,
		Sparse: cfg.SparseCreate, Log: log, OnCreate: d.index.Add,
	}
	if runtime.GOMAXPROCS(0) == 1 {
		// One core for receivers and writers: writers leave it to the
		// carbon receivers during a burst, up to the backlog.
		copts.Backlog, copts.Busy = backlog(cfg.MaxCacheSize, memoryLimit()), d.ingest.busy
	}
	d.cache = cache.New(copts)
	log.Info("storage started", "data", cfg.Data, "conf_dir", confName(cfg.ConfDir),
		"schemas", len(rules.Schemas), "max_open_files", d.pool.MaxOpen(), "writer_backlog", copts.Backlog)

	if err := d.ingest.start(cfg, d.cache, log.Info); err != nil {
		d.stop()
		return nil, err
	}
	if err := d.statsd.start(cfg, d.cache, &d.ingest, log); err != nil {
		d.stop()
		return nil, err
	}
	if cfg.Collect {
		if err := d.startCollect(cfg); err != nil {
			d.stop()
			return nil, fmt.Errorf("collection: %w", err)
		}
	}
	if cfg.SelfInterval > 0 {
		d.startSelf(cfg.SelfInterval)
	}

	if enabled(cfg.HTTP) {
		l, err := net.Listen("tcp", cfg.HTTP)
		if err != nil {
			d.stop()
			return nil, fmt.Errorf("http listener: %w", err)
		}
		d.httpL = l
		d.http = &http.Server{Handler: d.routes(), ReadHeaderTimeout: 10 * time.Second}
		go d.http.Serve(l)
		log.Info("http started", "addr", l.Addr().String())
	}
	d.ready.Store(true)
	return d, nil
}

func confName(dir string) string {
	if dir == "" {
		return "built-in"
	}
	return dir
}

// reload rebuilds the index from the tree and re-reads the schema files; on
// error the old rules stay.
func (d *daemon) reload() {
	// Files removed or restored by hand are seen after a SIGHUP.
	if n, err := d.index.Rebuild(d.cfg.Data); err != nil {
		d.log.Error("index rebuild failed, keeping the old index", "err", err)
	} else {
		d.log.Info("index rebuilt", "metrics", n, "unreadable_dirs", d.index.Unreadable())
	}
	rules, err := schema.Load(d.cfg.ConfDir)
	if err != nil {
		d.log.Error("reload failed, keeping the old schemas", "err", err)
		return
	}
	d.rules.Store(rules)
	d.log.Info("schemas reloaded", "conf_dir", confName(d.cfg.ConfDir), "schemas", len(rules.Schemas))
}

// stop drains the stages in flow order: listeners deliver what the kernel
// holds, the cache writes every point, the files are synced.
func (d *daemon) stop() error {
	d.ready.Store(false)
	var errs []error
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := d.ingest.drain(ctx); err != nil {
		errs = append(errs, fmt.Errorf("drain listeners: %w", err))
	}
	// After carbon's listeners, before the cache closes: the last flush
	// goes into the cache.
	if err := d.statsd.drain(ctx); err != nil {
		errs = append(errs, fmt.Errorf("drain statsd: %w", err))
	}
	if len(d.ingest.listeners) > 0 {
		d.log.Info("listeners stopped", "carbon_points", d.ingest.carbonStats.Points.Load(), "pickle_points", d.ingest.pickleStats.Points.Load())
	}
	d.stopCollect()
	if d.stopSelf != nil {
		close(d.stopSelf)
		<-d.selfDone
	}
	if d.http != nil {
		// Requests in flight get a second to finish. A connection that has
		// not sent a request (a client's spare, a TCP health check) counts
		// as active to Shutdown for 5 s: it is closed rather than waited for.
		hctx, hcancel := context.WithTimeout(context.Background(), time.Second)
		if err := d.http.Shutdown(hctx); err != nil {
			d.http.Close()
		}
		hcancel()
		d.log.Info("http stopped")
	}
	if d.cache != nil {
		errs = append(errs, d.cache.Close())
		st := d.cache.Stats()
		d.log.Info("cache stopped", "received", st.Received, "committed", st.Committed, "creates", st.Creates)
	}
	if d.index != nil {
		errs = append(errs, d.index.Close())
	}
	if d.events != nil {
		errs = append(errs, d.events.Close())
	}
	if d.pool != nil {
		errs = append(errs, d.pool.Close())
		d.log.Info("storage stopped", "files_synced", true)
	}
	return errors.Join(errs...)
}

func (d *daemon) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		if !d.ready.Load() {
			http.Error(w, "starting or draining\n", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	})
	rm := render.Mux(render.Options{Fetcher: d.cache, Finder: d.index, Events: d.events})
	for _, p := range []string{"/render", "/render/", "/functions", "/functions/", "/version", "/version/"} {
		mux.Handle(p, rm)
	}
	fh := &find.Handler{Index: d.index, Intervals: find.WhisperIntervals(filepath.Join(d.cfg.Data, "whisper"), time.Now)}
	mux.Handle("/metrics", fh)
	mux.Handle("/metrics/", fh)
	th := &tags.Handler{Index: d.index}
	mux.Handle("/tags", th)
	mux.Handle("/tags/", th)
	eh := &renderevents.Handler{Store: d.events, Now: time.Now}
	mux.Handle("/events", eh)
	mux.Handle("/events/", eh)
	if d.cfg.UpdateDir != "" {
		mux.Handle("POST /update", updateHandler(d.cfg.UpdateDir))
	}
	return mux
}

// startSelf writes statbox.<host>.* every interval, aligned to it.
func (d *daemon) startSelf(every time.Duration) {
	c, in := d.cache, &d.ingest
	r := &selfReporter{prefix: "statbox." + selfHost() + ".", store: c.Store}
	stat := func(f func(cache.Stats) uint64) func() uint64 { return func() uint64 { return f(c.Stats()) } }
	r.counter("committedPoints", stat(func(s cache.Stats) uint64 { return s.Committed }))
	r.counter("updateOperations", stat(func(s cache.Stats) uint64 { return s.UpdateOperations }))
	r.counter("creates", stat(func(s cache.Stats) uint64 { return s.Creates }))
	r.counter("createsHeld", stat(func(s cache.Stats) uint64 { return s.CreatesHeld }))
	r.counter("dropped.cacheFull", stat(func(s cache.Stats) uint64 { return s.DroppedFull }))
	r.counter("dropped.writeErrors", stat(func(s cache.Stats) uint64 { return s.WriteErrors }))
	r.counter("writerYields", stat(func(s cache.Stats) uint64 { return s.Yields }))
	r.gauge("cache.size", stat(func(s cache.Stats) uint64 { return uint64(s.Size) }))
	r.gauge("cache.queues", stat(func(s cache.Stats) uint64 { return uint64(s.Queued) }))
	r.gauge("cache.metrics", stat(func(s cache.Stats) uint64 { return uint64(s.Metrics) }))
	r.gauge("pool.open", func() uint64 { return uint64(d.pool.Stats().Open) })
	r.counter("pool.evictions", func() uint64 { return d.pool.Stats().Evictions })
	r.counter("pool.syncErrors", func() uint64 { return d.pool.Stats().SyncErrors })
	cs, ps := &in.carbonStats, &in.pickleStats
	// Points the receivers took in, as carbon counts metricsReceived: not
	// the self-metrics, which go straight into the cache.
	r.counter("metricsReceived", func() uint64 { return cs.Points.Load() + ps.Points.Load() })
	r.counter("dropped.badName", func() uint64 { return c.Stats().DroppedBadName + in.pickleBadNames.Load() })
	r.counter("carbon.points", cs.Points.Load)
	r.counter("carbon.badLines.fields", cs.BadFields.Load)
	r.counter("carbon.badLines.value", cs.BadValue.Load)
	r.counter("carbon.badLines.timestamp", cs.BadTimestamp.Load)
	r.counter("carbon.badLines.name", cs.BadName.Load)
	r.counter("carbon.badLines.tags", cs.BadTags.Load)
	r.counter("carbon.badLines.tooLong", cs.LineTooLong.Load)
	r.counter("carbon.nanValues", cs.NaNValues.Load)
	r.counter("pickle.frames", ps.Frames.Load)
	r.counter("pickle.points", ps.Points.Load)
	r.counter("pickle.badFrames", ps.BadFramesTotal)
	r.counter("pickle.badEntries", ps.BadEntries.Load)
	if u := in.carbonUDP; u != nil {
		r.counter("carbon.udp.datagrams", u.Stats().Datagrams.Load)
		r.counter("carbon.udp.truncated", u.Stats().Truncated.Load)
		r.counter("carbon.udp.kernelDrops", func() uint64 { n, _ := u.KernelDrops(); return n })
	}
	for _, l := range []struct {
		name string
		t    *listen.TCPListener
	}{{"carbon.tcp", in.tcp}, {"pickle.tcp", in.pickleTCP}} {
		if t := l.t; t != nil {
			r.counter(l.name+".accepted", t.Stats().Accepted.Load)
			r.gauge(l.name+".open", func() uint64 { return uint64(t.Stats().Open.Load()) })
		}
	}
	d.collectSelf(r)
	d.statsd.selfMetrics(r)
	d.self = r
	d.stopSelf, d.selfDone = make(chan struct{}), make(chan struct{})
	r.start(time.Now())
	go func() {
		defer close(d.selfDone)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case now := <-t.C:
				r.report(now)
			case <-d.stopSelf:
				r.report(time.Now())
				return
			}
		}
	}()
}

// raiseMapCount lifts vm.max_map_count to want: each mapped whisper file is
// one of the process's mappings, and the kernel's default of 65530 keeps a
// tree of more than 32k metrics from staying mapped. statbox owns the box it
// runs on; elsewhere, without root, the pool stays within the current limit.
func raiseMapCount(want int, log *slog.Logger) {
	const path = "/proc/sys/vm/max_map_count"
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	have, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || have >= want {
		return
	}
	if err := os.WriteFile(path, []byte(strconv.Itoa(want)), 0); err != nil {
		log.Info("vm.max_map_count left as it is", "value", have, "wanted", want, "err", err)
		return
	}
	log.Info("vm.max_map_count raised", "from", have, "to", want)
}

// pendingPointBytes is what a point waiting in the cache takes: a 256-byte
// chunk holds 15.
const pendingPointBytes = 18

// backlog is the cache's Backlog on one core: the points that fit in a
// sixteenth of the memory the process may use (memoryLimit), and at most
// half the cache's bound when it has one. Writers defer to a burst until the
// cache holds that many, so a burst that fits is taken at the receivers'
// pace; a SIGTERM during such a burst then has up to that many points to
// write before exit. With memory unknown (0): 10M points.
func backlog(maxCacheSize int, memory uint64) int {
	n := 10_000_000
	if memory > 0 {
		n = int(min(memory/16/pendingPointBytes, math.MaxInt32))
	}
	if maxCacheSize > 0 {
		n = min(n, maxCacheSize/2)
	}
	return n
}

// memoryLimit is the memory this process may use: the machine's RAM, or its
// cgroup's memory.max when that is lower; 0 when neither can be read.
func memoryLimit() uint64 {
	var total uint64
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		total = uint64(si.Totalram) * uint64(si.Unit)
	}
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return total
	}
	// cgroup v2: the line "0::/path".
	for _, line := range strings.Split(string(b), "\n") {
		path, ok := strings.CutPrefix(line, "0::")
		if !ok {
			continue
		}
		limit, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", path, "memory.max"))
		if err != nil {
			break
		}
		// "max" when unlimited: no number.
		if v, err := strconv.ParseUint(strings.TrimSpace(string(limit)), 10, 64); err == nil && v > 0 && (total == 0 || v < total) {
			total = v
		}
	}
	return total
}
