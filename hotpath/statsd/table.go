package statsd

import (
	"hash/maphash"
	"unsafe"
)

// table holds what one receiver aggregated in one interval: an
// open-addressing hash table over (type, name) of 8-byte slots, each a tag of
// the hash and the index of an entry; the entries in the order they came, names
// in one arena and values in flat arrays by type. A line costs one hash and,
// for a name already seen, no allocation at all, and a lookup reads one slot,
// one entry and the name. The flush and the admin interface walk the entries
// in sequence, and a key holds less memory than with the entries in the slots.
type table struct {
	slots []slot
	// entries are in the order they came, which the flush and the admin
	// interface keep.
	entries []entry
	arena   []byte

	counters []float64
	gauges   []gaugeAgg
	timers   []timerAgg
	sets     []setAgg

	packets, lines, bad uint64
	// touched is what readAhead loaded, kept only so that its loads are.
	touched uint64
}

// slot is one place of the hash table: empty when ent is 0, else the entry
// entries[ent-1], whose hash's high 32 bits are tag.
type slot struct {
	tag, ent uint32
}

// entry is one (type, name) of the interval.
type entry struct {
	off uint32 // the name is arena[off : off+n]
	idx uint32 // index in the array of its type
	// n fits: a name comes in one datagram (at most 65,507 bytes) or one
	// line of a stream (at most MaxLine).
	n   uint16
	typ Type
	// dead marks an entry the admin interface deleted: left out of the
	// merge unless the name comes again.
	dead bool
}

// gaugeAgg is a gauge's interval in a receiver's table: the last absolute
// value with the deltas after it added, if one came, else the sum of the
// deltas. In the totals, value is the gauge's value and ttl counts the
// flushes it may stay idle when gauges are deleted.
type gaugeAgg struct {
	set   bool
	value float64
	delta float64
	ttl   int32
}

// timerAgg is a timer's interval: every value, as exact percentiles need,
// and the count with sample rates applied.
type timerAgg struct {
	values []float64
	count  float64
}

// setAgg is a set's interval: the members' hashes, duplicates included.
type setAgg struct {
	members []uint64
}

// seed hashes a set's members.
var seed = maphash.MakeSeed()

const minSlots = 1024

func newTable() *table { return &table{slots: make([]slot, minSlots)} }

// tableSize is what a table held, to size its successor.
type tableSize struct{ slots, entries, arena, counters, gauges int }

func (t *table) size() tableSize {
	return tableSize{len(t.slots), len(t.entries), len(t.arena), len(t.counters), len(t.gauges)}
}

// newTableSized returns an empty table with room for z, so that a
// receiver's next interval does not grow its table step by step again. The
// memory is the kernel's fresh zero pages until the table fills it.
func newTableSized(z tableSize) *table {
	return &table{
		slots:    make([]slot, z.slots),
		entries:  make([]entry, 0, z.entries),
		arena:    make([]byte, 0, z.arena),
		counters: make([]float64, 0, z.counters),
		gauges:   make([]gaugeAgg, 0, z.gauges),
	}
}

// Add aggregates one metric.
func (t *table) Add(m *Metric) {
	t.apply(t.lookup(m.Type, m.Name), m)
}

func (t *table) apply(e *entry, m *Metric) {
	if m.Type == Set {
		s := &t.sets[e.idx]
		s.members = append(s.members, maphash.Bytes(seed, m.Member))
		return
	}
	t.add(e, m.Type, m.Value, m.Rate, m.Delta)
}

// add aggregates one value of a counter, gauge or timer.
func (t *table) add(e *entry, typ Type, v, rate float64, delta bool) {
	switch typ {
	case Counter:
		addCounter(&t.counters[e.idx], v, rate)
	case Gauge:
		t.gauges[e.idx].add(v, delta)
	case Timer:
		t.timers[e.idx].add(v, rate)
	}
}

// add takes a timer's value sent with a sample rate.
func (tm *timerAgg) add(v, rate float64) {
	tm.values = append(tm.values, v)
	tm.count += 1 / rate
}

