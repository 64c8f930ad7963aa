package ebpf

import "math"

// histSlots is HIST_SLOTS of headers/statbox.h: log2 buckets of
// microseconds, slot 0 holding [0, 2) µs and slot i holding [2^i, 2^(i+1)).
const histSlots = 32

// hist is one log2 latency histogram as the kernel lays it out.
type hist [histSlots]uint64

// histStats is what an interval's histogram is reported as, in microseconds.
type histStats struct {
	count              uint64
	p50, p90, p99, max float64
}

// slotBounds returns the range [lo, hi) of microseconds that slot i holds.
func slotBounds(i int) (lo, hi float64) {
	if i == 0 {
		return 0, 2
	}
	return math.Ldexp(1, i), math.Ldexp(1, i+1)
}

// summarize estimates the percentiles of the interval's histogram h.
// Within the bucket that holds the rank the values are taken as spread
// evenly, so an estimate is off by at most the bucket's width (a factor of
// two); max is the upper bound of the highest bucket with a value, since
// the kernel keeps no exact maximum.
func summarize(h *hist) histStats {
	var s histStats
	for _, c := range h {
		s.count += c
	}
	if s.count == 0 {
		return s
	}
	s.p50 = quantile(h, s.count, 0.50)
	s.p90 = quantile(h, s.count, 0.90)
	s.p99 = quantile(h, s.count, 0.99)
	for i := histSlots - 1; i >= 0; i-- {
		if h[i] != 0 {
			_, s.max = slotBounds(i)
			break
		}
	}
	return s
}

// quantile returns the q-quantile of the total values counted in h.
func quantile(h *hist, total uint64, q float64) float64 {
	rank := q * float64(total)
	var seen float64
	for i, c := range h {
		if c == 0 {
			continue
		}
		if seen+float64(c) >= rank {
			lo, hi := slotBounds(i)
			return lo + (hi-lo)*(rank-seen)/float64(c)
		}
		seen += float64(c)
	}
	_, hi := slotBounds(histSlots - 1)
	return hi
}

// delta sets d to cur - prev, bucket by bucket, and prev to cur: the kernel
// only ever adds, so the difference is what the interval saw.
func (d *hist) delta(cur, prev *hist) {
	for i := range cur {
		d[i] = cur[i] - prev[i]
	}
	*prev = *cur
}
