package proc

import (
	"bytes"
	"fmt"
	"time"

	"statbox/kernel"
)

// networkPrefixes are the interface names Diamond's NetworkCollector
// matches by prefix (its "interfaces", greedy): lo, wlan, veth, br,
// docker and tap interfaces are not reported.
var networkPrefixes = [...]string{"eth", "bond", "em", "p1p", "eno", "enp", "ens", "enx"}

// netColumns are /proc/net/dev's 16 counters after "<if>:", with the names
// Diamond publishes them under; rx_bytes and tx_bytes are published twice,
// as <dir>_bit (×8) and <dir>_byte.
var netColumns = [16]string{
	"rx_bytes", "rx_packets", "rx_errors", "rx_drop", "rx_fifo", "rx_frame", "rx_compressed", "rx_multicast",
	"tx_bytes", "tx_packets", "tx_errors", "tx_drop", "tx_fifo", "tx_colls", "tx_carrier", "tx_compressed",
}

// networkCollector is Diamond's NetworkCollector: network.<if>.<column> as
// a change a second over the configured interval; bytes with precision 2
// (and in bits), packets, errors and the rest as whole numbers.
type networkCollector struct {
	o     Options
	path  string
	buf   []byte
	f     [][]byte
	ifs   map[string]*ifState
	round uint64
}

type ifState struct {
	names    [16]string
	bit      [2]string // rx_bit, tx_bit
	prev     [16]uint64
	round    uint64
	interval float64
}

func newNetwork(o Options) *networkCollector {
	return &networkCollector{o: o, path: o.proc("net/dev"), ifs: map[string]*ifState{}}
}

func (c *networkCollector) Name() string { return "network" }

func (c *networkCollector) Collect(now time.Time, emit kernel.Emit) error {
	buf, err := readFile(c.path, c.buf)
	c.buf = buf
	if err != nil {
		return err
	}
	c.round++
	bad := 0
	for rest := buf; len(rest) > 0; {
		var line []byte
		line, rest = nextLine(rest)
		// Old kernels print "eth0:123" with no space once a counter is
		// wide, so split at the colon, not at white space.
		name, counters, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		name = bytes.TrimSpace(name)
		if !networkWanted(name) {
			continue
		}
		c.f = fields(c.f, counters)
		if len(c.f) < 16 {
			bad++
			continue
		}
		var v [16]uint64
		good := true
		for i := range v {
			if v[i], ok = parseUint(c.f[i]); !ok {
				good = false
			}
		}
		if !good {
			bad++
			continue
		}
		st := c.ifs[string(name)]
		if st == nil {
			st = newIfState(string(name))
			c.ifs[string(name)] = st
		}
		fresh := st.round == 0 || st.round != c.round-1
		st.round = c.round
		for i := range v {
			var rate float64
			if !fresh {
				d, ok := delta(st.prev[i], v[i], c.o.Counts)
				if !ok {
					st.prev[i] = v[i]
					continue
				}
				rate = float64(d) / c.o.seconds()
			}
			// A first sample (or an interface back after a gap) is 0,
			// as Diamond's derivative has it.
			st.prev[i] = v[i]
			switch i {
			case 0, 8:
				emit(st.bit[i/8], round(rate*8, 2))
				emit(st.names[i], round(rate, 2))
			default:
				emit(st.names[i], round(rate, 0))
			}
		}
	}
	for name, st := range c.ifs {
		if st.round != c.round {
			delete(c.ifs, name) // gone; it starts afresh if it returns
		}
	}
	if bad > 0 {
		c.o.Counts.Malformed.Add(uint64(bad))
		return fmt.Errorf("%s: %s interfaces malformed, skipped", c.path, plural(bad))
	}
	return nil
}

func newIfState(name string) *ifState {
	st := &ifState{}
	for i, col := range netColumns {
		st.names[i] = "network." + name + "." + col
	}
	st.names[0] = "network." + name + ".rx_byte"
	st.names[8] = "network." + name + ".tx_byte"
	st.bit = [2]string{"network." + name + ".rx_bit", "network." + name + ".tx_bit"}
	return st
}

func networkWanted(name []byte) bool {
	for _, p := range networkPrefixes {
		if bytes.HasPrefix(name, []byte(p)) {
			return true
		}
	}
	return false
}
