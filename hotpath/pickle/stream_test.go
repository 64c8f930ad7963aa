package pickle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// streamBytes is a connection's worth of frames: good ones of several
// protocols, a rejected one, and an empty one between them.
func streamBytes() []byte {
	var b []byte
	b = append(b, frame(encodeProto2(typicalPoints(20), true))...)
	b = append(b, frame(python2Frames["py2/p0"])...)
	b = append(b, frame([]byte("cos\nsystem\n(S'true'\ntR."))...)
	b = append(b, frame(nil)...)
	b = append(b, frame(python2Frames["p4-frame"])...)
	b = append(b, frame(encodeProto2(typicalPoints(1), false))...)
	return b
}

func wantStream(t *testing.T) ([]point, *Stats) {
	t.Helper()
	s := NewStream(NewDecoder(nil), nil)
	var r recorder
	s.sink = &r
	if err := s.Feed(streamBytes()); err != nil {
		t.Fatal(err)
	}
	st := s.dec.Stats()
	if st.Frames.Load() != 4 || st.BadFrames[CauseOpcode].Load() != 1 || st.BadFrames[CauseTruncated].Load() != 1 {
		t.Fatalf("frames %d, opcode %d, truncated %d", st.Frames.Load(), st.BadFrames[CauseOpcode].Load(), st.BadFrames[CauseTruncated].Load())
	}
	if len(r.points) != 20+6+1+1 {
		t.Fatalf("%d points", len(r.points))
	}
	return r.points, st
}

// TestStreamSplits feeds the stream cut at every byte offset, in three
// pieces around every offset, and one byte at a time.
func TestStreamSplits(t *testing.T) {
	want, _ := wantStream(t)
	b := streamBytes()
	d := NewDecoder(nil) // shared by all streams, as in an event loop
	check := func(name string, pieces ...[]byte) {
		t.Helper()
		var r recorder
		s := NewStream(d, &r)
		for _, p := range pieces {
			if err := s.Feed(p); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		if !samePoints(r.points, want) {
			t.Fatalf("%s: got %d points, want %d", name, len(r.points), len(want))
		}
		if len(s.buf) != 0 {
			t.Fatalf("%s: %d bytes left over", name, len(s.buf))
		}
	}
	for i := 0; i <= len(b); i++ {
		check("split", b[:i], b[i:])
		j := min(i+3, len(b))
		check("three", b[:i], b[i:j], b[j:])
	}
	var pieces [][]byte
	for i := range b {
		pieces = append(pieces, b[i:i+1])
	}
	check("bytewise", pieces...)
	// Feed must not keep the caller's buffer: overwrite it after each call.
	var r recorder
	s := NewStream(d, &r)
	buf := make([]byte, 7)
	for i := 0; i < len(b); i += 7 {
		n := copy(buf, b[i:])
		if err := s.Feed(buf[:n]); err != nil {
			t.Fatal(err)
		}
		clear(buf)
	}
	if !samePoints(r.points, want) {
		t.Fatalf("reused buffer: got %d points, want %d", len(r.points), len(want))
	}
}

// TestStreamOverCap: a length prefix over the cap makes Feed ask for the
// connection to be closed, after the frames before it were delivered; a
// frame of exactly the cap is fine.
func TestStreamOverCap(t *testing.T) {
	good := frame(encodeProto2(typicalPoints(2), true))
	const limit = 200
	exact := encodeProto2(typicalPoints(1), true)
	exact = append(exact, bytes.Repeat([]byte("#"), limit-len(exact))...) // bytes after STOP are ignored
	over := binary.BigEndian.AppendUint32(nil, limit+1)
	all := append(append(append(append(bytes.Clone(good), frame(exact)...), good...), over...), good...)

	for split := 0; split <= len(all); split++ {
		d := NewDecoder(nil)
		var r recorder
		s := NewStream(d, &r)
		s.MaxFrameLength = limit
		err1 := s.Feed(all[:split])
		err2 := s.Feed(all[split:])
		err := err1
		if err == nil {
			err = err2
		}
		if !errors.Is(err, ErrFrameTooLarge) {
			t.Fatalf("split %d: got %v", split, err)
		}
		if len(r.points) != 5 {
			t.Fatalf("split %d: %d points delivered, want the 5 before the bad prefix", split, len(r.points))
		}
		if err := s.Feed(good); !errors.Is(err, ErrFrameTooLarge) {
			t.Fatalf("split %d: Feed after the error: %v", split, err)
		}
		if len(r.points) != 5 || d.Stats().BadFrames[CauseTooLarge].Load() != 1 {
			t.Fatalf("split %d: closed stream took more", split)
		}
	}

	// The default cap is carbon's 2**20.
	s := NewStream(NewDecoder(nil), &counter{})
	big := append(encodeProto2(typicalPoints(1), true), make([]byte, MaxFrameLength)...)[:MaxFrameLength]
	if err := s.Feed(frame(big)); err != nil {
		t.Fatalf("frame of %d bytes: %v", MaxFrameLength, err)
	}
	if err := s.Feed(binary.BigEndian.AppendUint32(nil, MaxFrameLength+1)); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("frame of %d bytes: %v", MaxFrameLength+1, err)
	}
}

func TestStreamOnBadFrame(t *testing.T) {
	var got []error
	s := NewStream(NewDecoder(nil), &counter{})
	s.OnBadFrame = func(err error) { got = append(got, err) }
	if err := s.Feed(streamBytes()); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %v", got)
	}
	var e *Error
	if !errors.As(got[0], &e) || e.Cause != CauseOpcode || e.Opcode != 'c' {
		t.Fatalf("got %v", got[0])
	}
	if want := "pickle: opcode: GLOBAL (0x63) at offset 0"; got[0].Error() != want {
		t.Fatalf("got %q, want %q", got[0], want)
	}
}

// TestStreamZeroAlloc: feeding whole frames, or frames split across reads,
// allocates nothing once warm.
func TestStreamZeroAlloc(t *testing.T) {
	f := frame(encodeProto2(typicalPoints(500), true))
	two := append(bytes.Clone(f), f...)
	cut := len(f) / 3
	s := NewStream(NewDecoder(nil), &counter{})
	feed := func() {
		if err := s.Feed(two[:cut]); err != nil {
			t.Fatal(err)
		}
		if err := s.Feed(two[cut : len(f)+cut]); err != nil {
			t.Fatal(err)
		}
		if err := s.Feed(two[len(f)+cut:]); err != nil {
			t.Fatal(err)
		}
	}
	feed()
	if n := testing.AllocsPerRun(50, feed); n != 0 {
		t.Fatalf("%v allocations", n)
	}
	whole := func() {
		if err := s.Feed(f); err != nil {
			t.Fatal(err)
		}
	}
	if n := testing.AllocsPerRun(50, whole); n != 0 {
		t.Fatalf("whole frames: %v allocations", n)
	}
}
