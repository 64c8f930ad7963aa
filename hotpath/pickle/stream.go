package pickle

import (
	"encoding/binary"
	"fmt"
)

// MaxFrameLength is the default cap on a frame's length, carbon's
// PICKLE_RECEIVER_MAX_LENGTH (2**20, lib/carbon/conf.py). Twisted's
// IntNStringReceiver refuses only a length greater than the cap.
const MaxFrameLength = 1 << 20

// retainBuffer is the most a Stream keeps allocated between frames, so idle
// connections that once sent a large frame hold little.
const retainBuffer = 64 << 10

// Stream cuts one TCP connection's bytes into frames, a 4-byte big-endian
// length then that many bytes of pickle, and decodes each. Bytes of an
// incomplete frame are kept until the next Feed.
type Stream struct {
	// MaxFrameLength caps a frame's declared length; 0 means MaxFrameLength.
	MaxFrameLength int
	// OnBadFrame, if not nil, is called with the *Error of each rejected
	// frame (for debug logging); the stream goes on with the next frame.
	OnBadFrame func(err error)

	dec  *Decoder
	sink Sink
	buf  []byte // an incomplete frame, length prefix included
	err  error
}

// NewStream returns a Stream that decodes with d into sink. Several Streams
// may share one Decoder if they are fed from one goroutine.
func NewStream(d *Decoder, sink Sink) *Stream {
	return &Stream{dec: d, sink: sink}
}

// Feed takes the next bytes read from the connection and decodes every
// frame they complete, in order. A frame the decoder rejects is counted and
// skipped, as carbon ignores an invalid pickle and keeps the connection.
//
// Feed returns a non-nil error, wrapping ErrFrameTooLarge, when a length
// prefix is over the cap: the caller must close the connection, as carbon
// does. Frames completed before that prefix have been delivered; the bytes
// after it are dropped, and every later Feed returns the same error.
func (s *Stream) Feed(b []byte) error {
	if s.err != nil {
		return s.err
	}
	if len(s.buf) > 0 {
		// Complete the pending frame with as few bytes of b as it needs;
		// the rest of b is cut in place below.
		if len(s.buf) < 4 {
			k := min(4-len(s.buf), len(b))
			s.buf = append(s.buf, b[:k]...)
			b = b[k:]
			if len(s.buf) < 4 {
				return nil
			}
		}
		n := binary.BigEndian.Uint32(s.buf)
		if err := s.check(n); err != nil {
			return err
		}
		need := 4 + int(n) - len(s.buf)
		k := min(need, len(b))
		s.buf = append(s.buf, b[:k]...)
		b = b[k:]
		if k < need {
			return nil
		}
		s.decode(s.buf[4:])
		s.buf = s.buf[:0]
		if cap(s.buf) > retainBuffer {
			s.buf = nil
		}
	}
	for len(b) >= 4 {
		n := binary.BigEndian.Uint32(b)
		if err := s.check(n); err != nil {
			return err
		}
		if len(b)-4 < int(n) {
			break
		}
		s.decode(b[4 : 4+n])
		b = b[4+n:]
	}
	if len(b) > 0 {
		s.buf = append(s.buf, b...)
	}
	return nil
}

func (s *Stream) check(n uint32) error {
	limit := s.MaxFrameLength
	if limit <= 0 {
		limit = MaxFrameLength
	}
	if uint64(n) <= uint64(limit) {
		return nil
	}
	s.dec.stats.BadFrames[CauseTooLarge].Add(1)
	s.err = fmt.Errorf("%w: %d bytes, cap %d", ErrFrameTooLarge, n, limit)
	s.buf = nil
	return s.err
}

func (s *Stream) decode(frame []byte) {
	if err := s.dec.Decode(frame, s.sink); err != nil && s.OnBadFrame != nil {
		s.OnBadFrame(err)
	}
}
