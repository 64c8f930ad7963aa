package statsd

import (
	"bytes"
	"math"
	"unsafe"
)

// batchLines is how many lines of a packet are parsed before their names are
// looked up together: enough for the cache misses of one batch to overlap,
// few enough for the batch to stay in L1.
const batchLines = 64

// pendingLine is one line of a batch: parsed by the fast path and waiting
// for its lookup, or (typ 0) left to the general parser.
type pendingLine struct {
	// start is where the line begins and next where the line after it does.
	// For a parsed line the name is b[start:end].
	start, end, next int
	typ              Type
	delta            bool
	value, rate      float64
	hash             uint64
	// cand is what the slot the hash points at held when the batch was read
	// ahead, if its tag was the hash's: the index of the entry plus one, or 0.
	cand uint32
}

// parseTable is Parse into a receiver's table. It parses up to batchLines
// lines at a time, hashing their names, then has the table look them all up
// at once (addBatch), so that with many keys a packet's cache misses overlap
// instead of coming one after the other.
func (p *Parser) parseTable(b []byte, t *table) (lines, bad int) {
	i := 0
	for i < len(b) {
		n := 0
		for n < batchLines && i < len(b) {
			if b[i] == '\n' {
				i++
				continue
			}
			pl := &p.pend[n]
			n++
			pl.start = i
			if next, ok := pl.scan(b, i, true); ok {
				pl.next = min(next, len(b))
				i = next
				continue
			}
			pl.typ = 0
			if e := bytes.IndexByte(b[i:], '\n'); e >= 0 {
				i += e + 1
			} else {
				i = len(b)
			}
			pl.next = i
		}
		l, bd := t.addBatch(p, b, p.pend[:n])
		lines += l
		bad += bd
	}
	return lines, bad
}

// general parses b's lines with the general parser.
func (p *Parser) general(b []byte, sink Sink) (lines, bad int) {
	for len(b) > 0 {
		line := b
		if e := bytes.IndexByte(b, '\n'); e >= 0 {
			line, b = b[:e], b[e+1:]
		} else {
			b = nil
		}
		if len(line) > 0 {
			lines++
			bad += p.line(line, sink)
		}
	}
	return lines, bad
}

// addBatch aggregates a batch of lines of packet b in their order, after
// reading ahead what their lookups will read when the table is large. A
// name new to the table that is not plain, and a line the fast path left,
// go to the general parser.
func (t *table) addBatch(p *Parser, b []byte, pend []pendingLine) (lines, bad int) {
	t.readAhead(pend)
	for k := range pend {
		pl := &pend[k]
		if pl.typ != 0 {
			name := b[pl.start:pl.end]
			// The commonest case is written out, with no call: the name is
			// in the slot its hash points at, which readAhead read.
			var e *entry
			if c := pl.cand; c != 0 {
				ce := &t.entries[c-1]
				if n := len(name); ce.typ == pl.typ && int(ce.n) == n && !ce.dead && n >= 8 &&
					sameWords(unsafe.Pointer(&t.arena[ce.off]), unsafe.Pointer(&name[0]), n) {
					e = ce
				}
			}
			if e == nil {
				e = t.findHash(pl.typ, name, pl.hash, true)
			}
			if e != nil {
				if pl.typ == Counter && pl.rate == 1 {
					t.counters[e.idx] += pl.value
				} else {
					t.add(e, pl.typ, pl.value, pl.rate, pl.delta)
				}
				lines++
				continue
			}
		}
		// The span may hold several lines when an unchecked name ran past a
		// '\n': the general parser splits them as Parse would.
		l, bd := p.general(b[pl.start:pl.next], t)
		lines += l
		bad += bd
	}
	return lines, bad
}

// readAheadSlots is the table size above which addBatch reads ahead: a
// smaller table stays in the CPU's caches, where reading ahead only costs.
const readAheadSlots = 1 << 14

// readAhead reads, for every line of a batch, the slot its hash points at,
// noting the entry it holds if the tag is the hash's (cand), then, when the
// table is large, that entry's name and value: each a loop of independent
// loads, so the misses of the batch's lines overlap (Go has no prefetch
// instruction) and the lookups that follow mostly hit the cache. An entry
// noted stays valid while the batch inserts: entries are only appended.
func (t *table) readAhead(pend []pendingLine) {
	slots := t.slots
	mask := uint64(len(slots) - 1)
	for k := range pend {
		pl := &pend[k]
		s := slots[pl.hash&mask]
		c := s.ent
		if s.tag != uint32(pl.hash>>32) {
			c = 0
		}
		pl.cand = c
	}
	if len(slots) <= readAheadSlots {
		return
	}
	var x uint64
	for k := range pend {
		c := pend[k].cand
		if c == 0 {
			continue
		}
		e := &t.entries[c-1]
		x += uint64(t.arena[e.off])
		switch e.typ {
		case Counter:
			x += math.Float64bits(t.counters[e.idx])
		case Gauge:
			x += math.Float64bits(t.gauges[e.idx].value)
		case Timer:
			x += uint64(len(t.timers[e.idx].values))
		case Set:
			x += uint64(len(t.sets[e.idx].members))
		}
	}
	// Stored, so that the compiler keeps the loads.
	t.touched = x
}
