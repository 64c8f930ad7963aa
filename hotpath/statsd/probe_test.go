package statsd

import (
	"fmt"
	"testing"
)

// TestProbeLengths checks that the names hash evenly over a table's slots:
// with linear probing at the table's load, a name found is on average
// within a few slots of its home, for names that differ only in a number.
func TestProbeLengths(t *testing.T) {
	for _, format := range []string{"bench.k%06d", "app.service.requests.k%d", "a%d", "servers.host-%d.cpu.total.user", "%d"} {
		tb := newTable()
		const keys = 100_000
		for i := range keys {
			tb.lookup(Counter, fmt.Appendf(nil, format, i))
		}
		mask := uint64(len(tb.slots) - 1)
		total := 0
		for k := range tb.entries {
			e := &tb.entries[k]
			h := hashName(e.typ, tb.name(e))
			i := h & mask
			d := 0
			for tb.slots[i].ent != uint32(k+1) {
				i = (i + 1) & mask
				d++
			}
			total += d
		}
		load := float64(keys) / float64(len(tb.slots))
		// Knuth: a successful search probes (1 + 1/(1-load))/2 slots on
		// average with a uniform hash; d counts the slots past the first.
		want := (1+1/(1-load))/2 - 1
		got := float64(total) / keys
		t.Logf("%-32q load %.2f: %.3f slots past home on average (uniform: %.3f)", format, load, got, want)
		if got > 1.5*want+0.1 {
			t.Errorf("%q: %.3f slots past home on average, a uniform hash %.3f", format, got, want)
		}
	}
}
