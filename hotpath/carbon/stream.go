package carbon

import "bytes"

// Stream frames the bytes of one TCP connection into lines for a Parser, as
// carbon's MetricLineReceiver (Twisted's LineOnlyReceiver with delimiter "\n")
// does, except that a line longer than MaxLineLength is dropped and counted
// (LineTooLong) and the connection goes on with the next line, where carbon
// closes the connection.
type Stream struct {
	// MaxLineLength is the longest line accepted, in bytes without the '\n'.
	// Zero means DefaultMaxLineLength.
	MaxLineLength int

	p        *Parser
	partial  []byte // the start of a line whose '\n' has not come yet
	skipping bool   // dropping an over-long line up to its '\n'
}

// NewStream returns a Stream whose lines p parses.
func NewStream(p *Parser) *Stream {
	return &Stream{p: p}
}

func (s *Stream) max() int {
	if s.MaxLineLength > 0 {
		return s.MaxLineLength
	}
	return DefaultMaxLineLength
}

// Feed parses every line that b completes. The bytes after the last '\n' are
// copied and kept for the next call, so b may be reused once Feed returns.
func (s *Stream) Feed(b []byte) {
	max := s.max()
	p := s.p
	if s.skipping {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return
		}
		s.skipping = false
		b = b[i+1:]
	}
	if len(s.partial) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if len(s.partial)+len(b) > max {
				s.tooLong()
			} else {
				s.partial = append(s.partial, b...)
			}
			p.Flush()
			return
		}
		if len(s.partial)+i > max {
			p.pending[cLineTooLong]++
		} else {
			s.partial = append(s.partial, b[:i]...)
			p.line(s.partial)
		}
		s.partial = s.partial[:0]
		b = b[i+1:]
	}
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			break
		}
		if i > max {
			p.pending[cLineTooLong]++
		} else {
			p.line(b[:i])
		}
		b = b[i+1:]
	}
	if len(b) > max {
		s.tooLong()
	} else {
		s.partial = append(s.partial, b...)
	}
	p.Flush()
}

// tooLong counts the line in progress as too long and skips the rest of it.
func (s *Stream) tooLong() {
	s.p.pending[cLineTooLong]++
	s.partial = s.partial[:0]
	s.skipping = true
}

// Close ends the stream, at the end of the connection or when draining: a
// final line without its '\n' is dropped and counted as Unterminated, as
// carbon drops it (LineOnlyReceiver keeps it in _buffer, and nothing reads
// _buffer at connectionLost). The Stream may then be used for a new connection.
func (s *Stream) Close() {
	if len(s.partial) > 0 {
		s.p.pending[cUnterminated]++
	}
	s.partial = s.partial[:0]
	s.skipping = false
	s.p.Flush()
}
