package proc

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"time"

	"statbox/kernel"
)

// iostatDevices is Diamond's DiskUsageCollector "devices" default, applied
// with re.match: anchored at the start, so partitions (sda1, nvme0n1p1)
// count too.
var iostatDevices = regexp.MustCompile(`^(?:PhysicalDrive[0-9]+$|md[0-9]+$|sd[a-z]+[0-9]*$|x?vd[a-z]+[0-9]*$|disk[0-9]+$|nvme[0-9]+n[0-9]+(p[0-9]+)?$|dm\-[0-9]+$)`)

// The /proc/diskstats columns Diamond reads, after major, minor and name
// (Documentation/admin-guide/iostats.rst); discard and flush columns of
// newer kernels are ignored.
const (
	dsReads = iota
	dsReadsMerged
	dsReadSectors
	dsReadMs
	dsWrites
	dsWritesMerged
	dsWriteSectors
	dsWriteMs
	dsInProgress
	dsIOMs
	dsIOMsWeighted
	dsColumns
)

// iostatMetrics are the names published per device, in iostatCollector's
// order of values.
var iostatMetrics = [...]string{
	"reads", "reads_merged", "reads_byte", "reads_milliseconds",
	"writes", "writes_merged", "writes_byte", "writes_milliseconds",
	"io_in_progress", "io_milliseconds", "io_milliseconds_weighted",
	"read_requests_merged_per_second", "write_requests_merged_per_second",
	"reads_per_second", "writes_per_second", "read_byte_per_second", "write_byte_per_second",
	"average_request_size_byte", "io", "average_queue_length", "util_percentage",
	"read_await", "write_await", "iops", "service_time", "await", "concurrent_io",
}

// iostatCollector is Diamond's DiskUsageCollector (path "iostat"). Its bare
// counters (reads, writes_byte, io, ...) are changes over the interval, not
// a second; the *_per_second, iops, average_queue_length and
// util_percentage divide by the time measured between rounds. A device is
// published only in a round it did I/O, so idle disks and the first round
// write nothing, as Diamond's send_zero=False.
type iostatCollector struct {
	o     Options
	path  string
	buf   []byte
	f     [][]byte
	devs  map[string]*diskState
	last  time.Time
	round uint64
}

type diskState struct {
	wanted bool
	names  [len(iostatMetrics)]string
	prev   [dsColumns]uint64
	round  uint64
}

func newIOStat(o Options) *iostatCollector {
	return &iostatCollector{o: o, path: o.proc("diskstats"), devs: map[string]*diskState{}}
}

func (c *iostatCollector) Name() string { return "iostat" }

func (c *iostatCollector) Collect(now time.Time, emit kernel.Emit) error {
	buf, err := readFile(c.path, c.buf)
	c.buf = buf
	if err != nil {
		return err
	}
	// Diamond measures the time since its last run, and uses the
	// configured interval when there is none (or the clock went back).
	elapsed := c.o.seconds()
	if !c.last.IsZero() {
		if d := now.Sub(c.last).Seconds(); d > 0 {
			elapsed = d
		}
	}
	c.last = now
	c.round++
	bad := 0
	for rest := buf; len(rest) > 0; {
		var line []byte
		line, rest = nextLine(rest)
		c.f = fields(c.f, line)
		f := c.f
		// Linux before 2.6.25 gave partitions 4 columns; Diamond skips them.
		if len(f) < 3+dsColumns {
			continue
		}
		name := f[2]
		if bytes.HasPrefix(name, []byte("ram")) || bytes.HasPrefix(name, []byte("loop")) {
			continue
		}
		st := c.devs[string(name)]
		if st == nil {
			st = newDiskState(string(name))
			c.devs[string(name)] = st
		}
		fresh := st.round == 0 || st.round != c.round-1
		st.round = c.round
		if !st.wanted {
			continue
		}
		var cur [dsColumns]uint64
		good := true
		for i := range cur {
			var ok bool
			if cur[i], ok = parseUint(f[3+i]); !ok {
				good = false
			}
		}
		if !good {
			bad++
			fresh = true
			st.round = 0 // start afresh next round
			continue
		}
		prev := st.prev
		st.prev = cur
		if fresh {
			continue // Diamond's first derivatives are 0: no I/O, nothing published
		}
		var d [dsColumns]float64
		ok := true
		for i := range cur {
			if i == dsInProgress {
				d[i] = float64(cur[i]) // a gauge
				continue
			}
			n, good := delta(prev[i], cur[i], c.o.Counts)
			ok = ok && good
			d[i] = float64(n)
		}
		if !ok {
			continue // a reset: this round's changes are unknown
		}
		c.publish(st, &d, elapsed, emit)
	}
	for name, st := range c.devs {
		if st.round != c.round {
			delete(c.devs, name)
		}
	}
	if bad > 0 {
		c.o.Counts.Malformed.Add(uint64(bad))
		return fmt.Errorf("%s: %s devices malformed, skipped", c.path, plural(bad))
	}
	return nil
}

func newDiskState(name string) *diskState {
	st := &diskState{wanted: iostatDevices.MatchString(name)}
	if st.wanted {
		// Diamond turns the / of cciss/c0d0 into _; the kernel already
		// prints it as !, which is kept.
		dev := strings.ReplaceAll(name, "/", "_")
		for i, m := range iostatMetrics {
			st.names[i] = "iostat." + dev + "." + m
		}
	}
	return st
}

// publish computes Diamond's derived figures from one interval's changes
// and emits every value with Diamond's precision 3, if the device did I/O.
func (c *iostatCollector) publish(st *diskState, d *[dsColumns]float64, elapsed float64, emit kernel.Emit) {
	reads, writes := d[dsReads], d[dsWrites]
	io := reads + writes
	if io <= 0 {
		return
	}
	// Sectors are 512 bytes whatever the device's block size (iostats.rst).
	rb, wb := d[dsReadSectors]*512, d[dsWriteSectors]*512
	serviceTime := d[dsIOMs] / io
	var readAwait, writeAwait float64
	if reads > 0 {
		readAwait = d[dsReadMs] / reads
	}
	if writes > 0 {
		writeAwait = d[dsWriteMs] / writes
	}
	v := [len(iostatMetrics)]float64{
		reads, d[dsReadsMerged], rb, d[dsReadMs],
		writes, d[dsWritesMerged], wb, d[dsWriteMs],
		d[dsInProgress], d[dsIOMs], d[dsIOMsWeighted],
		d[dsReadsMerged] / elapsed, d[dsWritesMerged] / elapsed,
		reads / elapsed, writes / elapsed, rb / elapsed, wb / elapsed,
		(rb + wb) / io, io, d[dsIOMsWeighted] / elapsed / 1000, d[dsIOMs] / elapsed / 10,
		readAwait, writeAwait, io / elapsed, serviceTime, (d[dsReadMs] + d[dsWriteMs]) / io,
		// http://www.scribd.com/doc/15013525 page 28, as Diamond cites it.
		(reads/elapsed + writes/elapsed) * (serviceTime / 1000),
	}
	for i, x := range v {
		emit(st.names[i], round(x, 3))
	}
}
