package pickle

import (
	"errors"
	"fmt"
	"sync/atomic"
)

// Cause says why a frame was rejected. Stats.BadFrames is indexed by it.
type Cause uint8

// The causes of a rejected frame.
const (
	// CauseOpcode: an opcode outside the accepted subset (GLOBAL, REDUCE,
	// dicts, sets, ... or a byte that is no opcode at all).
	CauseOpcode Cause = iota
	// CauseTruncated: the frame ended before STOP or inside an argument.
	CauseTruncated
	// CauseTooDeep: more than MaxDepth marks open at once.
	CauseTooDeep
	// CauseTooLarge: a length prefix over the stream's cap (the connection
	// must be closed), or a frame handed to Decode beyond 2 GiB.
	CauseTooLarge
	// CauseLimit: a memo index or object count beyond what the frame's size
	// allows.
	CauseLimit
	// CauseMalformed: anything else the pickle machine refuses: stack
	// underflow, APPEND to a non-list, GET of an unset memo key, a bad
	// text argument, an unsupported protocol, or a result that is not a
	// list or tuple.
	CauseMalformed

	// NumCauses is the number of causes, the length of Stats.BadFrames.
	NumCauses
)

var causeNames = [NumCauses]string{
	CauseOpcode:    "opcode",
	CauseTruncated: "truncated",
	CauseTooDeep:   "too_deep",
	CauseTooLarge:  "too_large",
	CauseLimit:     "limit",
	CauseMalformed: "malformed",
}

// String returns the cause's name as used in self-metrics (bad_frames.NAME).
func (c Cause) String() string {
	if c < NumCauses {
		return causeNames[c]
	}
	return fmt.Sprintf("cause(%d)", uint8(c))
}

// Stats counts what decoders and streams saw. One Stats may be shared by
// every decoder of a listener; all counters are atomic.
type Stats struct {
	// Frames counts frames decoded to the end (their entries were looked at).
	Frames atomic.Uint64
	// Points counts points passed to the Sink.
	Points atomic.Uint64
	// BadEntries counts list entries skipped because they were not
	// (name, (timestamp, value)) with a str or bytes name and numbers that
	// carbon's float() would take and a finite timestamp.
	BadEntries atomic.Uint64
	// NaNValues counts points dropped because the value was NaN, as carbon's
	// MetricReceiver.metricReceived does.
	NaNValues atomic.Uint64
	// BadFrames counts rejected frames by cause; nothing of a rejected
	// frame reaches the Sink.
	BadFrames [NumCauses]atomic.Uint64
}

// BadFramesTotal returns the number of rejected frames of any cause.
func (s *Stats) BadFramesTotal() uint64 {
	var n uint64
	for i := range s.BadFrames {
		n += s.BadFrames[i].Load()
	}
	return n
}

// Error describes a rejected frame.
type Error struct {
	Cause  Cause // why
	Offset int   // byte offset in the frame (after the length prefix)
	Opcode byte  // opcode at Offset
}

// Error returns a one-line description such as
// "pickle: opcode: GLOBAL (0x63) at offset 0".
func (e *Error) Error() string {
	if e.Cause == CauseTruncated {
		return fmt.Sprintf("pickle: truncated: frame ends at offset %d before STOP or inside an argument", e.Offset)
	}
	name := opNames[e.Opcode]
	if name == "" {
		name = "byte"
	}
	return fmt.Sprintf("pickle: %s: %s (0x%02x) at offset %d", e.Cause, name, e.Opcode, e.Offset)
}

// ErrFrameTooLarge is returned (wrapped) by Stream.Feed when a frame's
// length prefix is over the cap. Like carbon (Twisted's
// IntNStringReceiver.lengthLimitExceeded), the connection is then closed.
var ErrFrameTooLarge = errors.New("pickle: frame length over the cap")
