package ebpf

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/cilium/ebpf"
)

// The slots of counters.c's counter_block, in its order.
const (
	cSyscalls = iota
	cTCPRetransmits
	cTCPResetsSent
	cTCPResetsReceived
	cProcExec
	cProcExit
	cProcFork
	cOOMKills
	cSlots
)

// counterBlock is one CPU's counter_block.
type counterBlock [cSlots]uint64

// counterPrograms says which slot each program of counters.c counts into,
// the probe (Options.Without) it belongs to, and the name its interval's
// count is emitted under.
var counterPrograms = [cSlots]struct{ prog, probe, metric string }{
	cSyscalls:          {"sys_enter", "syscalls", "ebpf.syscalls.per_second"},
	cTCPRetransmits:    {"tcp_retransmit_skb", "tcp", "ebpf.tcp.retransmits"},
	cTCPResetsSent:     {"tcp_send_reset", "tcp", "ebpf.tcp.resets_sent"},
	cTCPResetsReceived: {"tcp_receive_reset", "tcp", "ebpf.tcp.resets_received"},
	cProcExec:          {"sched_process_exec", "proc", "ebpf.proc.exec"},
	cProcExit:          {"sched_process_exit", "proc", "ebpf.proc.exit"},
	cProcFork:          {"sched_process_fork", "proc", "ebpf.proc.fork"},
	cOOMKills:          {"mark_victim", "oom", "ebpf.oom.kills"},
}

//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -target bpfel -no-global-types counters counters.c -- -O2 -g -Wall -Werror -I./headers

// counters counts events into one per-CPU block; each program is loaded
// on its own so a kernel without, say, the tcp tracepoints keeps the rest.
type counters struct {
	m      *ebpf.Map
	progs  []attached
	on     [cSlots]bool // slot has its program attached
	percpu []counterBlock
	sum    counterBlock
	prev   counterBlock
	// sysEnter is the syscall counter's program, which Options.Window
	// attaches for a part of each interval only.
	sysEnter *ebpf.Program
}

func openCounters(log *slog.Logger, o *Options) (probe, error) {
	spec, err := loadCounters()
	if err != nil {
		return nil, fmt.Errorf("read object: %w", err)
	}
	maps, err := newMaps(spec, "counters")
	if err != nil {
		return nil, err
	}
	ncpu, err := ebpf.PossibleCPU()
	if err != nil {
		closeMaps(maps)
		return nil, err
	}
	c := &counters{m: maps["counters"], percpu: make([]counterBlock, ncpu)}
	var errs []error
	for slot, cp := range counterPrograms {
		if o.without(cp.probe) {
			continue
		}
		a, err := loadAttach(spec, cp.prog, maps)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", cp.metric, err))
			continue
		}
		c.progs = append(c.progs, a)
		c.on[slot] = true
		if slot == cSyscalls {
			c.sysEnter = a.prog
		}
	}
	if len(c.progs) == 0 {
		c.close()
		if len(errs) == 0 {
			return nil, nil // every counter left out by Options
		}
		return nil, errors.Join(errs...) // Open logs it
	}
	for _, err := range errs {
		log.Warn("ebpf: counter left out", "reason", err)
	}
	return c, nil
}

func (c *counters) read() error {
	if err := c.m.Lookup(uint32(0), c.percpu); err != nil {
		return fmt.Errorf("read counters: %w", err)
	}
	c.sum = counterBlock{}
	for i := range c.percpu {
		for s, v := range c.percpu[i] {
			c.sum[s] += v
		}
	}
	return nil
}

func (c *counters) collect(emit func(string, float64), _, sampled float64) error {
	if err := c.read(); err != nil {
		return err
	}
	for s := range cSlots {
		if !c.on[s] {
			continue
		}
		v := float64(c.sum[s] - c.prev[s])
		if s == cSyscalls {
			// Over the time sys_enter was attached: all the
			// interval, or Options.Window of it.
			if sampled <= 0 {
				continue
			}
			v /= sampled
		}
		emit(counterPrograms[s].metric, v)
	}
	c.prev = c.sum
	return nil
}

func (c *counters) programs() []attached { return c.progs }

func (c *counters) opening() {}

func (c *counters) sampled() []*attached {
	for i := range c.progs {
		if c.progs[i].prog == c.sysEnter {
			return []*attached{&c.progs[i]}
		}
	}
	return nil
}

func (c *counters) close() error {
	err := closeAttached(c.progs)
	c.progs = nil
	return errors.Join(err, c.m.Close())
}
