package statsd

import "bytes"

// MaxLine is the longest line a stream may send; a longer one is dropped
// and counted as a bad line.
const MaxLine = 64 << 10

// Stream frames a TCP connection's bytes into lines for a Shard: each read
// is handed over up to its last '\n', and a line cut by the read boundary
// waits for its end. It is not safe for concurrent use.
type Stream struct {
	s       *Shard
	pending []byte
	skip    bool // dropping the rest of an over-long line
}

// NewStream returns a Stream feeding s.
func NewStream(s *Shard) *Stream { return &Stream{s: s} }

// Feed takes the next bytes of the stream.
func (st *Stream) Feed(b []byte) {
	last := bytes.LastIndexByte(b, '\n')
	if last < 0 {
		st.hold(b)
		return
	}
	head, tail := b[:last+1], b[last+1:]
	if len(st.pending) > 0 || st.skip {
		i := bytes.IndexByte(head, '\n')
		if st.skip {
			st.skip = false
		} else {
			st.pending = append(st.pending, head[:i+1]...)
			st.s.Packet(st.pending)
		}
		st.pending = st.pending[:0]
		head = head[i+1:]
	}
	if len(head) > 0 {
		st.s.Packet(head)
	}
	st.hold(tail)
}

func (st *Stream) hold(b []byte) {
	if st.skip {
		return
	}
	if len(st.pending)+len(b) > MaxLine {
		st.pending = st.pending[:0]
		st.skip = true
		st.s.countBad(1)
		return
	}
	st.pending = append(st.pending, b...)
}

// Close parses a last line the stream ended without a '\n'.
func (st *Stream) Close() {
	if len(st.pending) > 0 && !st.skip {
		st.s.Packet(st.pending)
	}
	st.pending = nil
}
