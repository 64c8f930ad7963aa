package proc

import (
	"math"
	"strconv"
	"sync/atomic"
)

// Counts are what the collectors skipped or repaired, for self-metrics.
type Counts struct {
	Wraps     atomic.Uint64 // 32-bit counters that wrapped, counted across the wrap
	Resets    atomic.Uint64 // counters that went backwards otherwise: sample skipped
	Malformed atomic.Uint64 // lines or files that did not parse: skipped
	Timeouts  atomic.Uint64 // statfs calls given up on (a hung network mount)
}

const max32 = 1<<32 - 1

// delta is a counter's increase from old to cur. A decrease from the upper
// half of the 32-bit range is a 32-bit wrap (drivers and old kernels keep
// some counters in 32 bits), counted as Diamond does, cur - old + (2^32-1),
// one short of the modulus. Any other decrease is a reset (a device
// re-created, a counter cleared; /proc/stat's iowait may also go back, see
// proc(5)): ok is false and the sample is skipped.
func delta(old, cur uint64, c *Counts) (d uint64, ok bool) {
	if cur >= old {
		return cur - old, true
	}
	if old <= max32 && old > max32/2 {
		c.Wraps.Add(1)
		return cur + max32 - old, true
	}
	c.Resets.Add(1)
	return 0, false
}

// round is v as Diamond's graphite handler prints it, "%0.<prec>f", read
// back: carbon stored the printed text, so a dashboard saw the rounded
// value. Both Python's % and strconv round the exact binary value
// correctly, halves to even.
func round(v float64, prec int) float64 {
	if prec == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return math.RoundToEven(v)
	}
	var b [40]byte
	s := strconv.AppendFloat(b[:0], v, 'f', prec, 64)
	r, err := strconv.ParseFloat(string(s), 64)
	if err != nil {
		return v
	}
	return r
}
