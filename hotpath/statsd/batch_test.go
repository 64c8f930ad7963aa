package statsd

import (
	"fmt"
	"testing"
)

// TestLargeTable puts enough keys in one table for it to read ahead (more
// than readAheadSlots slots), in packets that mix every type, rates, deltas,
// names the fast path leaves, names repeated within a batch and bad lines,
// and checks the table against the general parser's.
func TestLargeTable(t *testing.T) {
	const keys = 30_000
	var pkts [][]byte
	var b []byte
	for i := range 3 * keys {
		k := i * 7919 % keys
		switch i % 8 {
		case 0, 1:
			b = fmt.Appendf(b, "app.requests.k%d:%d|c\n", k, i%5)
		case 2:
			b = fmt.Appendf(b, "app.requests.k%d:3|c|@0.5\n", k)
		case 3:
			b = fmt.Appendf(b, "app.latency.k%d:%d.%d|ms\n", k, i%500, i%10)
		case 4:
			b = fmt.Appendf(b, "app.queue.k%d:%+d|g\nq%d:%d|g\n", k, i%7-3, k, i%100)
		case 5:
			b = fmt.Appendf(b, "app.users.k%d:u%d|s\n", k, i%13)
		case 6:
			b = fmt.Appendf(b, "app/odd name k%d:1|c|#env:prod\n", k%100)
		case 7:
			b = fmt.Appendf(b, "bad.k%d:x|c\nrequests.k%d:1|c\n", k, k)
		}
		if len(b) > 1300 || i == 3*keys-1 {
			pkts = append(pkts, b)
			b = nil
		}
	}
	fast, slow := newTable(), newTable()
	var p, gp Parser
	gp.Debug = func([]byte) {}
	var fl, fb, sl, sb int
	for _, pkt := range pkts {
		l, bd := p.Parse(pkt, fast)
		fl, fb = fl+l, fb+bd
		l, bd = gp.Parse(pkt, slow)
		sl, sb = sl+l, sb+bd
	}
	if len(fast.slots) <= readAheadSlots {
		t.Fatalf("%d slots: the table does not read ahead", len(fast.slots))
	}
	if fl != sl || fb != sb {
		t.Fatalf("fast path: %d lines, %d bad; general: %d lines, %d bad", fl, fb, sl, sb)
	}
	if d1, d2 := dumpTable(fast), dumpTable(slow); d1 != d2 {
		t.Fatalf("the tables differ: %d and %d entries", len(fast.entries), len(slow.entries))
	}
}
