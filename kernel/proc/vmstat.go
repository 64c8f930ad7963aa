package proc

import (
	"fmt"
	"time"

	"statbox/kernel"
)

// vmstatKeys are the /proc/vmstat counters Diamond's VMStatCollector reads.
var vmstatKeys = [...]string{"pgfault", "pgmajfault", "pgpgin", "pgpgout", "pswpin", "pswpout"}

var vmstatNames = func() (n [len(vmstatKeys)]string) {
	for i, k := range vmstatKeys {
		n[i] = "vmstat." + k
	}
	return n
}()

// vmstatCollector is Diamond's VMStatCollector: vmstat.<key> as a change a
// second over the configured interval, in the kernel's units (pgpgin and
// pgpgout in KiB, pswp* in pages).
type vmstatCollector struct {
	o    Options
	path string
	buf  []byte
	f    [][]byte
	prev [len(vmstatKeys)]uint64
	seen [len(vmstatKeys)]bool
}

func newVMStat(o Options) *vmstatCollector { return &vmstatCollector{o: o, path: o.proc("vmstat")} }

func (c *vmstatCollector) Name() string { return "vmstat" }

func (c *vmstatCollector) Collect(now time.Time, emit kernel.Emit) error {
	buf, err := readFile(c.path, c.buf)
	c.buf = buf
	if err != nil {
		return err
	}
	bad := 0
	for rest := buf; len(rest) > 0; {
		var line []byte
		line, rest = nextLine(rest)
		c.f = fields(c.f, line)
		if len(c.f) != 2 {
			continue
		}
		i := -1
		for j, k := range vmstatKeys {
			if string(c.f[0]) == k {
				i = j
				break
			}
		}
		if i < 0 {
			continue
		}
		v, ok := parseUint(c.f[1])
		if !ok {
			bad++
			c.seen[i] = false // its next change would span two rounds
			continue
		}
		if !c.seen[i] {
			c.prev[i], c.seen[i] = v, true
			emit(vmstatNames[i], 0)
			continue
		}
		d, ok := delta(c.prev[i], v, c.o.Counts)
		c.prev[i] = v
		if ok {
			emit(vmstatNames[i], round(float64(d)/c.o.seconds(), 2))
		}
	}
	if bad > 0 {
		c.o.Counts.Malformed.Add(uint64(bad))
		return fmt.Errorf("%s: %s values malformed, skipped", c.path, plural(bad))
	}
	return nil
}
