package appliance

import (
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// selfMetric is one of statbox's own metrics: a counter reported as its
// change over the interval, as carbon reports carbon.agents.<host>.*, or a
// gauge reported as it stands.
type selfMetric struct {
	name    string
	read    func() uint64
	counter bool
	last    uint64
}

// selfReporter writes statbox.<host>.* into storage every interval.
type selfReporter struct {
	prefix  string
	metrics []*selfMetric
	store   func(name []byte, ts int64, v float64)
	lastCPU time.Duration
	lastAt  time.Time
	buf     []byte
}

// selfHost is the host segment of self-metrics: the host name with dots
// made underscores, as carbon's HOSTNAME.
func selfHost() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "localhost"
	}
	return strings.ReplaceAll(h, ".", "_")
}

func (r *selfReporter) counter(name string, read func() uint64) {
	r.metrics = append(r.metrics, &selfMetric{name: name, read: read, counter: true})
}

func (r *selfReporter) gauge(name string, read func() uint64) {
	r.metrics = append(r.metrics, &selfMetric{name: name, read: read})
}

// start takes the counters' first readings, so the first report is a change.
func (r *selfReporter) start(now time.Time) {
	for _, m := range r.metrics {
		m.last = m.read()
	}
	r.lastCPU, r.lastAt = processCPU(), now
}

// report stores one point per metric at now, plus pointsPerUpdate, cpuUsage
// (percent of one core since the last report) and memUsage (resident bytes).
func (r *selfReporter) report(now time.Time) {
	ts := now.Unix()
	values := map[string]float64{}
	for _, m := range r.metrics {
		v := m.read()
		if m.counter {
			values[m.name] = float64(v - m.last)
			m.last = v
		} else {
			values[m.name] = float64(v)
		}
		r.put(m.name, ts, values[m.name])
	}
	if updates := values["updateOperations"]; updates > 0 {
		r.put("pointsPerUpdate", ts, values["committedPoints"]/updates)
	}
	cpu := processCPU()
	if wall := now.Sub(r.lastAt); wall > 0 {
		r.put("cpuUsage", ts, 100*float64(cpu-r.lastCPU)/float64(wall))
	}
	r.lastCPU, r.lastAt = cpu, now
	r.put("memUsage", ts, float64(residentBytes()))
}

func (r *selfReporter) put(name string, ts int64, v float64) {
	r.buf = append(append(r.buf[:0], r.prefix...), name...)
	r.store(r.buf, ts, v)
}

// processCPU is the user and system time the process has used.
func processCPU() time.Duration {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// residentBytes is the process's resident set, from /proc/self/statm.
func residentBytes() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	var pages uint64
	for _, c := range f[1] {
		pages = pages*10 + uint64(c-'0')
	}
	return pages * uint64(os.Getpagesize())
}
