package proc

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"statbox/kernel"
)

// procFiles are the files the /proc collectors (all but diskspace) read.
var procFiles = []string{"stat", "meminfo", "loadavg", "vmstat", "diskstats", "net/dev", "net/sockstat", "net/sockstat6"}

// perCollector builds the collectors that read only procFiles, by name.
func perCollector(o Options) map[string]kernel.Collector {
	o = o.withDefaults()
	m := map[string]kernel.Collector{}
	for _, c := range []kernel.Collector{newCPU(o), newMemory(o), newLoadavg(o), newVMStat(o), newIOStat(o), newNetwork(o), newSockets(o)} {
		m[c.Name()] = c
	}
	return m
}

// checkRounds runs the /proc collectors over the rounds (directories
// holding procFiles), 10 s apart, and checks every round against what the
// test computes from the same files.
func checkRounds(t *testing.T, ncpu int, rounds ...string) {
	t.Helper()
	dir, sys := t.TempDir(), t.TempDir()
	writeTree(t, sys, map[string]string{"devices/system/cpu/online": "0-" + strconv.Itoa(ncpu-1) + "\n"})
	cs := perCollector(Options{Proc: dir, Sys: sys, Interval: interval})
	prev := ""
	for i, r := range rounds {
		copyTree(t, dir, r)
		now := t0.Add(time.Duration(i) * interval)
		sec := interval.Seconds()
		for name, want := range map[string]map[string]float64{
			"cpu":     expectCPU(t, prev, r, sec),
			"memory":  expectMemory(t, r),
			"loadavg": expectLoadavg(t, r, float64(ncpu)),
			"vmstat":  expectVMStat(t, prev, r, sec),
			"iostat":  expectIOStat(t, prev, r, sec),
			"network": expectNetwork(t, prev, r, sec),
			"sockets": expectSockets(t, r),
		} {
			got, err := collect(t, cs[name], now)
			if err != nil {
				t.Errorf("round %d %s: %v", i, name, err)
			}
			t.Run(name+"/round"+strconv.Itoa(i), func(t *testing.T) { same(t, got, want) })
		}
		prev = r
	}
}

// TestCapturedRounds: two rounds of this project's build VM, one second
// apart with some direct I/O between them.
func TestCapturedRounds(t *testing.T) {
	checkRounds(t, 2, "testdata/vm/1", "testdata/vm/2")
}

// TestLiveProc: the machine's own /proc, read twice into snapshots so that
// the collectors and the test see the same bytes.
func TestLiveProc(t *testing.T) {
	var snaps []string
	for range 2 {
		d := t.TempDir()
		for _, f := range procFiles {
			b, err := os.ReadFile(filepath.Join("/proc", f))
			if err != nil {
				missing(t, "/proc/%s: %v", f, err)
			}
			writeTree(t, d, map[string]string{f: string(b)})
		}
		snaps = append(snaps, d)
		// Some work between the snapshots so that counters move; the
		// test does not depend on how much.
		os.WriteFile(filepath.Join(d, "spin"), make([]byte, 1<<20), 0o644)
	}
	checkRounds(t, onlineCPUsForTest(t), snaps...)
}

// missing skips for lack of a kernel feature, or fails with CI=true.
func missing(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// onlineCPUsForTest counts /sys/devices/system/cpu/online's CPUs its own way.
func onlineCPUsForTest(t *testing.T) int {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		missing(t, "sysfs: %v", err)
	}
	n := 0
	for _, part := range strings.Split(strings.TrimSpace(string(b)), ",") {
		lo, hi, ok := strings.Cut(part, "-")
		if !ok {
			hi = lo
		}
		n += int(num(t, hi)-num(t, lo)) + 1
	}
	return n
}