// addCounter adds a value sent with a sample rate to a counter.
func addCounter(c *float64, v, rate float64) {
	// etsy adds value * (1 / rate): the same operations give the same bits.
	// The conversion keeps the compiler from fusing into an FMA. With no
	// rate, value * 1 is value: the division is left out.
	if rate == 1 {
		*c += v
	} else {
		*c += float64(v * (1 / rate))
	}
}

// add takes a gauge's value, or a delta to it.
func (g *gaugeAgg) add(v float64, delta bool) {
	switch {
	case !delta:
		g.set, g.value = true, v
	case g.set:
		g.value += v
	default:
		g.delta += v
	}
}

// lookup finds the entry of (typ, name), making it if it is new.
func (t *table) lookup(typ Type, name []byte) *entry {
	return t.findHash(typ, name, hashName(typ, name), false)
}

// findHash finds the entry of (typ, name), whose hash is h, making it if it
// is new, or returns nil for a new name that is not plain when check is set.
func (t *table) findHash(typ Type, name []byte, h uint64, check bool) *entry {
	tag := uint32(h >> 32)
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s.ent == 0 {
			if check && !isPlain(name) {
				return nil
			}
			return t.insert(i, tag, typ, name)
		}
		if s.tag != tag {
			continue
		}
		e := &t.entries[s.ent-1]
		n := len(name)
		if e.typ != typ || int(e.n) != n {
			continue
		}
		if a := t.arena[e.off : int(e.off)+n]; n >= 8 {
			if !sameWords(unsafe.Pointer(&a[0]), unsafe.Pointer(&name[0]), n) {
				continue
			}
		} else if string(a) != string(name) {
			continue
		}
		if e.dead {
			e.dead = false
		}
		return e
	}
}

func (t *table) insert(i uint64, tag uint32, typ Type, name []byte) *entry {
	var idx int
	switch typ {
	case Counter:
		idx = len(t.counters)
		t.counters = append(t.counters, 0)
	case Gauge:
		idx = len(t.gauges)
		t.gauges = append(t.gauges, gaugeAgg{})
	case Timer:
		idx = len(t.timers)
		if idx < cap(t.timers) {
			// Keep the values array a reset left behind.
			t.timers = t.timers[:idx+1]
			t.timers[idx].values = t.timers[idx].values[:0]
			t.timers[idx].count = 0
		} else {
			t.timers = append(t.timers, timerAgg{})
		}
	case Set:
		idx = len(t.sets)
		if idx < cap(t.sets) {
			t.sets = t.sets[:idx+1]
			t.sets[idx].members = t.sets[idx].members[:0]
		} else {
			t.sets = append(t.sets, setAgg{})
		}
	}
	off := len(t.arena)
	t.arena = append(t.arena, name...)
	t.entries = append(t.entries, entry{off: uint32(off), idx: uint32(idx), n: uint16(len(name)), typ: typ})
	t.slots[i] = slot{tag: tag, ent: uint32(len(t.entries))}
	// Linear probing stays short up to a load of 3/4 with a good hash.
	if len(t.entries)*4 > len(t.slots)*3 {
		t.grow()
	}
	return &t.entries[len(t.entries)-1]
}

// grow doubles the slots and places every entry again.
func (t *table) grow() {
	slots := make([]slot, len(t.slots)*2)
	mask := uint64(len(slots) - 1)
	for k := range t.entries {
		e := &t.entries[k]
		h := hashName(e.typ, t.arena[e.off:e.off+uint32(e.n)])
		i := h & mask
		for slots[i].ent != 0 {
			i = (i + 1) & mask
		}
		slots[i] = slot{tag: uint32(h >> 32), ent: uint32(k + 1)}
	}
	t.slots = slots
}

// name returns an entry's name, valid until the table is reset.
func (t *table) name(e *entry) []byte { return t.arena[e.off : e.off+uint32(e.n)] }

// reset empties the table for the next interval, keeping its memory.
func (t *table) reset() {
	clear(t.slots)
	t.entries = t.entries[:0]
	t.arena = t.arena[:0]
	t.counters = t.counters[:0]
	t.gauges = t.gauges[:0]
	t.timers = t.timers[:0]
	t.sets = t.sets[:0]
	t.packets, t.lines, t.bad = 0, 0, 0
}
