package proc

import (
	"bytes"
	"fmt"
	"runtime"
	"time"

	"statbox/kernel"
)

// loadavgCollector is Diamond's LoadAverageCollector: loadavg.01, .05, .15,
// each also divided by the online CPUs (_normalized), and the running and
// total scheduling entities of /proc/loadavg's fourth field.
type loadavgCollector struct {
	o          Options
	path, cpus string
	buf, cbuf  []byte
	f          [][]byte
}

func newLoadavg(o Options) *loadavgCollector {
	return &loadavgCollector{o: o, path: o.proc("loadavg"), cpus: o.Sys + "/devices/system/cpu/online"}
}

func (c *loadavgCollector) Name() string { return "loadavg" }

var loadNames = [3][2]string{{"loadavg.01", "loadavg.01_normalized"}, {"loadavg.05", "loadavg.05_normalized"}, {"loadavg.15", "loadavg.15_normalized"}}

func (c *loadavgCollector) Collect(now time.Time, emit kernel.Emit) error {
	buf, err := readFile(c.path, c.buf)
	c.buf = buf
	if err != nil {
		return err
	}
	line, _ := nextLine(buf)
	c.f = fields(c.f, line)
	f := c.f
	if len(f) < 4 {
		c.o.Counts.Malformed.Add(1)
		return fmt.Errorf("%s: %d fields, want 5: %w", c.path, len(f), errMalformed)
	}
	ncpu := c.onlineCPUs()
	for i := range 3 {
		v, ok := parseDecimal(f[i])
		if !ok {
			c.o.Counts.Malformed.Add(1)
			return fmt.Errorf("%s: load %q: %w", c.path, f[i], errMalformed)
		}
		emit(loadNames[i][0], round(v, 2))
		emit(loadNames[i][1], round(v/float64(ncpu), 2))
	}
	run, total, ok := bytes.Cut(f[3], []byte("/"))
	r, ok1 := parseUint(run)
	t, ok2 := parseUint(total)
	if !ok || !ok1 || !ok2 {
		c.o.Counts.Malformed.Add(1)
		return fmt.Errorf("%s: processes %q: %w", c.path, f[3], errMalformed)
	}
	emit("loadavg.processes_running", float64(r))
	emit("loadavg.processes_total", float64(t))
	return nil
}

// onlineCPUs is what Python's multiprocessing.cpu_count() gives Diamond:
// sysconf(_SC_NPROCESSORS_ONLN), which glibc reads from
// /sys/devices/system/cpu/online ("0-3,6"). It is not Go's NumCPU, which
// is the affinity mask. Without sysfs, NumCPU it is.
func (c *loadavgCollector) onlineCPUs() int {
	buf, err := readFile(c.cpus, c.cbuf)
	c.cbuf = buf
	if err != nil {
		return runtime.NumCPU()
	}
	n := countCPUList(bytes.TrimSpace(buf))
	if n <= 0 {
		return runtime.NumCPU()
	}
	return n
}

// countCPUList counts the CPUs of a kernel cpu list ("0-3,6,8-9"); -1 if
// it does not parse.
func countCPUList(b []byte) int {
	n := 0
	for len(b) > 0 {
		var part []byte
		part, b, _ = bytes.Cut(b, []byte(","))
		lo, hi, isRange := bytes.Cut(part, []byte("-"))
		l, ok := parseUint(lo)
		if !ok {
			return -1
		}
		h := l
		if isRange {
			if h, ok = parseUint(hi); !ok || h < l {
				return -1
			}
		}
		n += int(h-l) + 1
	}
	return n
}
