package proc

import (
	"errors"
	"fmt"
	"io/fs"
	"time"

	"statbox/kernel"
)

// sockets.<name> and where it is read: the protocol line of
// /proc/net/sockstat (or sockstat6) and the key on it.
var socketKeys = [...]struct{ name, proto, key string }{
	{"sockets.used", "sockets:", "used"},
	{"sockets.tcp_inuse", "TCP:", "inuse"},
	{"sockets.tcp_orphan", "TCP:", "orphan"},
	{"sockets.tcp_tw", "TCP:", "tw"},
	{"sockets.tcp_alloc", "TCP:", "alloc"},
	{"sockets.tcp_mem", "TCP:", "mem"},
	{"sockets.udp_inuse", "UDP:", "inuse"},
	{"sockets.udp_mem", "UDP:", "mem"},
}

// socketsCollector is Diamond's SockstatCollector (path "sockets"): gauges
// from /proc/net/sockstat, with TCP6 and UDP6 "inuse" of sockstat6 added
// to tcp_inuse and udp_inuse. tcp_mem and udp_mem are in pages.
type socketsCollector struct {
	o           Options
	path, path6 string
	buf         []byte
	f           [][]byte
	val         [len(socketKeys)]uint64
	have        [len(socketKeys)]bool
}

func newSockets(o Options) *socketsCollector {
	return &socketsCollector{o: o, path: o.proc("net/sockstat"), path6: o.proc("net/sockstat6")}
}

func (c *socketsCollector) Name() string { return "sockets" }

func (c *socketsCollector) Collect(now time.Time, emit kernel.Emit) error {
	c.val, c.have = [len(socketKeys)]uint64{}, [len(socketKeys)]bool{}
	err := c.read(c.path, "")
	if err != nil && !errors.Is(err, errMalformed) {
		return err
	}
	// A kernel without IPv6 has no sockstat6; that is not an error.
	err6 := c.read(c.path6, "6")
	if errors.Is(err6, fs.ErrNotExist) {
		err6 = nil
	}
	for i, k := range socketKeys {
		if c.have[i] {
			emit(k.name, float64(c.val[i]))
		}
	}
	return errors.Join(err, err6)
}

// read adds a sockstat file's values; with suffix "6" only the inuse of
// TCP6 and UDP6 count, as Diamond sums those alone.
func (c *socketsCollector) read(path, suffix string) error {
	buf, err := readFile(path, c.buf)
	c.buf = buf
	if err != nil {
		return err
	}
	bad := 0
	for rest := buf; len(rest) > 0; {
		var line []byte
		line, rest = nextLine(rest)
		c.f = fields(c.f, line)
		f := c.f
		if len(f) < 3 {
			continue
		}
		proto := f[0]
		if suffix != "" {
			// "TCP6:" counts as "TCP:" and only for inuse.
			if len(proto) < 2 || proto[len(proto)-2] != '6' {
				continue
			}
		}
		for i := 1; i+1 < len(f); i += 2 {
			for j, k := range socketKeys {
				if suffix != "" && k.key != "inuse" {
					continue
				}
				if !protoIs(proto, k.proto, suffix) || string(f[i]) != k.key {
					continue
				}
				v, ok := parseUint(f[i+1])
				if !ok {
					bad++
					continue
				}
				c.val[j] += v
				c.have[j] = true
			}
		}
	}
	if bad > 0 {
		c.o.Counts.Malformed.Add(uint64(bad))
		return fmt.Errorf("%s: %s values malformed: %w", path, plural(bad), errMalformed)
	}
	return nil
}

// protoIs reports whether proto is want ("TCP:") with suffix before its
// colon ("TCP6:" for suffix "6").
func protoIs(proto []byte, want, suffix string) bool {
	if suffix == "" {
		return string(proto) == want
	}
	base := want[:len(want)-1]
	return len(proto) == len(want)+len(suffix) && string(proto[:len(base)]) == base &&
		string(proto[len(base):len(proto)-1]) == suffix && proto[len(proto)-1] == ':'
}
