package ebpf_test

import (
	"fmt"
	"log/slog"
	"time"

	"statbox/kernel/ebpf"
)

// The collection runner opens the probes once, collects every interval
// and closes them on shutdown; without eBPF it goes on with /proc alone.
func Example() {
	log := slog.Default()
	probes, err := ebpf.Open(log)
	if err != nil {
		log.Warn("host collection without eBPF", "reason", err)
		return
	}
	defer probes.Close()
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	for now := range tick.C {
		err := probes.Collect(now, func(name string, value float64) {
			fmt.Printf("servers.myhost.%s %g %d\n", name, value, now.Unix())
		})
		if err != nil {
			log.Warn("ebpf collect", "err", err)
		}
	}
}
