package ebpf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"statbox/kernel"
)

// The collection stage runs it, and closes it when it stops.
var (
	_ kernel.Collector = (*Probes)(nil)
	_ io.Closer        = (*Probes)(nil)
)

// With CI=true a test fails where it would skip: CI is set up to run them.
var inCI = os.Getenv("CI") == "true"

func TestMain(m *testing.M) {
	if os.Getenv(oomChildEnv) != "" {
		oomChild()
		return
	}
	if os.Getenv(openChildEnv) != "" {
		_, err := Open(nil)
		fmt.Println(err)
		return
	}
	code := m.Run()
	if shared != nil {
		shared.Close()
	}
	os.Exit(code)
}

var (
	sharedOnce sync.Once
	shared     *Probes
	sharedErr  error
)

// probes opens the probes once for the whole test binary: loading takes
// most of a second of CPU, and every test reads intervals of its own.
func probes(t testing.TB) *Probes {
	t.Helper()
	sharedOnce.Do(func() {
		shared, sharedErr = Open(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	})
	if sharedErr != nil {
		if errors.Is(sharedErr, ErrUnsupported) && !inCI {
			t.Skip(sharedErr)
		}
		t.Fatal(sharedErr)
	}
	return shared
}

// interval is what one Collect emitted.
type interval map[string]float64

// measure runs work between two Collects and returns what the second
// emitted, with the interval's length in seconds.
func measure(t *testing.T, work func()) (interval, float64) {
	t.Helper()
	p := probes(t)
	start := time.Now()
	if err := p.Collect(start, func(string, float64) {}); err != nil {
		t.Fatal(err)
	}
	work()
	end := time.Now()
	got := interval{}
	if err := p.Collect(end, func(n string, v float64) { got[n] = v }); err != nil {
		t.Fatal(err)
	}
	return got, end.Sub(start).Seconds()
}

// need fails the test unless the interval counted at least min of name.
func need(t *testing.T, got interval, name string, min float64) {
	t.Helper()
	v, ok := got[name]
	switch {
	case !ok:
		t.Errorf("%s not emitted; got %v", name, got)
	case v < min:
		t.Errorf("%s = %g, want at least %g", name, v, min)
	}
}

func TestOpenName(t *testing.T) {
	if name := probes(t).Name(); name != "ebpf" {
		t.Errorf("Name() = %q", name)
	}
}

// Every metric of every probe is emitted each interval (percentiles when
// the interval saw something), and only under ebpf.
func TestCollectNames(t *testing.T) {
	got, _ := measure(t, func() { time.Sleep(50 * time.Millisecond) })
	for _, n := range []string{
		"ebpf.syscalls.per_second", "ebpf.tcp.retransmits", "ebpf.tcp.resets_sent",
		"ebpf.tcp.resets_received", "ebpf.proc.fork", "ebpf.proc.exec", "ebpf.proc.exit",
		"ebpf.oom.kills", "ebpf.runqlat.count", "ebpf.self.collect_us",
	} {
		if _, ok := got[n]; !ok {
			t.Errorf("%s missing", n)
		}
	}
	for n := range got {
		if !strings.HasPrefix(n, "ebpf.") {
			t.Errorf("%s: outside ebpf.", n)
		}
	}
}

func TestSyscalls(t *testing.T) {
	const n = 200_000
	got, seconds := measure(t, func() {
		for range n {
			syscall.Getpid() // a raw system call each time: Go caches no pid
		}
	})
	// Other tasks' calls count too, so at least n.
	if calls := got["ebpf.syscalls.per_second"] * seconds; calls < n {
		t.Errorf("counted %.0f system calls in %.3fs, want at least %d", calls, seconds, n)
	}
}

func TestProcForkExecExit(t *testing.T) {
	const n = 20
	got, _ := measure(t, func() {
		for range n {
			if err := exec.Command("/bin/true").Run(); err != nil {
				t.Fatal(err)
			}
		}
	})
	need(t, got, "ebpf.proc.fork", n)
	need(t, got, "ebpf.proc.exec", n)
	need(t, got, "ebpf.proc.exit", n)
}

// Run-queue waits happen on any busy machine; the test makes some of its
// own by waking more goroutines than there are cores, and checks the
// summary is a well-formed distribution.
func TestRunqlat(t *testing.T) {
	got, _ := measure(t, func() {
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 20 {
					time.Sleep(time.Millisecond)
					for i := 0; i < 100_000; i++ {
						_ = i * i
					}
				}
			})
		}
		wg.Wait()
	})
	need(t, got, "ebpf.runqlat.count", 1)
	p50, p90, p99, max := got["ebpf.runqlat.p50"], got["ebpf.runqlat.p90"], got["ebpf.runqlat.p99"], got["ebpf.runqlat.max"]
	if !(0 <= p50 && p50 <= p90 && p90 <= p99 && p99 <= max && max > 0) {
		t.Errorf("runqlat p50 %g p90 %g p99 %g max %g: not ordered", p50, p90, p99, max)
	}
}

