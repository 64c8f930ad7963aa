package ebpf

import (
	"fmt"
	"log/slog"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -target bpfel -no-global-types runqlat runqlat.c -- -O2 -g -Wall -Werror -I./headers

// runqlat is the run-queue latency histogram of runqlat.c: every program
// of a set is needed (a wakeup without its switch measures nothing), so
// one that fails leaves the set out.
type runqlat struct {
	maps   map[string]*ebpf.Map
	hist   *ebpf.Map
	progs  []attached
	percpu []hist
	sum    hist
	prev   hist
	d      hist
}

func openRunqlat(*slog.Logger, *Options) (probe, error) {
	spec, err := loadRunqlat()
	if err != nil {
		return nil, fmt.Errorf("read object: %w", err)
	}
	ncpu, err := ebpf.PossibleCPU()
	if err != nil {
		return nil, err
	}
	// Task local storage (5.11) first; a hash by pid where it is missing.
	r, err := openRunqlatWith(spec, ncpu, "runq_ts", "_ts")
	if err != nil {
		var errHash error
		r, errHash = openRunqlatWith(spec, ncpu, "runq_start", "")
		if errHash != nil {
			return nil, fmt.Errorf("with task storage: %w; with a hash: %w", err, errHash)
		}
	}
	return r, nil
}

// openRunqlatWith loads the programs whose names end in suffix, keeping
// queue times in the map start.
func openRunqlatWith(spec *ebpf.CollectionSpec, ncpu int, start, suffix string) (*runqlat, error) {
	maps, err := newMaps(spec, start, "runq_hist", "runq_since")
	if err != nil {
		return nil, err
	}
	r := &runqlat{maps: maps, hist: maps["runq_hist"], percpu: make([]hist, ncpu)}
	for _, name := range []string{"sched_wakeup", "sched_wakeup_new", "sched_switch"} {
		a, err := loadAttach(spec, name+suffix, maps)
		if err != nil {
			r.close()
			return nil, err
		}
		r.progs = append(r.progs, a)
	}
	return r, nil
}

func (r *runqlat) collect(emit func(string, float64), _, _ float64) error {
	if err := r.hist.Lookup(uint32(0), r.percpu); err != nil {
		return fmt.Errorf("read runqlat: %w", err)
	}
	r.sum = hist{}
	for i := range r.percpu {
		for s, v := range r.percpu[i] {
			r.sum[s] += v
		}
	}
	r.d.delta(&r.sum, &r.prev)
	emitHist(emit, &runqlatNames, summarize(&r.d))
	return nil
}

var runqlatNames = histNames("ebpf.runqlat.")

func (r *runqlat) programs() []attached { return r.progs }

// opening marks the queue times taken before now stale, as Options.Window
// attaches the programs again after a time without them.
func (r *runqlat) opening() {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) == nil {
		r.maps["runq_since"].Put(uint32(0), uint64(ts.Nano()))
	}
}

func (r *runqlat) sampled() []*attached {
	as := make([]*attached, len(r.progs))
	for i := range r.progs {
		as[i] = &r.progs[i]
	}
	return as
}

func (r *runqlat) close() error {
	err := closeAttached(r.progs)
	r.progs = nil
	closeMaps(r.maps)
	return err
}

// histNames are the five names a histogram is emitted under.
type histNameSet [5]string

func histNames(prefix string) histNameSet {
	return histNameSet{prefix + "count", prefix + "p50", prefix + "p90", prefix + "p99", prefix + "max"}
}

// emitHist emits an interval's count, and its latencies when it has any.
func emitHist(emit func(string, float64), n *histNameSet, s histStats) {
	emit(n[0], float64(s.count))
	if s.count == 0 {
		return
	}
	emit(n[1], s.p50)
	emit(n[2], s.p90)
	emit(n[3], s.p99)
	emit(n[4], s.max)
}
