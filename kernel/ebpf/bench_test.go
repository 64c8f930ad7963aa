package ebpf

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// BenchmarkSyscallProbe measures what the probes add to a system call: a
// loop of getpid (the cheapest call, so the worst ratio) or of 1-byte
// reads of /dev/zero, timed with the probes detached and attached in
// alternating rounds of the same run, so that the machine's other load
// falls on both sides alike, and timed in the thread's own CPU time
// (threadCPU) so that it falls on neither. "empty" attaches a program that
// does nothing to the same tracepoint (the floor: the kernel's syscall
// tracing path and the program call), "sys_enter" the syscall counter
// alone, "all" every probe that Open loads.
//
// It reports ns per call off and on, the overhead in percent of the call,
// and in percent of one core at 100,000 calls/s (a busy server; an idle
// one makes tens of thousands). The time is spent in the calling task, so
// the cost scales with the rate of calls, not with the collect interval.
//
//	go test -run '^$' -bench SyscallProbe -benchtime 2000000x ./kernel/ebpf
func BenchmarkSyscallProbe(b *testing.B) {
	zero, err := os.Open("/dev/zero")
	if err != nil {
		b.Fatal(err)
	}
	defer zero.Close()
	fd := int(zero.Fd())
	var one [1]byte
	calls := []struct {
		name string
		call func()
	}{
		{"getpid", func() { syscall.Getpid() }},
		{"read", func() { syscall.Read(fd, one[:]) }},
	}
	probeSets := []struct {
		name   string
		attach func(b *testing.B) io.Closer
	}{
		{"empty", attachEmpty},
		{"sys_enter", attachSysEnter},
		{"all", attachAll},
	}
	for _, ps := range probeSets {
		for _, c := range calls {
			b.Run(ps.name+"/"+c.name, func(b *testing.B) {
				b.StopTimer()
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				const rounds = 10
				per := b.N/rounds + 1
				var off, on time.Duration
				for range rounds {
					t0 := threadCPU()
					for range per {
						c.call()
					}
					off += threadCPU() - t0
					p := ps.attach(b)
					t0 = threadCPU()
					for range per {
						c.call()
					}
					on += threadCPU() - t0
					p.Close()
				}
				n := float64(rounds * per)
				offNs, onNs := float64(off.Nanoseconds())/n, float64(on.Nanoseconds())/n
				b.ReportMetric(0, "ns/op")
				b.ReportMetric(offNs, "ns/call-off")
				b.ReportMetric(onNs, "ns/call-on")
				b.ReportMetric((onNs-offNs)/offNs*100, "%overhead")
				b.ReportMetric((onNs-offNs)*1e5/1e9*100, "%core@100k/s")
			})
		}
	}
}

// threadCPU is the CPU time of the calling thread, kernel time included:
// unlike the wall clock it leaves out the time other tasks of a shared
// machine (and the hypervisor, with steal accounting) take from it.
func threadCPU() time.Duration {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return time.Duration(ts.Nano())
}

// attachEmpty attaches to raw_syscalls:sys_enter a program that returns
// at once.
func attachEmpty(b *testing.B) io.Closer {
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type:         ebpf.Tracing,
		AttachType:   ebpf.AttachTraceRawTp,
		AttachTo:     "sys_enter",
		License:      "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
	})
	if err != nil {
		b.Fatal(err)
	}
	l, err := link.AttachTracing(link.TracingOptions{Program: prog})
	if err != nil {
		b.Fatal(err)
	}
	return closerFunc(func() error { return errors.Join(l.Close(), prog.Close()) })
}

// attachSysEnter loads and attaches the syscall counter alone.
func attachSysEnter(b *testing.B) io.Closer {
	spec, err := loadCounters()
	if err != nil {
		b.Fatal(err)
	}
	maps, err := newMaps(spec, "counters")
	if err != nil {
		b.Fatal(err)
	}
	a, err := loadAttach(spec, "sys_enter", maps)
	if err != nil {
		b.Fatal(err)
	}
	return closerFunc(func() error {
		err := closeAttached([]attached{a})
		closeMaps(maps)
		return err
	})
}

func attachAll(b *testing.B) io.Closer {
	p, err := Open(slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	return closerFunc(p.Close)
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// BenchmarkCollect is one collection round of every probe: what the
// collector spends each interval, in time and allocations.
func BenchmarkCollect(b *testing.B) {
	p, err := Open(slog.New(slog.DiscardHandler))
	if err != nil {
		if !inCI {
			b.Skip(err)
		}
		b.Fatal(err)
	}
	defer p.Close()
	emit := func(string, float64) {}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(10 * time.Second)
		p.Collect(now, emit)
	}
}

// BenchmarkProbeCPU is what all the probes cost the machine as it runs,
// whatever it runs: each op is one 10 s collection interval with the
// kernel's run-time accounting on (Options.Stats), reported as percent of
// one core spent in the programs, plus the Collect round itself; with
// every probe attached all the time, and with a 1 s Options.Window. The
// accounting adds two clock reads to every run, so this overstates a
// little; the per-program figures are in `bpftool prog show`.
//
//	go test -run '^$' -bench ProbeCPU -benchtime 3x -v ./kernel/ebpf
func BenchmarkProbeCPU(b *testing.B) {
	b.Run("always", func(b *testing.B) { probeCPU(b, Options{Stats: true}) })
	b.Run("window1s", func(b *testing.B) { probeCPU(b, Options{Stats: true, Window: time.Second}) })
}

func probeCPU(b *testing.B, o Options) {
	p, err := OpenWith(slog.New(slog.DiscardHandler), o)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	var collectUs float64
	emit := func(n string, v float64) {
		if n == "ebpf.self.collect_us" {
			collectUs += v
		}
	}
	interval := func() time.Time {
		time.Sleep(10 * time.Second)
		now := time.Now()
		p.Collect(now, emit)
		return now
	}
	// A first interval so that the window, which follows the length of
	// the previous one, is where it will stay.
	p.Collect(time.Now(), func(string, float64) {})
	start := interval()
	progs, before := map[string]*ebpf.Program{}, map[string]ebpf.ProgramStats{}
	for _, pr := range p.probes {
		for _, a := range pr.programs() {
			info, err1 := a.prog.Info()
			st, err2 := a.prog.Stats()
			if err1 == nil && err2 == nil {
				progs[info.Name], before[info.Name] = a.prog, *st
			}
		}
	}
	collectUs = 0
	end := start
	for b.Loop() {
		end = interval()
	}
	collect := time.Duration(collectUs * 1e3)
	seconds := end.Sub(start).Seconds()
	// Where the time went, program by program (-v shows it).
	var total time.Duration
	for name, prog := range progs {
		st, err := prog.Stats()
		if err != nil {
			continue
		}
		runs, rt := st.RunCount-before[name].RunCount, st.Runtime-before[name].Runtime
		total += rt
		if runs > 0 {
			b.Logf("%-20s %9.0f runs/s %6.0f ns/run %6.3f %%core", name,
				float64(runs)/seconds, float64(rt.Nanoseconds())/float64(runs), rt.Seconds()/seconds*100)
		}
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(total.Seconds()/seconds*100, "%core-programs")
	b.ReportMetric((total+collect).Seconds()/seconds*100, "%core-total")
	b.ReportMetric(float64(collect.Microseconds())/float64(b.N), "us/collect")
}
