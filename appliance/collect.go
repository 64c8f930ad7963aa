package appliance

import (
	"log/slog"
	"time"

	"statbox/kernel"
	"statbox/kernel/ebpf"
	"statbox/kernel/proc"
)

// extraCollectors are the collectors beyond /proc's: the eBPF probes of
// kernel/ebpf unless --collect-ebpf=false. An Open that fails (not root, no
// BTF, lockdown, an old kernel) is logged once and left out, so that the
// /proc collectors go on alone. The probes of the hottest kernel paths
// (every system call, every context switch) are attached for the last
// second of each interval only: attached throughout they cost about 2% of a
// core on a busy box, past the 1% budget (bench/RESULTS.md), so
// ebpf.syscalls.per_second and ebpf.runqlat.* are a one-second sample of
// each interval. The stage closes the probes when it stops.
func extraCollectors(cfg Config, log *slog.Logger) []kernel.Collector {
	if !cfg.CollectEBPF {
		return nil
	}
	c, err := ebpf.OpenWith(log, ebpf.Options{Window: time.Second})
	if err != nil {
		log.Warn("eBPF collection off, the /proc collectors go on alone", "err", err)
		return nil
	}
	return []kernel.Collector{c}
}

// startCollect starts host collection: Diamond's collectors over /proc,
// /sys and statfs, and the extra ones, every --collect-interval into the
// cache under servers.<host>., with each round's cost under
// statbox.<host>.collect.
func (d *daemon) startCollect(cfg Config) error {
	d.collectCounts = new(proc.Counts)
	cs := proc.Collectors(proc.Options{Interval: cfg.CollectInterval, Counts: d.collectCounts})
	cs = append(cs, extraCollectors(cfg, d.log)...)
	st, err := kernel.Start(kernel.Options{
		Interval: cfg.CollectInterval, Store: d.cache.Store, Collectors: cs,
		SelfPrefix: "statbox." + selfHost() + ".", Log: d.log,
	})
	if err != nil {
		return err
	}
	d.collect = st
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name()
	}
	d.log.Info("collection started", "interval", cfg.CollectInterval, "prefix", "servers."+kernel.Hostname()+".", "collectors", names)
	return nil
}

// stopCollect ends collection; the round in progress is stored first.
func (d *daemon) stopCollect() {
	if d.collect == nil {
		return
	}
	d.collect.Stop()
	st := d.collect.Stats()
	d.log.Info("collection stopped", "rounds", st.Rounds, "points", st.Points, "errors", st.Errors)
}

// collectSelf adds collection's counters to the self-metrics.
func (d *daemon) collectSelf(r *selfReporter) {
	c := d.collectCounts
	if c == nil {
		return
	}
	r.counter("collect.counterWraps", c.Wraps.Load)
	r.counter("collect.counterResets", c.Resets.Load)
	r.counter("collect.malformed", c.Malformed.Load)
	r.counter("collect.statfsTimeouts", c.Timeouts.Load)
	r.counter("collect.roundErrors", func() uint64 { return d.collect.Stats().Errors })
}
