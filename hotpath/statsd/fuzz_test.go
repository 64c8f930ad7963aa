package statsd

import (
	"fmt"
	"math"
	"testing"
	"time"
)

var timeZero = time.Unix(1_700_000_000, 0)

// FuzzPacket feeds arbitrary packets through a shard and a flush: nothing
// may panic, every line is counted, and no flushed value is infinite.
func FuzzPacket(f *testing.F) {
	for _, c := range corpus {
		f.Add([]byte(c.Ours))
	}
	f.Add([]byte("a:1|c|#k:v,k2,;:=\nb:\xff|s\nc:1e308|c:1e308|c"))
	f.Fuzz(func(t *testing.T, b []byte) {
		opts := DefaultOptions()
		opts.PercentThreshold = []float64{90, -10}
		opts.Histograms = []Histogram{{Bins: []float64{1, math.Inf(1)}}}
		opts.Store = func(name []byte, ts int64, v float64) {
			if len(name) == 0 {
				t.Fatal("empty name flushed")
			}
		}
		a, err := NewAggregator(opts, timeZero)
		if err != nil {
			t.Fatal(err)
		}
		s := a.NewShard(nil)
		// The fast path and the general parser (which Debug forces) agree.
		var p, slow Parser
		slow.Debug = func([]byte) {}
		var r, rs rec
		lines, bad := p.Parse(b, &r)
		slines, sbad := slow.Parse(b, &rs)
		if lines != slines || bad != sbad || fmt.Sprint(r.got) != fmt.Sprint(rs.got) {
			t.Fatalf("fast path: %d lines %d bad %q\ngeneral: %d lines %d bad %q", lines, bad, r.got, slines, sbad, rs.got)
		}
		// And so do the fast path into a table (names checked only when new)
		// and the general parser into a table, both holding another packet's
		// names first, which also left their ends and hashes in the fast
		// path's batch places.
		t1, t2 := newTable(), newTable()
		p.Parse(warmPacket, t1)
		slow.Parse(warmPacket, t2)
		l1, b1 := p.Parse(b, t1)
		l2, b2 := slow.Parse(b, t2)
		if d1, d2 := dumpTable(t1), dumpTable(t2); l1 != l2 || b1 != b2 || d1 != d2 {
			t.Fatalf("into a table, fast: %d %d %s\ngeneral: %d %d %s", l1, b1, d1, l2, b2, d2)
		}
		if bad > 0 && lines == 0 {
			t.Fatalf("%d bad values in no lines", bad)
		}
		s.Packet(b)
		st := NewStream(a.NewShard(nil))
		half := len(b) / 2
		st.Feed(b[:half])
		st.Feed(b[half:])
		st.Close()
		a.Flush(timeZero.Add(10 * time.Second))
		a.Flush(timeZero.Add(20 * time.Second))
	})
}

// warmPacket is 100 lines of long names.
var warmPacket = func() (b []byte) {
	for i := range 100 {
		b = fmt.Appendf(b, "warm.up.with.a.long.name.for.its.end.%d:%d|c\n", i, i)
	}
	return b
}()

// dumpTable prints a table's entries and values.
func dumpTable(t *table) string {
	var b []byte
	for k := range t.entries {
		e := &t.entries[k]
		b = fmt.Appendf(b, "%s %q ", e.typ, t.name(e))
		switch e.typ {
		case Counter:
			b = fmt.Appendf(b, "%v", t.counters[e.idx])
		case Gauge:
			b = fmt.Appendf(b, "%+v", t.gauges[e.idx])
		case Timer:
			b = fmt.Appendf(b, "%v %v", t.timers[e.idx].values, t.timers[e.idx].count)
		case Set:
			b = fmt.Appendf(b, "%v", t.sets[e.idx].members)
		}
		b = append(b, '\n')
	}
	return string(b)
}
