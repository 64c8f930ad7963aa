// Package kernel is host collection: it runs the collectors of host metrics
// (the /proc readers in kernel/proc, the eBPF probes in kernel/ebpf) once per
// interval and stores their samples under servers.<host>., as Diamond did.
package kernel

import (
	"os"
	"strings"
	"time"
)

// Emit hands one sample to storage; name is relative to servers.<host>.
// (e.g. "cpu.total.user"). The name is not kept after Emit returns, so a
// collector may pass a string it reuses.
type Emit func(name string, value float64)

// Collector is one source of host metrics, called once per interval from one
// goroutine. Collect emits what it could read and returns an error for what
// it could not; an error does not stop the other collectors or later rounds.
type Collector interface {
	Name() string
	Collect(now time.Time, emit Emit) error
}

// Hostname is the host segment Diamond puts after servers.: its default
// hostname_method "smart" takes the name up to its first dot (fqdn_short,
// and hostname_short when that is "localhost", which is the same text for a
// box without DNS). Dots are never turned into underscores there; only
// Diamond's "fqdn" method does that.
func Hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	if i := strings.IndexByte(h, '.'); i > 0 {
		h = h[:i]
	}
	return h
}
