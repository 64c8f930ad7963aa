package proc

import (
	"bytes"
	"fmt"
	"strconv"
	"time"

	"statbox/kernel"
)

// cpuFields are /proc/stat's columns after the cpu name, in order; a line
// has only as many as its kernel knows (steal, guest, guest_nice came
// later), and Diamond publishes only those present.
var cpuFields = [...]string{"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest", "guest_nice"}

// cpuCollector is Diamond's CPUCollector with its defaults (percore on,
// normalize and simple off): cpu.total.<field> summed over every CPU and
// cpu.cpu<N>.<field>, each in USER_HZ ticks a second (so an idle 4-CPU box
// shows total.idle near 400), and cpu.cpu_count.
type cpuCollector struct {
	o     Options
	path  string
	buf   []byte
	f     [][]byte
	cpus  []*cpuState // [0] is the total, [n+1] is cpuN
	round uint64
}

type cpuState struct {
	names [len(cpuFields)]string
	prev  [len(cpuFields)]uint64
	seen  [len(cpuFields)]bool
	round uint64 // the round it was last read in
}

// maxCPUs bounds the CPU numbers believed: Linux's NR_CPUS is at most 8192.
const maxCPUs = 1 << 13

func newCPU(o Options) *cpuCollector { return &cpuCollector{o: o, path: o.proc("stat")} }

func (c *cpuCollector) Name() string { return "cpu" }

func (c *cpuCollector) state(i int, name []byte) *cpuState {
	for len(c.cpus) <= i {
		c.cpus = append(c.cpus, nil)
	}
	st := c.cpus[i]
	if st == nil {
		st = &cpuState{}
		c.cpus[i] = st
		seg := "total"
		if i > 0 {
			seg = string(name)
		}
		for j, f := range cpuFields {
			st.names[j] = "cpu." + seg + "." + f
		}
	}
	return st
}

func (c *cpuCollector) Collect(now time.Time, emit kernel.Emit) error {
	buf, err := readFile(c.path, c.buf)
	c.buf = buf
	if err != nil {
		return err
	}
	c.round++
	count, bad := 0, 0
	for rest := buf; len(rest) > 0; {
		var line []byte
		line, rest = nextLine(rest)
		if !bytes.HasPrefix(line, []byte("cpu")) {
			continue
		}
		c.f = fields(c.f, line)
		f := c.f
		idx := 0
		if len(f[0]) > 3 {
			n, ok := parseUint(f[0][3:])
			if !ok || n >= maxCPUs {
				bad++
				continue
			}
			idx = int(n) + 1
			count++
		}
		st := c.state(idx, f[0])
		// A CPU that was offline last round starts afresh: its counters
		// did not move while it was away, and a change over several
		// intervals divided by one would be a spike.
		fresh := st.round == 0 || st.round != c.round-1
		st.round = c.round
		for j := 0; j < len(cpuFields) && j+1 < len(f); j++ {
			v, ok := parseUint(f[j+1])
			if !ok {
				bad++
				st.seen[j] = false // its next change would span two rounds
				continue
			}
			if fresh || !st.seen[j] {
				// Diamond's derivative publishes 0 for a first sample.
				st.prev[j], st.seen[j] = v, true
				emit(st.names[j], 0)
				continue
			}
			d, ok := delta(st.prev[j], v, c.o.Counts)
			st.prev[j] = v
			if ok {
				emit(st.names[j], round(float64(d)/c.o.seconds(), 2))
			}
		}
	}
	if count > 0 {
		emit("cpu.cpu_count", float64(count))
	}
	if bad > 0 {
		c.o.Counts.Malformed.Add(uint64(bad))
		return fmt.Errorf("%s: %s fields malformed, skipped", c.path, plural(bad))
	}
	return nil
}

// plural is "1" or "some": a count that does not change the error's text
// from round to round, so that the stage logs it once.
func plural(n int) string {
	if n == 1 {
		return strconv.Itoa(n)
	}
	return "some"
}
