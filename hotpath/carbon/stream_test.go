package carbon

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// feedChunks feeds b to a new Stream in chunks cut at the given offsets and
// closes it, returning what was delivered and counted.
func feedChunks(b []byte, maxLine int, cuts ...int) ([]point, counts) {
	p, r, st := newTestParser()
	s := NewStream(p)
	s.MaxLineLength = maxLine
	prev := 0
	for _, c := range cuts {
		s.Feed(b[prev:c])
		prev = c
	}
	s.Feed(b[prev:])
	s.Close()
	return r.points, snapshot(st)
}

const framingInput = "a.b 1 1700000000\r\n" +
	"c;z=1;a=2\t2.5 -1\n" +
	"\n" +
	"bad line\n" +
	"0123456789012345678901234567890123456789 3 4\n" + // 44 bytes: over a MaxLineLength of 40
	"d\u00a04\u30005\n" +
	"e 6 7\n" +
	"unterminated 8 9"

var framingWant = []point{
	{"a.b", 1700000000, 1},
	{"c;a=2;z=1", testNow, 2.5},
	{"d", 5, 4},
	{"e", 7, 6},
}

func TestStreamFraming(t *testing.T) {
	b := []byte(framingInput)
	want := counts{Points: 4, BadFields: 2, LineTooLong: 1, Unterminated: 1}
	check := func(name string, got []point, st counts) {
		t.Helper()
		if !slices.EqualFunc(got, framingWant, point.same) {
			t.Errorf("%s: points %v, want %v", name, got, framingWant)
		}
		if st != want {
			t.Errorf("%s: stats %+v, want %+v", name, st, want)
		}
	}
	got, st := feedChunks(b, 40)
	check("one Feed", got, st)
	for i := 0; i <= len(b); i++ {
		got, st := feedChunks(b, 40, i)
		check(fmt.Sprintf("cut at %d", i), got, st)
	}
	for i := 0; i <= len(b); i++ {
		for j := i; j <= len(b); j += 3 {
			got, st := feedChunks(b, 40, i, j)
			check(fmt.Sprintf("cut at %d, %d", i, j), got, st)
		}
	}
	// One byte at a time.
	cuts := make([]int, len(b))
	for i := range cuts {
		cuts[i] = i
	}
	got, st = feedChunks(b, 40, cuts...)
	check("bytewise", got, st)
}

func TestStreamLineLengthBoundary(t *testing.T) {
	const max = 16
	exact := "a 1 2" + strings.Repeat(" ", max-5) // max bytes without the '\n'
	over := exact + " "
	for _, c := range []struct {
		in   string
		pts  uint64
		long uint64
	}{
		{exact + "\n", 1, 0},
		{over + "\n", 0, 1},
		{exact[:max-1] + "\r\n", 1, 0},
		{over + "\nb 1 2\n", 1, 1},
		{over + over + over + "\nb 1 2\n", 1, 1},
		{over, 0, 1}, // no '\n' yet, already too long: counted once
	} {
		b := []byte(c.in)
		for i := 0; i <= len(b); i++ {
			_, st := feedChunks(b, max, i)
			if st.Points != c.pts || st.LineTooLong != c.long {
				t.Errorf("%q cut at %d: %+v, want %d points, %d too long", c.in, i, st, c.pts, c.long)
			}
		}
	}
}

// TestStreamHugeLine feeds a 10 MB line in 64 KiB reads: it is counted once,
// the Stream never holds more than a line's worth, and the next line arrives.
func TestStreamHugeLine(t *testing.T) {
	p, r, st := newTestParser()
	s := NewStream(p)
	huge := bytes.Repeat([]byte("x"), 10<<20)
	in := append([]byte("before 1 2\n"), huge...)
	in = append(in, "\nafter 3 4\n"...)
	for len(in) > 0 {
		n := min(len(in), 64<<10)
		s.Feed(in[:n])
		in = in[n:]
		if c := cap(s.partial); c > 2*DefaultMaxLineLength {
			t.Fatalf("partial buffer grew to %d bytes", c)
		}
	}
	s.Close()
	want := []point{{"before", 2, 1}, {"after", 4, 3}}
	if !slices.EqualFunc(r.points, want, point.same) {
		t.Errorf("points %v, want %v", r.points, want)
	}
	if got := snapshot(st); got != (counts{Points: 2, LineTooLong: 1}) {
		t.Errorf("stats %+v", got)
	}
}

func TestStreamClose(t *testing.T) {
	p, r, st := newTestParser()
	s := NewStream(p)
	s.Feed([]byte("a 1 2\nb 3 4"))
	s.Close()
	if len(r.points) != 1 || st.Unterminated.Load() != 1 {
		t.Fatalf("points %v, stats %+v: want the unterminated line dropped and counted", r.points, snapshot(st))
	}
	// The Stream starts afresh: nothing of "b 3 4" is left.
	s.Feed([]byte(" 5\nc 6 7\n"))
	s.Close()
	if len(r.points) != 2 || r.points[1].Name != "c" || st.BadFields.Load() != 1 {
		t.Errorf("after Close: points %v, stats %+v", r.points, snapshot(st))
	}
	// A Close while skipping an over-long line counts nothing more.
	s.MaxLineLength = 8
	s.Feed([]byte("0123456789"))
	s.Close()
	if got := snapshot(st); got.LineTooLong != 1 || got.Unterminated != 1 {
		t.Errorf("stats %+v", got)
	}
	s.Feed([]byte("d 1 2\n"))
	if len(r.points) != 3 {
		t.Errorf("after Close while skipping: points %v", r.points)
	}
}

// TestStreamFeedKeepsNoReference: Feed copies the partial line, so the caller
// may reuse its buffer.
func TestStreamFeedKeepsNoReference(t *testing.T) {
	p, r, _ := newTestParser()
	s := NewStream(p)
	buf := []byte("abc.d")
	s.Feed(buf)
	copy(buf, "XXXXX")
	s.Feed([]byte("ef 1 2\n"))
	if len(r.points) != 1 || r.points[0].Name != "abc.def" {
		t.Errorf("points %v", r.points)
	}
}
