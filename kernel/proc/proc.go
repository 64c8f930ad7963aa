package proc

import (
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"statbox/kernel"
)

// Options configure the collectors. The zero value reads the real /proc,
// /sys and /dev at Diamond's own default interval of 300 s; statbox sets
// Interval to --collect-interval.
type Options struct {
	Proc string // procfs mount point; "" is /proc
	Sys  string // sysfs mount point; "" is /sys
	Dev  string // devtmpfs mount point, for /dev/disk/by-label; "" is /dev
	// Interval is the configured interval: cpu, vmstat and network divide
	// a counter's change by it, as Diamond does, not by the time measured.
	Interval time.Duration
	Counts   *Counts // what was skipped or repaired; nil counts nowhere
	// Statfs is statfs(2); tests give their own.
	Statfs func(path string, st *unix.Statfs_t) error
	// StatfsTimeout bounds a network file system's statfs, which blocks
	// while its server is away; 0 is a second, or a quarter of the
	// interval if that is shorter, so that the round still ends in time.
	StatfsTimeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.Proc == "" {
		o.Proc = "/proc"
	}
	if o.Sys == "" {
		o.Sys = "/sys"
	}
	if o.Dev == "" {
		o.Dev = "/dev"
	}
	if o.Interval <= 0 {
		o.Interval = 300 * time.Second
	}
	if o.Counts == nil {
		o.Counts = new(Counts)
	}
	if o.Statfs == nil {
		o.Statfs = unix.Statfs
	}
	if o.StatfsTimeout <= 0 {
		o.StatfsTimeout = min(time.Second, o.Interval/4)
	}
	return o
}

func (o Options) proc(name string) string { return filepath.Join(o.Proc, name) }

// Collectors are Diamond's default collectors (cpu, memory, loadavg,
// vmstat, diskspace, iostat) and its network and sockstat collectors, in
// that order. Each keeps the state its rates need, so one set serves one
// stage.
func Collectors(o Options) []kernel.Collector {
	o = o.withDefaults()
	return []kernel.Collector{
		newCPU(o), newMemory(o), newLoadavg(o), newVMStat(o),
		newDiskSpace(o), newIOStat(o), newNetwork(o), newSockets(o),
	}
}

// seconds is the configured interval in seconds, Diamond's divisor.
func (o Options) seconds() float64 { return o.Interval.Seconds() }
