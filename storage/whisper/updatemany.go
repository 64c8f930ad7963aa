package whisper

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sync"
)

// scratch is UpdateMany's working memory, shared between files rather than
// kept by each: a tree of many files would otherwise hold a set of buffers
// per file, each cold by the time its file is written again.
type scratch struct {
	aligned    []Point
	lowerKeys  []int64
	lowerOrder []int64
	pyset      pySet
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// UpdateMany writes points as whisper.py's update_many() does: each point goes
// to the most precise archive whose retention covers its age (points older than
// the file's retention are dropped, points from the future go to the first
// archive), and each archive written propagates to the ones below it. Of two
// points with the same timestamp the one given first wins. UpdateMany reorders
// points in place; it allocates nothing once the file has seen a batch as large.
func (f *File) UpdateMany(points []Point, now int64) error {
	if len(points) == 0 {
		return nil
	}
	// whisper.py fails to pack an interval past 2^32-1 before it writes
	// anything: check first, so that a batch is written whole or not at all.
	for _, p := range points {
		if p.Timestamp > math.MaxUint32-1<<20 && f.intervalOf(p, now) > math.MaxUint32 {
			return fmt.Errorf("update %s: timestamp %d does not fit whisper's 32-bit field", f.path, p.Timestamp)
		}
	}
	return f.write(func() error { return f.updateMany(points, now) })
}

func (f *File) updateMany(points []Point, now int64) error {
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	// whisper.py sorts newest first with a stable sort, then reverses each
	// archive's share: reversing first and sorting oldest first is the same.
	// With no two timestamps equal, points oldest first stay as they are and
	// points newest first (the cache's usual batch) need the reverse alone.
	switch {
	case increasing(points):
	case decreasing(points):
		slices.Reverse(points)
	default:
		slices.Reverse(points)
		slices.SortStableFunc(points, func(a, b Point) int { return cmp.Compare(a.Timestamp, b.Timestamp) })
	}
	archives := f.Header.Archives
	// The first archive's first slot is on the header's page, mapped since
	// Open: reading it costs no fault.
	f.fresh = f.base(&archives[0]) == 0
	defer func() { f.fresh = false }()
	a, end := 0, len(points)
	for i := len(points) - 1; i >= 0; i-- {
		age := now - points[i].Timestamp
		for archives[a].Retention() < age {
			if end > i+1 {
				if err := f.archiveUpdateMany(s, a, points[i+1:end]); err != nil {
					return err
				}
			}
			end = i + 1
			a++
			if a == len(archives) {
				return nil // the rest are older than the file's retention
			}
		}
	}
	if end > 0 {
		return f.archiveUpdateMany(s, a, points[:end])
	}
	return nil
}

// archiveUpdateMany writes points, oldest first, into archive ai and propagates
// them, as whisper.py's __archive_update_many does.
func (f *File) archiveUpdateMany(s *scratch, ai int, points []Point) error {
	a := &f.Header.Archives[ai]
	step := int64(a.SecondsPerPoint)
	aligned := s.aligned[:0]
	for _, p := range points {
		aligned = append(aligned, Point{p.Timestamp - floorMod(p.Timestamp, step), p.Value})
	}
	s.aligned = aligned

	// Points are written in runs of consecutive intervals, each run placed by
	// its start relative to the archive's base (the first slot's interval); an
	// empty archive takes the first run's start as its base. whisper.py starts
	// a run's position from its last interval minus its length, and lets a
	// point follow an interval of 0 as if consecutive: both are kept.
	base := f.base(a)
	archiveEnd := a.end()
	var runFirst, runLen int
	var prev int64
	flush := func() error {
		if runLen == 0 {
			return nil
		}
		start := prev - step*int64(runLen-1)
		if base == 0 {
			base = start
		}
		// A run longer than the archive (points ahead of now, which no age
		// limit drops) wraps onto itself: only its last a.Points points
		// would stay, each in its own slot, and only those are written.
		// whisper.py writes the rest past the archive's end, into the next
		// archive or beyond the file; statbox refused the whole update.
		skip := max(0, runLen-int(a.Points))
		off := offsetOf(a, base, start+int64(skip)*step)
		for k := skip; k < runLen; k++ {
			p := aligned[runFirst+k]
			if off >= archiveEnd {
				off = int64(a.Offset) + (off - archiveEnd)
				archiveEnd = 1 << 62 // whisper.py wraps a run only once
			}
			if err := f.putPoint(off, p.Timestamp, p.Value); err != nil {
				return err
			}
			off += PointSize
		}
		archiveEnd = a.end()
		return nil
	}
	// Deduplicate in place: of a run of equal intervals the last one stays.
	n := 0
	for i := range aligned {
		if i+1 < len(aligned) && aligned[i].Timestamp == aligned[i+1].Timestamp {
			continue
		}
		aligned[n] = aligned[i]
		n++
	}
	unique := aligned[:n]
	for i, p := range unique {
		if runLen == 0 || prev == 0 || p.Timestamp == prev+step {
			if runLen == 0 {
				runFirst = i
			}
			runLen++
		} else {
			if err := flush(); err != nil {
				return err
			}
			runFirst, runLen = i, 1
		}
		prev = p.Timestamp
	}
	if err := flush(); err != nil {
		return err
	}

	// Propagate every lower interval touched, archive by archive, while any
	// of them had enough points, in the order whisper.py's set() gives them.
	higher := a
	for li := range f.Header.Archives {
		lower := &f.Header.Archives[li]
		if lower.SecondsPerPoint <= a.SecondsPerPoint {
			continue
		}
		lstep := int64(lower.SecondsPerPoint)
		keys := s.lowerKeys[:0]
		for _, p := range unique {
			keys = append(keys, p.Timestamp-floorMod(p.Timestamp, lstep))
		}
		s.lowerKeys = keys
		if len(keys) > 0 && f.base(lower) != 0 && keys[len(keys)-1]-keys[0] < lower.Retention() {
			// The order matters only for the first interval written into an
			// empty archive, which becomes its base; once it has one, each
			// interval has its own slot (the keys, ascending, span less than
			// the archive), so ascending order writes the same bytes as the
			// set's, without building it.
			s.lowerOrder = appendDistinct(s.lowerOrder[:0], keys)
		} else {
			s.lowerOrder = s.pyset.order(s.lowerOrder[:0], keys)
		}
		further := false
		for _, iv := range s.lowerOrder {
			ok, err := f.propagate(iv, higher, lower)
			if err != nil {
				return err
			}
			further = further || ok
		}
		if !further {
			break
		}
		higher = lower
	}
	return nil
}

// intervalOf is where UpdateMany would put p: its timestamp aligned to the
// step of the first archive that covers its age.
func (f *File) intervalOf(p Point, now int64) int64 {
	for _, a := range f.Header.Archives {
		if a.Retention() >= now-p.Timestamp {
			return p.Timestamp - floorMod(p.Timestamp, int64(a.SecondsPerPoint))
		}
	}
	return 0 // dropped
}

// increasing reports whether the points' timestamps strictly increase.
func increasing(points []Point) bool {
	for i := 1; i < len(points); i++ {
		if points[i].Timestamp <= points[i-1].Timestamp {
			return false
		}
	}
	return true
}

// decreasing reports whether the points' timestamps strictly decrease.
func decreasing(points []Point) bool {
	for i := 1; i < len(points); i++ {
		if points[i].Timestamp >= points[i-1].Timestamp {
			return false
		}
	}
	return true
}

// appendDistinct appends to dst the keys, ascending, without repeats.
func appendDistinct(dst, keys []int64) []int64 {
	for i, k := range keys {
		if i == 0 || k != keys[i-1] {
			dst = append(dst, k)
		}
	}
	return dst
}
