// Package ebpf collects the host metrics that /proc cannot show, from eBPF
// programs loaded with cilium/ebpf: block I/O latency per disk, run-queue
// latency, TCP retransmits and resets, processes forked, exec'd and exited,
// OOM kills and system calls per second.
//
// The programs are CO-RE (compiled once against the checked-in vmlinux.h,
// relocated by the loader against the running kernel's BTF) and use only
// BTF-enabled tracepoints, so one object runs on every kernel from 5.8.
// Their C sources sit beside the Go that loads them; `make generate`
// rebuilds the objects with bpf2go.
//
// Every value is per interval: counts since the previous Collect (since
// Open for the first), rates per second over that interval, and latency
// histograms of that interval only, in microseconds. With Options.Window
// the syscall rate and the run-queue histogram are those of the last
// Window of the interval, where the probes that cost most are attached.
package ebpf

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"statbox/kernel"
)

// Probes is the set of eBPF programs that could be loaded and attached on
// this machine. It is a kernel.Collector, and an io.Closer for the stage
// to detach it when it stops. Collect and Close are not safe for
// concurrent use.
type Probes struct {
	log    *slog.Logger
	probes []probe
	last   time.Time

	stats    io.Closer // kernel's run-time accounting, while Options.Stats holds it on
	progTime time.Duration
	window   *window // nil unless Options.Window
}

// Options choose what OpenWith loads; the zero value loads everything.
type Options struct {
	// Without leaves probes out by name: "syscalls", "tcp", "proc",
	// "oom", "runqlat", "biolatency". The syscall counter costs every
	// system call of the machine some 100 ns (bench/RESULTS.md), and
	// runqlat every wakeup and context switch a few hundred: these two
	// are the ones to leave out on a box where that matters.
	Without []string
	// Stats turns on the kernel's run-time accounting of eBPF programs
	// (kernel.bpf_stats_enabled) while the probes are open, and Collect
	// then emits ebpf.self.prog_us. The accounting itself costs two clock
	// reads a program run, so it is off unless asked for.
	Stats bool
	// Window, when not zero, attaches the syscall counter and runqlat for
	// only the last Window of each collect interval: a 1 s window in a
	// 10 s interval costs a tenth. ebpf.syscalls.per_second is then the
	// rate in the window and ebpf.runqlat the waits in it, a sample of
	// the interval. The other probes count all the time.
	Window time.Duration
}

func (o *Options) without(probe string) bool { return slices.Contains(o.Without, probe) }

// probe is one object's programs and the maps Go reads them through.
type probe interface {
	// collect emits what the probe saw in an interval: seconds long, of
	// which its sampled programs were attached for sampled seconds.
	collect(emit func(name string, value float64), seconds, sampled float64) error
	programs() []attached
	// sampled are the programs Options.Window attaches for a part of
	// each interval only; opening is called before it attaches them.
	sampled() []*attached
	opening()
	close() error
}

// Open loads and attaches every probe it can; what cannot load is logged
// once (with the reason) and left out. It returns an error only when no
// eBPF at all can run here (the reason in the error, which wraps
// ErrUnsupported when the machine lacks root, BTF or a kernel feature).
func Open(log *slog.Logger) (*Probes, error) {
	return OpenWith(log, Options{})
}

// OpenWith is Open with the choices of o.
func OpenWith(log *slog.Logger, o Options) (*Probes, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := check(); err != nil {
		return nil, err
	}
	if err := prepare(log); err != nil {
		return nil, err
	}
	p := &Probes{log: log, last: time.Now()}
	var errs []error
	for _, opener := range []struct {
		name string
		open func(*slog.Logger, *Options) (probe, error)
	}{
		{"counters", openCounters}, // without() is asked per program
		{"runqlat", openRunqlat},
		{"biolatency", openBiolatency},
	} {
		if o.without(opener.name) {
			continue
		}
		pr, err := opener.open(log, &o)
		if err != nil {
			log.Warn("ebpf: probe left out", "probe", opener.name, "reason", err)
			errs = append(errs, fmt.Errorf("%s: %w", opener.name, err))
			continue
		}
		if pr != nil {
			p.probes = append(p.probes, pr)
		}
	}
	if len(p.probes) == 0 {
		if len(errs) == 0 {
			return nil, errors.New("every eBPF probe left out by Options.Without")
		}
		return nil, fmt.Errorf("no eBPF probe could load: %w", errors.Join(errs...))
	}
	if o.Window > 0 {
		p.window = newWindow(o.Window, p.probes, p.last)
	}
	if o.Stats {
		st, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
		if err != nil {
			log.Warn("ebpf: no run-time accounting of programs", "reason", explain(err))
		} else {
			p.stats = st
			p.progTime = p.programTime()
		}
	}
	return p, nil
}

// programTime is the CPU time all programs have run since accounting
// was turned on.
func (p *Probes) programTime() time.Duration {
	var t time.Duration
	for _, pr := range p.probes {
		for _, a := range pr.programs() {
			if st, err := a.prog.Stats(); err == nil {
				t += st.Runtime
			}
		}
	}
	return t
}

