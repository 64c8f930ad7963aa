package proc

import (
	"bytes"
	"fmt"
	"time"

	"statbox/kernel"
)

// memoryKeys are the /proc/meminfo lines Diamond's MemoryCollector
// publishes when "detailed" is off, under their own names.
var memoryKeys = [...]string{"MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "Active", "Dirty",
	"Inactive", "Shmem", "SwapTotal", "SwapFree", "SwapCached", "VmallocTotal", "VmallocUsed", "VmallocChunk", "Committed_AS"}

var memoryNames = func() (n [len(memoryKeys)]string) {
	for i, k := range memoryKeys {
		n[i] = "memory." + k
	}
	return n
}()

// memoryCollector is Diamond's MemoryCollector: memory.<Key> in bytes for
// the keys above, in /proc/meminfo's order, and memory.MemUsedPercentage.
type memoryCollector struct {
	o    Options
	path string
	buf  []byte
	f    [][]byte
}

func newMemory(o Options) *memoryCollector { return &memoryCollector{o: o, path: o.proc("meminfo")} }

func (c *memoryCollector) Name() string { return "memory" }

func (c *memoryCollector) Collect(now time.Time, emit kernel.Emit) error {
	buf, err := readFile(c.path, c.buf)
	c.buf = buf
	if err != nil {
		return err
	}
	var total, avail uint64
	var haveTotal, haveAvail bool
	bad := 0
	for rest := buf; len(rest) > 0; {
		var line []byte
		line, rest = nextLine(rest)
		// Diamond takes only "Name: value unit" lines (HugePages_* have no unit).
		c.f = fields(c.f, line)
		if len(c.f) != 3 {
			continue
		}
		key := bytes.TrimSuffix(c.f[0], []byte(":"))
		i := memoryIndex(key)
		if i < 0 {
			continue
		}
		v, ok := parseUint(c.f[1])
		if !ok || string(c.f[2]) != "kB" {
			bad++
			continue
		}
		switch i {
		case 0:
			total, haveTotal = v, true
		case 2:
			avail, haveAvail = v, true
		}
		emit(memoryNames[i], float64(v)*1024)
	}
	// MemAvailable exists from Linux 3.14; without it Diamond publishes no
	// percentage. Diamond prints it with precision 0: a whole percent.
	if haveTotal && haveAvail && total > 0 && avail <= total {
		emit("memory.MemUsedPercentage", round(round(100*float64(total-avail)/float64(total), 2), 0))
	}
	if bad > 0 {
		c.o.Counts.Malformed.Add(uint64(bad))
		return fmt.Errorf("%s: %s lines malformed, skipped", c.path, plural(bad))
	}
	return nil
}

func memoryIndex(key []byte) int {
	for i, k := range memoryKeys {
		if string(key) == k {
			return i
		}
	}
	return -1
}
