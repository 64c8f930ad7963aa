package cache

import (
	"unsafe"

	"statbox/storage/whisper"
)

// table is a shard's series by the hash of their name: open addressing with
// linear probing over slots that hold the full hash beside the series, so a
// probe compares integers in one cache line and follows a pointer only on a
// full match. Series are never removed, so there are no tombstones. Series
// whose names share a hash take separate slots, told apart by name.
type table struct {
	slots []slot // a power of two, at most half full
	n     int
}

type slot struct {
	h uint64
	s *series // nil: empty
}

const minTableSlots = 64

// index is where the probe for h starts. A shard holds the names whose hash
// is equal modulo shardCount, so its low bits say nothing here.
func (t *table) index(h uint64) uint64 {
	return h / shardCount & uint64(len(t.slots)-1)
}

// find is the series of name, whose hash is h, or nil.
func (t *table) find(h uint64, name string) *series {
	if len(t.slots) == 0 {
		return nil
	}
	mask := uint64(len(t.slots) - 1)
	for i := t.index(h); ; i = (i + 1) & mask {
		sl := &t.slots[i]
		if sl.s == nil {
			return nil
		}
		if sl.h == h && sl.s.name == name {
			return sl.s
		}
	}
}

// first is the series in the slot where the probe for h starts, if that
// slot holds h: most often the one find would return.
func (t *table) first(h uint64) *series {
	if len(t.slots) == 0 {
		return nil
	}
	if sl := &t.slots[t.index(h)]; sl.h == h {
		return sl.s
	}
	return nil
}

// add places s, whose name's hash is h and is not in t yet.
func (t *table) add(h uint64, s *series) {
	if (t.n+1)*2 > len(t.slots) {
		t.grow()
	}
	t.place(h, s)
	t.n++
}

func (t *table) place(h uint64, s *series) {
	mask := uint64(len(t.slots) - 1)
	i := t.index(h)
	for t.slots[i].s != nil {
		i = (i + 1) & mask
	}
	t.slots[i] = slot{h, s}
}

func (t *table) grow() {
	old := t.slots
	t.slots = make([]slot, max(minTableSlots, 2*len(old)))
	for _, sl := range old {
		if sl.s != nil {
			t.place(sl.h, sl.s)
		}
	}
}

// inlineName is the longest name a series keeps in its own memory, after
// the fields a lookup reads, rather than in a string of its own: a lookup
// then compares the name without a further cache miss (up to 31 bytes it is
// in the same cache line as those fields). It makes a series 128 bytes, a
// size class whose objects Go's allocator places on cache-line boundaries.
const inlineName = 47

// newSeries makes the series of name in sh.
func newSeries(sh *shard, name []byte) *series {
	s := &series{shard: sh}
	if len(name) <= inlineName {
		n := copy(s.inline[:], name)
		s.name = unsafe.String(&s.inline[0], n)
	} else {
		s.name = string(name)
	}
	return s
}

// chunkPoints is how many points a chunk holds: 256 bytes a chunk.
const chunkPoints = 15

// chunk holds up to chunkPoints of a series' points, oldest first. A series'
// pending points, and those in flight, are each a list of chunks: a store
// appends to the last one, never copying what came before, and a written
// list goes back to its shard's free chunks for the next stores. Memory then
// follows the points pending, not the most a series ever held, and a burst
// costs no growing slices: no copies, no fresh pages from the kernel.
type chunk struct {
	next *chunk
	n    int
	p    [chunkPoints]whisper.Point
}

// list is a series' chain of chunks.
type list struct{ head, tail *chunk }

// spareFree is how many free chunks a shard keeps beyond one for each of
// its series: enough for every series' next points without allocating, and
// little more once a burst that needed many chunks a series is written.
const spareFree = 64

// add appends a point to l, taking a chunk from sh when the last is full.
func (l *list) add(sh *shard, p whisper.Point) {
	t := l.tail
	if t == nil || t.n == chunkPoints {
		c := sh.chunk()
		if t == nil {
			l.head = c
		} else {
			t.next = c
		}
		l.tail, t = c, c
	}
	t.p[t.n] = p
	t.n++
}

// appendTo appends l's points to dst, oldest first.
func (l *list) appendTo(dst []whisper.Point) []whisper.Point {
	for c := l.head; c != nil; c = c.next {
		dst = append(dst, c.p[:c.n]...)
	}
	return dst
}

// prepend puts the points of front ahead of l's and empties front.
func (l *list) prepend(front *list) {
	if front.head == nil {
		return
	}
	if l.head == nil {
		*l = *front
	} else {
		front.tail.next = l.head
		l.head = front.head
	}
	*front = list{}
}

// chunk is an empty chunk, a free one when the shard has one. The caller
// holds sh.mu.
func (sh *shard) chunk() *chunk {
	c := sh.free
	if c == nil {
		return new(chunk)
	}
	sh.free, sh.nfree = c.next, sh.nfree-1
	c.next, c.n = nil, 0
	return c
}

// release empties l, keeping its chunks for reuse up to a chunk a series
// and spareFree. The caller holds sh.mu.
func (sh *shard) release(l *list) {
	for c := l.head; c != nil && sh.nfree < sh.t.n+spareFree; {
		next := c.next
		c.next = sh.free
		sh.free = c
		sh.nfree++
		c = next
	}
	*l = list{}
}
