package cache

import (
	"fmt"
	"strings"
	"testing"

	"statbox/storage/whisper"
)

// Names whose hashes are equal, or equal in the bits a probe starts from,
// each find their own series, before and after the table grows.
func TestTableCollisions(t *testing.T) {
	var sh shard
	var tb table
	names := map[string]uint64{}
	for i := range 1000 {
		name := fmt.Sprintf("a.b.%d", i)
		h := uint64(i % 7) // many equal hashes, all in one probe region
		if i%3 == 0 {
			h = uint64(i) << 40 // same start slot, different hash
		}
		names[name] = h
		if tb.find(h, name) != nil {
			t.Fatalf("%s found before it was added", name)
		}
		tb.add(h, newSeries(&sh, []byte(name)))
	}
	if tb.n != len(names) || len(tb.slots) < 2*tb.n {
		t.Fatalf("n %d, %d slots: want %d, at most half full", tb.n, len(tb.slots), len(names))
	}
	for name, h := range names {
		s := tb.find(h, name)
		if s == nil || s.name != name {
			t.Fatalf("find(%d, %s) = %v", h, name, s)
		}
		if tb.find(h+1<<50, name) != nil {
			t.Fatalf("%s found under another hash", name)
		}
	}
}

// Long names are kept outside the series, short ones inline; both compare.
func TestSeriesNames(t *testing.T) {
	var sh shard
	for _, n := range []int{0, 1, inlineName - 1, inlineName, inlineName + 1, 300} {
		name := strings.Repeat("x", n)
		s := newSeries(&sh, []byte(name))
		if s.name != name {
			t.Errorf("name of %d bytes: got %q", n, s.name)
		}
	}
}

// A list keeps points in order across chunks, prepends whole lists, and its
// chunks go back to the shard for reuse, no more than a shard keeps.
func TestChunkList(t *testing.T) {
	var sh shard
	var l, front list
	for i := range 40 {
		front.add(&sh, whisper.Point{Timestamp: int64(i)})
	}
	for i := 40; i < 75; i++ {
		l.add(&sh, whisper.Point{Timestamp: int64(i)})
	}
	l.prepend(&front)
	if front.head != nil || front.tail != nil {
		t.Fatal("prepend left the front list non-empty")
	}
	got := l.appendTo(nil)
	if len(got) != 75 {
		t.Fatalf("%d points, want 75", len(got))
	}
	for i, p := range got {
		if p.Timestamp != int64(i) {
			t.Fatalf("point %d has timestamp %d", i, p.Timestamp)
		}
	}
	l.add(&sh, whisper.Point{Timestamp: 75})
	if n := len(l.appendTo(nil)); n != 76 {
		t.Fatalf("after one more add: %d points", n)
	}
	chunks := 0
	for c := l.head; c != nil; c = c.next {
		chunks++
	}
	sh.release(&l)
	if l.head != nil || sh.nfree != min(chunks, spareFree) {
		t.Fatalf("after release: head %v, %d free of %d chunks", l.head, sh.nfree, chunks)
	}
	c := sh.chunk()
	if c.n != 0 || c.next != nil || sh.nfree != min(chunks, spareFree)-1 {
		t.Fatalf("reused chunk not empty, or not taken from the free list")
	}
}
