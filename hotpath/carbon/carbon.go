// Package carbon parses the carbon plaintext protocol (TCP streams and UDP datagrams) into points,
// with carbon 1.1's tagged-name normalisation, metric-name safety checks and whisper file layout.
package carbon

import (
	"errors"
	"sync/atomic"
)

// Sink receives every point the parser accepts; the storage write path implements it.
// Store must not keep name after it returns: name points into the parser's
// buffers or the caller's, so a sink that keeps it copies it.
type Sink interface {
	Store(name []byte, timestamp int64, value float64)
}

// Flusher is a Sink that holds points back to store them in batches. A
// Parser calls Flush whenever it flushes its counts: when Stream.Feed,
// Stream.Close and Packet return, so no point outlives the call that parsed
// it in the sink's buffer.
type Flusher interface {
	Flush()
}

// Limits of the protocol as statbox speaks it. PROTOCOL.md explains each.
const (
	// DefaultMaxLineLength is the longest line, in bytes without its '\n', that a
	// Stream accepts unless told otherwise: Twisted's LineOnlyReceiver.MAX_LENGTH,
	// which carbon's line receiver inherits.
	DefaultMaxLineLength = 16384
	// MaxNameLength is the longest metric name accepted, in bytes: PATH_MAX.
	MaxNameLength = 4096
	// MaxSegmentLength is the longest dot-separated segment of a metric name: NAME_MAX.
	// The last segment of an untagged name gets ".wsp" appended, so it may be 4 bytes shorter.
	MaxSegmentLength = 255
)

// The causes for which a line is dropped. ParseLine returns them; the Stats
// counter of the same name (without Err) counts them.
var (
	// ErrBadFields is the cause for a line without exactly three fields (a blank line included).
	ErrBadFields = errors.New("carbon: line does not have 3 fields")
	// ErrBadValue is the cause for a value that is not a number as Python's float() reads one.
	ErrBadValue = errors.New("carbon: bad value")
	// ErrBadTimestamp is the cause for a timestamp that is not a number, or is NaN, infinite or beyond int64.
	ErrBadTimestamp = errors.New("carbon: bad timestamp")
	// ErrBadName is the cause for a metric name that fails the safety rules of CheckName.
	ErrBadName = errors.New("carbon: bad metric name")
	// ErrBadTags is the cause for a tagged name that carbon's TaggedSeries.parse rejects.
	ErrBadTags = errors.New("carbon: bad tags")
	// ErrNaNValue is the cause for a NaN value: carbon drops such points without a word, and so do we.
	ErrNaNValue = errors.New("carbon: value is NaN")
)

// Stats counts what the parsers did. One Stats is shared by every Parser of a
// listener; its counters are safe to read at any time.
type Stats struct {
	// Points is the number of points handed to the Sink.
	Points atomic.Uint64
	// BadFields counts lines with other than three fields, blank lines included.
	BadFields atomic.Uint64
	// BadValue counts lines whose value is not a number.
	BadValue atomic.Uint64
	// BadTimestamp counts lines whose timestamp is not a number or not a representable time.
	BadTimestamp atomic.Uint64
	// BadName counts lines whose metric name fails the safety rules.
	BadName atomic.Uint64
	// BadTags counts lines whose tagged name carbon's parser rejects.
	BadTags atomic.Uint64
	// LineTooLong counts lines longer than the Stream's MaxLineLength.
	LineTooLong atomic.Uint64
	// NaNValues counts points dropped because their value is NaN (not bad lines: carbon drops them without a word).
	NaNValues atomic.Uint64
	// Unterminated counts final lines without '\n' dropped by Stream.Close, as carbon drops them.
	Unterminated atomic.Uint64
}

// BadLines is the number of lines dropped as invalid: the sum of the Bad*
// counters and LineTooLong (carbon logs each of these as an invalid line).
func (s *Stats) BadLines() uint64 {
	return s.BadFields.Load() + s.BadValue.Load() + s.BadTimestamp.Load() +
		s.BadName.Load() + s.BadTags.Load() + s.LineTooLong.Load()
}

// counter indexes the per-parser pending counts that flush adds to Stats.
type counter int

const (
	cPoints counter = iota
	cBadFields
	cBadValue
	cBadTimestamp
	cBadName
	cBadTags
	cLineTooLong
	cNaNValues
	cUnterminated
	nCounters
)

func (s *Stats) counter(c counter) *atomic.Uint64 {
	switch c {
	case cPoints:
		return &s.Points
	case cBadFields:
		return &s.BadFields
	case cBadValue:
		return &s.BadValue
	case cBadTimestamp:
		return &s.BadTimestamp
	case cBadName:
		return &s.BadName
	case cBadTags:
		return &s.BadTags
	case cLineTooLong:
		return &s.LineTooLong
	case cNaNValues:
		return &s.NaNValues
	default:
		return &s.Unterminated
	}
}

// errCounter maps a line error to its counter.
func errCounter(err error) counter {
	switch err {
	case ErrBadFields:
		return cBadFields
	case ErrBadValue:
		return cBadValue
	case ErrBadTimestamp:
		return cBadTimestamp
	case ErrBadName:
		return cBadName
	case ErrBadTags:
		return cBadTags
	default:
		return cNaNValues
	}
}
