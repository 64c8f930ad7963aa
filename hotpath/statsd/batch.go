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
	// cand is the entry readAhead found for the hash (its index plus one),
	// or 0.
	cand uint32
}

// parseTable is Parse into a receiver's table. It parses up to batchLines
// lines at a time, hashing their names, then has the table look them all up
// at once (addBatch), so that with many keys a packet's cache misses overlap
// instead of coming one after the other.
func (p *Parser) parseTable(b []byte, t *table) (lines, bad int) {
	i := 0
	for i < len(b) {
		// A large table's slots are mostly not in the CPU's caches: each
		// line's home slot is asked for as soon as its hash is known, to come
		// while the lines after it are scanned. (The slots are those of the
		// table as the batch begins: a batch that grows it may leave the
		// next batch's first lines asking for memory no longer used.)
		slots := t.slots
		early := havePrefetch && len(slots) > readAheadSlots
		mask := uint64(len(slots) - 1)
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
				if early {
					prefetch(unsafe.Pointer(&slots[pl.hash&mask]))
				}
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
// finding each line's candidate entry (readAhead). A
// name new to the table that is not plain, and a line the fast path left,
// go to the general parser.
func (t *table) addBatch(p *Parser, b []byte, pend []pendingLine) (lines, bad int) {
	t.readAhead(pend)
	for k := 0; k < len(pend); k++ {
		var l int
		k, l = t.addHits(b, pend, k)
		lines += l
		if k == len(pend) {
			break
		}
		pl := &pend[k]
		if pl.typ != 0 {
			if e := t.findHash(pl.typ, b[pl.start:pl.end], pl.hash, true); e != nil {
				t.add(e, pl.typ, pl.value, pl.rate, pl.delta)
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

// addHits aggregates the lines of a batch from pend[k] on, as addBatch
// does, while each is one whose candidate entry (readAhead's) is its own, and
// returns where it stopped and how many it took: the commonest case, in a
// loop with no call in it but a timer's rare growth, so that its values stay
// in registers. A name shorter than eight bytes is left to findHash. A line
// the fast path left has no candidate (readAhead), so every line here has
// its own start and end.
func (t *table) addHits(b []byte, pend []pendingLine, k int) (next, lines int) {
	entries, arena := t.entries, t.arena
	counters, gauges, timers := t.counters, t.gauges, t.timers
	from := k
	for ; k < len(pend); k++ {
		pl := &pend[k]
		c := pl.cand
		if c == 0 {
			break
		}
		e := &entries[c-1]
		name := b[pl.start:pl.end]
		n := len(name)
		if e.typ != pl.typ || int(e.n) != n || e.dead || n < 8 ||
			!sameWords(unsafe.Pointer(&arena[e.off]), unsafe.Pointer(&name[0]), n) {
			break
		}
		switch pl.typ {
		case Counter:
			addCounter(&counters[e.idx], pl.value, pl.rate)
		case Gauge:
			gauges[e.idx].add(pl.value, pl.delta)
		default:
			timers[e.idx].add(pl.value, pl.rate)
		}
	}
	return k, k - from
}

// readAheadSlots is the table size above which a batch's home slots are
// prefetched (parseTable) or read ahead (readAhead): a smaller table stays
// in the CPU's caches, where reading ahead only costs.
const readAheadSlots = 1 << 14

// readAhead finds, for every line of a batch, the entry its name most
// likely has (cand): the first in its hash's probe sequence whose tag is the
// hash's. A candidate stays valid while the batch inserts: entries are only
// appended.
//
// With a large table the batch's home slots must come into the cache
// together, so that their misses overlap. Where the CPU can, parseTable
// prefetched each as its line was scanned, and nothing more is read ahead:
// loads here of the candidates' entries, names and values, which a prefetch
// does not wait for but a load does, cost more than they saved
// (BenchmarkShard, bench/RESULTS.md). Elsewhere a loop of independent loads
// reads the home slots, and each candidate's name and value are read in the
// loop that finds it, so that the lookups that follow mostly hit the cache.
func (t *table) readAhead(pend []pendingLine) {
	slots := t.slots
	mask := uint64(len(slots) - 1)
	touch := !havePrefetch && len(slots) > readAheadSlots
	var x uint64
	if touch {
		for k := range pend {
			x += uint64(slots[pend[k].hash&mask].ent)
		}
	}
	for k := range pend {
		pl := &pend[k]
		// A line the fast path left has no hash of its own: what its place
		// holds is an earlier line's.
		if pl.typ == 0 {
			pl.cand = 0
			continue
		}
		tag := uint32(pl.hash >> 32)
		var c uint32
		for i := pl.hash & mask; ; i = (i + 1) & mask {
			s := slots[i]
			if s.ent == 0 {
				break
			}
			if s.tag == tag {
				c = s.ent
				break
			}
		}
		pl.cand = c
		if c == 0 || !touch {
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
