package whisper

import (
	"fmt"
	"math"
)

// Range is the span and step of fetched values: the first value is at From,
// and values follow every Step seconds up to, not including, Until.
type Range struct {
	From, Until, Step int64
}

// Missing is the value Fetch gives where whisper.py gives None: a NaN with a
// payload of its own (math.NaN's), so that a NaN stored in a file, which
// whisper.py writes as 0x7ff8000000000000, still reads as a value.
var Missing = math.Float64frombits(missingBits)

const missingBits = 0x7ff8000000000001

// IsMissing reports whether v is Missing, not merely any NaN.
func IsMissing(v float64) bool { return math.Float64bits(v) == missingBits }

// Fetch appends to dst the values between from and until, as whisper.py's
// fetch() does, with Missing where whisper.py gives None. The archive is the most
// precise one that covers from; the range is clamped to the file's retention
// and to now, and ErrNoData says it lay wholly outside. Intervals start one
// step after from, as in whisper.py.
func (f *File) Fetch(dst []float64, from, until, now int64) (Range, []float64, error) {
	return f.FetchArchive(dst, -1, from, until, now)
}

// FetchArchive is Fetch from archive ai, or from the archive Fetch would pick
// when ai is negative. whisper.py's archiveToSelect names an archive by its
// precision; ArchiveBySeconds finds its index.
func (f *File) FetchArchive(dst []float64, ai int, from, until, now int64) (Range, []float64, error) {
	if from > until {
		return Range{}, dst, fmt.Errorf("Invalid time interval: from time '%d' is after until time '%d'", from, until)
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.closed {
		return Range{}, dst, fmt.Errorf("fetch %s: file is closed", f.path)
	}
	h := &f.Header
	oldest := now - int64(h.MaxRetention)
	if from > now || until < oldest {
		return Range{}, dst, ErrNoData
	}
	from = max(from, oldest)
	until = min(until, now)
	if ai < 0 {
		diff := now - from
		ai = 0
		for ai < len(h.Archives)-1 && h.Archives[ai].Retention() < diff {
			ai++
		}
	}
	if ai >= len(h.Archives) {
		return Range{}, dst, fmt.Errorf("fetch %s: no archive %d", f.path, ai)
	}
	r, dst := f.archiveFetch(dst, &h.Archives[ai], from, until)
	return r, dst, nil
}

// ArchiveBySeconds returns the index of the archive with the given precision.
func (h *Header) ArchiveBySeconds(secondsPerPoint uint32) (int, error) {
	for i, a := range h.Archives {
		if a.SecondsPerPoint == secondsPerPoint {
			return i, nil
		}
	}
	return -1, fmt.Errorf("Invalid granularity: %d", secondsPerPoint)
}

// ReadArchive is whisper.py's __archive_fetch: the values of archive ai from
// from to until, with no check against the retention, so a range longer than
// the archive wraps around it. Merge, fill and resize read through it.
func (f *File) ReadArchive(dst []float64, ai int, from, until int64) (Range, []float64) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.archiveFetch(dst, &f.Header.Archives[ai], from, until)
}

func (f *File) archiveFetch(dst []float64, a *ArchiveInfo, from, until int64) (Range, []float64) {
	step := int64(a.SecondsPerPoint)
	fromInterval := align(from, step) + step
	untilInterval := align(until, step) + step
	if fromInterval == untilInterval {
		untilInterval += step // a zero-length range still gets the next point
	}
	r := Range{From: fromInterval, Until: untilInterval, Step: step}
	base, _ := f.pointAt(int64(a.Offset))
	if base == 0 {
		for i := floorDiv(untilInterval-fromInterval, step); i > 0; i-- {
			dst = append(dst, Missing)
		}
		return r, dst
	}
	fromOffset := offsetOf(a, base, fromInterval)
	untilOffset := offsetOf(a, base, untilInterval)
	var n int64
	if fromOffset < untilOffset {
		n = (untilOffset - fromOffset) / PointSize
	} else {
		n = (a.end() - fromOffset + untilOffset - int64(a.Offset)) / PointSize
	}
	dst = growFloats(dst, int(n))
	out := dst[len(dst)-int(n):]
	off, end, want := fromOffset, a.end(), fromInterval
	for k := range out {
		if off >= end {
			off = int64(a.Offset)
		}
		t, v := f.pointAt(off)
		if t == want {
			out[k] = v
		} else {
			out[k] = Missing
		}
		off += PointSize
		want += step
	}
	return r, dst
}

// growFloats extends dst by n elements, reusing its capacity.
func growFloats(dst []float64, n int) []float64 {
	if cap(dst)-len(dst) < n {
		grown := make([]float64, len(dst), len(dst)+n)
		copy(grown, dst)
		dst = grown
	}
	return dst[:len(dst)+n]
}