// Name returns "ebpf", the collector's name in logs and self-metrics.
func (p *Probes) Name() string { return "ebpf" }

// Collect emits, under names relative to servers.<hostname>., what the
// probes saw since the previous Collect (or since Open):
//
//	ebpf.syscalls.per_second                    system calls per second
//	ebpf.tcp.retransmits                        segments retransmitted
//	ebpf.tcp.resets_sent, ebpf.tcp.resets_received
//	ebpf.proc.fork, ebpf.proc.exec, ebpf.proc.exit  processes (not threads)
//	ebpf.oom.kills                              tasks picked by the OOM killer
//	ebpf.runqlat.{count,p50,p90,p99,max}        run-queue waits; latency in µs
//	ebpf.biolatency.<disk>.{count,p50,p90,p99,max}  block I/O, queue and device; µs
//	ebpf.self.collect_us                        what this Collect cost, in µs
//	ebpf.self.prog_us                           CPU time in the programs, µs (Options.Stats)
//
// Latencies come from log2 histograms of microseconds kept in the kernel
// (bucket i holds [2^i, 2^(i+1)) µs): a percentile is interpolated
// linearly inside the bucket that holds its rank, so it is right within
// that bucket's factor of two, and max is the upper bound of the highest
// bucket with a value. They are left out for an interval that saw nothing.
func (p *Probes) Collect(now time.Time, emit kernel.Emit) error {
	start := time.Now()
	interval := now.Sub(p.last)
	p.last = now
	var errs []error
	sampled := interval
	if p.window != nil {
		var err error
		if sampled, err = p.window.end(now); err != nil {
			errs = append(errs, err)
		}
	}
	for _, pr := range p.probes {
		if err := pr.collect(emit, interval.Seconds(), sampled.Seconds()); err != nil {
			errs = append(errs, err)
		}
	}
	if p.window != nil {
		p.window.schedule(interval)
	}
	if p.stats != nil {
		t := p.programTime()
		emit("ebpf.self.prog_us", float64((t-p.progTime).Nanoseconds())/1e3)
		p.progTime = t
	}
	emit("ebpf.self.collect_us", float64(time.Since(start).Nanoseconds())/1e3)
	return errors.Join(errs...)
}

// Close detaches every program and frees its maps.
func (p *Probes) Close() error {
	if p.window != nil {
		p.window.close()
	}
	var errs []error
	for _, pr := range p.probes {
		errs = append(errs, pr.close())
	}
	p.probes = nil
	if p.stats != nil {
		errs = append(errs, p.stats.Close())
		p.stats = nil
	}
	return errors.Join(errs...)
}

// attached is a loaded program and its link.
type attached struct {
	prog *ebpf.Program
	link link.Link
}

// loadAttach loads the program name of spec alone, with its maps taken
// from shared (so several programs of one object count into one map), and
// attaches it to its BTF tracepoint. Loading programs one by one lets a
// kernel that lacks one tracepoint keep the others.
func loadAttach(spec *ebpf.CollectionSpec, name string, shared map[string]*ebpf.Map) (attached, error) {
	one := spec.Copy()
	for n := range one.Programs {
		if n != name {
			delete(one.Programs, n)
		}
	}
	// Only the shared maps and the loader's own (.kconfig, .rodata) are
	// made: another program's map may be of a type this kernel lacks.
	for n := range one.Maps {
		if shared[n] == nil && !strings.HasPrefix(n, ".") {
			delete(one.Maps, n)
		}
	}
	if one.Programs[name] == nil {
		return attached{}, fmt.Errorf("program %s: not in the object", name)
	}
	coll, err := ebpf.NewCollectionWithOptions(one, ebpf.CollectionOptions{MapReplacements: shared})
	if err != nil {
		return attached{}, fmt.Errorf("load %s: %w", name, explain(err))
	}
	prog := coll.DetachProgram(name)
	coll.Close()
	l, err := link.AttachTracing(link.TracingOptions{Program: prog})
	if err != nil {
		prog.Close()
		return attached{}, fmt.Errorf("attach %s: %w", name, explain(err))
	}
	return attached{prog: prog, link: l}, nil
}

// newMaps creates the maps of spec that its programs share.
func newMaps(spec *ebpf.CollectionSpec, names ...string) (map[string]*ebpf.Map, error) {
	maps := make(map[string]*ebpf.Map, len(names))
	for _, n := range names {
		ms := spec.Maps[n]
		if ms == nil {
			closeMaps(maps)
			return nil, fmt.Errorf("map %s: not in the object", n)
		}
		m, err := ebpf.NewMap(ms)
		if err != nil {
			closeMaps(maps)
			return nil, fmt.Errorf("create map %s: %w", n, explain(err))
		}
		maps[n] = m
	}
	return maps, nil
}

func closeMaps(maps map[string]*ebpf.Map) {
	for _, m := range maps {
		m.Close()
	}
}

func closeAttached(as []attached) error {
	var errs []error
	for _, a := range as {
		if a.link != nil { // nil: detached by Options.Window
			errs = append(errs, a.link.Close())
		}
		errs = append(errs, a.prog.Close())
	}
	return errors.Join(errs...)
}
