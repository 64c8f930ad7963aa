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

// TestWordValue runs the value read a word at a time against the general
// parser: one to nine digits, and other numbers, followed by every byte in the place of the '|',
// by '|' and every byte as the type, and by the types and rates there are,
// each line with enough of the packet after it for the word reads, into a
// Sink and into a table.
func TestWordValue(t *testing.T) {
	const digits = "908172635"
	var after []string
	for c := range 256 {
		after = append(after, string([]byte{byte(c)})+"c\n", "|"+string([]byte{byte(c)})+"\n")
	}
	after = append(after, "|ms\n", "|m\n", "|mss\n", "|c", "|ms", "|c|@0.5\n", "|cc\n", "|g\r\n", "|c\r\n")
	values := []string{"-1", "+1", "-12", "1.5", ".5", "1.", "0", "00012", "1e3", "12345678901234567"}
	for n := 1; n <= len(digits); n++ {
		values = append(values, digits[:n])
	}
	var p, slow Parser
	slow.Debug = func([]byte) {}
	for _, v := range values {
		for _, a := range after {
			b := []byte("some.name:" + v + a + "after.it:1|c\nand.more:2|c\n")
			var r, rs rec
			l, bd := p.Parse(b, &r)
			sl, sbd := slow.Parse(b, &rs)
			if l != sl || bd != sbd || fmt.Sprint(r.got) != fmt.Sprint(rs.got) {
				t.Fatalf("%q: fast %d %d %q, general %d %d %q", b, l, bd, r.got, sl, sbd, rs.got)
			}
			t1, t2 := newTable(), newTable()
			l, bd = p.Parse(b, t1)
			sl, sbd = slow.Parse(b, t2)
			if d1, d2 := dumpTable(t1), dumpTable(t2); l != sl || bd != sbd || d1 != d2 {
				t.Fatalf("%q into a table: fast %d %d %s, general %d %d %s", b, l, bd, d1, sl, sbd, d2)
			}
		}
	}
}

// TestBatchReuse parses, with one Parser, a packet of long lines and then
// one whose lines the fast path leaves, some of them, so that what the first
// packet left in the batch's places (ends, hashes) is no longer theirs.
func TestBatchReuse(t *testing.T) {
	var long, short []byte
	for i := range 40 {
		long = fmt.Appendf(long, "a.rather.long.name.for.a.counter.%d:1|c\n", i)
		if i%2 == 0 {
			short = fmt.Appendf(short, "s.%d:1|c\n", i)
		} else {
			short = fmt.Appendf(short, "bad.name.%d:x|c\n", i)
		}
	}
	fast, slow := newTable(), newTable()
	var p, gp Parser
	gp.Debug = func([]byte) {}
	for range 3 {
		for _, pkt := range [][]byte{long, short, long[:len(long)/2], short} {
			l, bd := p.Parse(pkt, fast)
			sl, sbd := gp.Parse(pkt, slow)
			if l != sl || bd != sbd {
				t.Fatalf("fast path: %d lines, %d bad; general: %d, %d", l, bd, sl, sbd)
			}
		}
	}
	if d1, d2 := dumpTable(fast), dumpTable(slow); d1 != d2 {
		t.Fatalf("the tables differ:\n%s\n%s", d1, d2)
	}
}