// A collection round costs a handful of small allocations (cilium/ebpf's
// per-CPU lookups and map iteration make them), whatever happened in the
// interval: none grows with the events counted.
func TestCollectAllocs(t *testing.T) {
	p := probes(t)
	emit := func(string, float64) {}
	now := time.Now()
	p.Collect(now, emit) // names of new disks are made once
	allocs := testing.AllocsPerRun(20, func() {
		now = now.Add(10 * time.Second)
		p.Collect(now, emit)
	})
	// cilium/ebpf's map iterator allocates a little per entry: one entry
	// per disk.
	if limit := float64(12 + 4*len(p.disks())); allocs > limit {
		t.Errorf("Collect: %.0f allocations a round, want at most %.0f", allocs, limit)
	}
}

// Options.Without leaves probes out; Options.Stats adds the programs' own
// CPU time.
func TestOpenWith(t *testing.T) {
	probes(t) // skips or fails as every test here does without eBPF
	p, err := OpenWith(nil, Options{
		Without: []string{"syscalls", "tcp", "oom", "runqlat", "biolatency"},
		Stats:   true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	start := time.Now()
	p.Collect(start, func(string, float64) {})
	if err := exec.Command("/bin/true").Run(); err != nil {
		t.Fatal(err)
	}
	got := interval{}
	p.Collect(time.Now(), func(n string, v float64) { got[n] = v })
	for n := range got {
		if !strings.HasPrefix(n, "ebpf.proc.") && !strings.HasPrefix(n, "ebpf.self.") {
			t.Errorf("%s emitted, though left out", n)
		}
	}
	need(t, got, "ebpf.proc.exec", 1)
	need(t, got, "ebpf.self.prog_us", 0)
	if _, err := OpenWith(nil, Options{Without: []string{"syscalls", "tcp", "proc", "oom", "runqlat", "biolatency"}}); err == nil {
		t.Error("OpenWith with every probe left out: no error")
	}
}

// disks is how many disks biolatency has seen.
func (p *Probes) disks() []uint32 {
	var devs []uint32
	for _, pr := range p.probes {
		if b, ok := pr.(*biolatency); ok {
			for dev := range b.disks {
				devs = append(devs, dev)
			}
		}
	}
	return devs
}

// Open uses task storage where the kernel has it (5.11); the hash by pid
// that older kernels get must measure as well.
func TestRunqlatVariants(t *testing.T) {
	probes(t)
	spec, err := loadRunqlat()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct{ start, suffix string }{{"runq_ts", "_ts"}, {"runq_start", ""}} {
		r, err := openRunqlatWith(spec, len(shared.probes[0].(*counters).percpu), v.start, v.suffix)
		if err != nil {
			t.Fatalf("%s: %v", v.start, err)
		}
		for range 20 {
			time.Sleep(time.Millisecond) // each wakes this thread: a wait to measure
		}
		got := interval{}
		r.collect(func(n string, v float64) { got[n] = v }, 1, 1)
		r.close()
		need(t, got, "ebpf.runqlat.count", 1)
	}
}

// openChildEnv makes the test binary, started again by TestOpenNotRoot,
// print what Open returns.
const openChildEnv = "STATBOX_EBPF_OPEN_CHILD"

// Without root Open says so, rather than passing on the kernel's EPERM.
func TestOpenNotRoot(t *testing.T) {
	probes(t)
	// The test binary sits in go's private build directory: a copy that
	// nobody may run.
	// A directory of its own under the temporary one, world-readable;
	// t.TempDir's are private.
	dir, err := os.MkdirTemp("", "statbox-ebpf-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "ebpf.test")
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), openChildEnv+"=1")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !strings.Contains(string(out), "eBPF unavailable: not root") {
		t.Errorf("Open as nobody: %s", out)
	}
}

// Options.Window detaches the syscall counter and runqlat after each
// Collect and attaches them again Window before the next is due; the
// syscall rate is taken over the window.
func TestWindow(t *testing.T) {
	probes(t)
	p, err := OpenWith(nil, Options{Without: []string{"tcp", "proc", "oom", "biolatency"}, Window: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// An interval of 400 ms: the next window opens 300 ms after this
	// Collect, so right after it the programs are off.
	time.Sleep(400 * time.Millisecond)
	p.Collect(time.Now(), func(string, float64) {})
	if p.window.isOn() {
		t.Fatal("programs attached right after Collect")
	}
	for deadline := time.Now().Add(5 * time.Second); !p.window.isOn(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("window never opened")
		}
	}
	const n = 100_000
	for range n {
		syscall.Getpid()
	}
	got := interval{}
	end := time.Now()
	p.Collect(end, func(name string, v float64) { got[name] = v })
	p.window.mu.Lock()
	window := end.Sub(p.window.from).Seconds()
	p.window.mu.Unlock()
	if calls := got["ebpf.syscalls.per_second"] * window; calls < n {
		t.Errorf("counted %.0f system calls in the %.3fs window, want at least %d", calls, window, n)
	}
	need(t, got, "ebpf.runqlat.count", 1)
	if p.window.isOn() {
		t.Error("programs still attached after Collect")
	}
}
