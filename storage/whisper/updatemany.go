package whisper

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sync"
	"unsafe"
)

// scratch is UpdateMany's working memory, shared between files rather than
// kept by each: a tree of many files would otherwise hold a set of buffers
// per file, each cold by the time its file is written again.
type scratch struct {
	aligned    []Point
	lowerKeys  []int64
	higherKeys []int64 // the last lower archive's keys
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
	// The first archive's first slot is on the header's page, mapped since
	// Open: reading it costs no fault.
	f.fresh = f.base(0) == 0
	defer func() { f.fresh = false }()
	if len(points) == 1 && f.ordered {
		return f.updateOne(points[0], now)
	}
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

// updateOne is updateMany of one point. whisper.py's __archive_update_many
// then writes the point and propagates its one interval archive by archive,
// stopping where one is not written, which is what file_update does: so it
// takes update's path, without the batch's sorting, runs and sets (0.7× the
// instructions, BenchmarkUpdateMany1). It picks the archive as update_many
// does, though: a point from the future goes to the first archive, and one
// older than the file's retention is dropped, where update refuses both.
// Only for f.ordered: with steps out of order the two paths differ
// (TestInteropUnorderedArchives), and a file whose archives overlap keeps
// the batch's path, the one tested against whisper.py for it.
func (f *File) updateOne(p Point, now int64) error {
	archives := f.Header.Archives
	age, i := now-p.Timestamp, 0
	for archives[i].Retention() < age {
		if i++; i == len(archives) {
			return nil
		}
	}
	return f.writeFrom(i, p.Timestamp, p.Value)
}

// archiveUpdateMany writes points, oldest first, into archive ai and propagates
// them, as whisper.py's __archive_update_many does.
func (f *File) archiveUpdateMany(s *scratch, ai int, points []Point) error {
	if len(points) == 0 {
		return nil
	}
	a := &f.Header.Archives[ai]
	unique := alignPoints(s.aligned[:0], points, int64(a.SecondsPerPoint))
	s.aligned = unique
	if err := f.writeRuns(ai, unique); err != nil {
		return err
	}
	// Propagate every lower interval touched, archive by archive, while any
	// of them had enough points, in the order whisper.py's set() gives them.
	higher := ai
	// The intervals each lower archive gets are found from the points'
	// intervals, or from the last lower archive's when its step divides
	// this one's (as it usually does): fewer.
	from, fromStep := timestamps(unique), a.SecondsPerPoint
	for li := range f.Header.Archives {
		lower := &f.Header.Archives[li]
		if lower.SecondsPerPoint <= a.SecondsPerPoint {
			continue
		}
		if lower.SecondsPerPoint%fromStep != 0 {
			from, fromStep = timestamps(unique), a.SecondsPerPoint
		}
		keys := alignKeys(s.lowerKeys[:0], from, int64(lower.SecondsPerPoint))
		s.lowerKeys = keys
		// The set's order matters where two intervals share a slot, and
		// for the first interval written into an empty archive, which
		// becomes its base. Otherwise each interval has its own slot, and
		// ascending order writes the same bytes: a lower interval is
		// computed from the higher archive alone, whatever the order.
		// Interval 0 is an exception: written into the first slot, it
		// leaves the archive looking empty, and whisper.py then writes the
		// next interval into the first slot too. So are archives that
		// overlap (a damaged header): a write into the lower archive can
		// change the points the next interval is computed from.
		var further bool
		var err error
		switch own := !f.overlap && keys[0] != 0 && keys[len(keys)-1]-keys[0] < lower.Retention(); {
		case own && f.base(li) != 0:
			further, err = f.propagateAscending(keys, higher, li)
		case own:
			// The set's order up to the first interval written; then
			// all in ascending order (that one again: the same bytes).
			s.lowerOrder = s.pyset.order(s.lowerOrder[:0], keys)
			if further, err = f.propagateEach(s.lowerOrder, higher, li, true); further && err == nil {
				_, err = f.propagateAscending(keys, higher, li)
			}
		default:
			s.lowerOrder = s.pyset.order(s.lowerOrder[:0], keys)
			further, err = f.propagateEach(s.lowerOrder, higher, li, false)
		}
		if err != nil || !further {
			return err
		}
		higher = li
		s.lowerKeys, s.higherKeys = s.higherKeys, keys
		from, fromStep = strided{keys, 1}, lower.SecondsPerPoint
	}
	return nil
}

// alignPoints appends to dst each point's interval in an archive of step and
// its value, points oldest first; of points in one interval the last given
// stays, as in whisper.py, whose dict of intervals keeps the last.
func alignPoints(dst, points []Point, step int64) []Point {
	for i, p := range points {
		var iv int64
		if i == 0 {
			iv = align(p.Timestamp, step)
		} else if iv = alignAfter(p.Timestamp, step, dst[len(dst)-1].Timestamp); iv == dst[len(dst)-1].Timestamp {
			dst[len(dst)-1].Value = p.Value
			continue
		}
		dst = append(dst, Point{iv, p.Value})
	}
	return dst
}

// strided is a list of timestamps, every stride-th int64 of v: the
// timestamps of a []Point (stride 2), or a []int64 of them (stride 1).
type strided struct {
	v      []int64
	stride int
}

// timestamps is the strided view of the points' timestamps.
func timestamps(points []Point) strided {
	if len(points) == 0 {
		return strided{nil, 2}
	}
	return strided{unsafe.Slice(&points[0].Timestamp, 2*len(points)), 2}
}

// alignKeys appends to dst the intervals of step that timestamps (ascending)
// fall in, ascending and each once.
func alignKeys(dst []int64, ts strided, step int64) []int64 {
	for i := 0; i < len(ts.v); i += ts.stride {
		if len(dst) == 0 {
			dst = append(dst, align(ts.v[i], step))
		} else if k := alignAfter(ts.v[i], step, dst[len(dst)-1]); k != dst[len(dst)-1] {
			dst = append(dst, k)
		}
	}
	return dst
}

// writeRuns writes points (distinct intervals, ascending) into archive ai in
// runs of consecutive intervals, each run placed by its start relative to the
// archive's base (the first slot's interval); an empty archive takes the
// first run's start as its base. whisper.py starts a run's position from its
// last interval minus its length, and lets a point follow an interval of 0 as
// if consecutive: both are kept.
//
// Like whisper.py, it reads the base once: the first run's start is the base
// of every run of an empty archive, even where that start is 0 or a run
// writes another interval into the first slot.
func (f *File) writeRuns(ai int, points []Point) error {
	step := int64(f.Header.Archives[ai].SecondsPerPoint)
	base := f.base(ai)
	empty := base == 0
	first := 0
	for i := 1; i <= len(points); i++ {
		if i < len(points) && (points[i-1].Timestamp == 0 || points[i].Timestamp == points[i-1].Timestamp+step) {
			continue
		}
		run := points[first:i]
		if empty {
			base, empty = runStart(run, step), false
		}
		if err := f.writeRun(ai, base, run); err != nil {
			return err
		}
		first = i
	}
	return nil
}

// runStart is where whisper.py places a run: its last interval less its length.
func runStart(run []Point, step int64) int64 {
	return run[len(run)-1].Timestamp - step*int64(len(run)-1)
}

// writeRun writes run, a run of writeRuns, into archive ai whose base is base.
func (f *File) writeRun(ai int, base int64, run []Point) error {
	a := &f.Header.Archives[ai]
	step := int64(a.SecondsPerPoint)
	start := runStart(run, step)
	// A run longer than the archive (points ahead of now, which no age
	// limit drops) wraps onto itself: only its last a.Points points would
	// stay, each in its own slot, and only those are written. whisper.py
	// writes the rest past the archive's end, into the next archive or
	// beyond the file; statbox refused the whole update.
	skip := max(0, len(run)-int(a.Points))
	off := offsetOf(a, base, start+int64(skip)*step)
	// From a slot inside the archive (offsetOf's), at most a.Points points
	// wrap once and stay inside it: only this archive's first slot can be
	// written, unless the header has archives overlap.
	first, end := int64(a.Offset), a.end()
	for _, p := range run[skip:] {
		if off >= end {
			off = first + (off - end)
		}
		var err error
		switch {
		case f.overlap:
			err = f.putPoint(off, p.Timestamp, p.Value)
		case off == first:
			f.bases[ai] = 0 // see base
			fallthrough
		default:
			err = f.putSlot(off, p.Timestamp, p.Value)
		}
		if err != nil {
			return err
		}
		off += PointSize
	}
	return nil
}

// propagateEach propagates the intervals of archive lo starting at starts,
// in that order, from archive hi, stopping after the first it writes when
// first is set. It reports whether any was written.
func (f *File) propagateEach(starts []int64, hi, lo int, first bool) (bool, error) {
	further := false
	for _, iv := range starts {
		ok, err := f.propagate(iv, hi, lo)
		if err != nil {
			return further, err
		}
		if further = further || ok; further && first {
			break
		}
	}
	return further, nil
}

// propagateAscending is propagateEach for distinct starts, ascending, that
// each have a slot of their own in lo, in a file whose archives do not
// overlap. Where one start follows the last, the slots they read in hi and
// write in lo follow the last ones'; propagate would find the same by
// dividing twice for each archive.
func (f *File) propagateAscending(starts []int64, hi, lo int) (bool, error) {
	higher, lower := &f.Header.Archives[hi], &f.Header.Archives[lo]
	hstep, lstep := int64(higher.SecondsPerPoint), int64(lower.SecondsPerPoint)
	n := lstep / hstep // points read in hi for each start
	length := n * PointSize
	if f.opts.Lock || lstep%hstep != 0 || length >= higher.Size() {
		return f.propagateEach(starts, hi, lo, false)
	}
	hEnd := higher.end()
	lFirst, lEnd := int64(lower.Offset), lower.end()
	further := false
	var hOff, lOff int64
	for j, start := range starts {
		if j == 0 || start != starts[j-1]+lstep {
			hOff, lOff = f.slotFor(hi, start), f.slotFor(lo, start)
		} else {
			if hOff += length; hOff >= hEnd {
				hOff -= higher.Size()
			}
			if lOff += PointSize; lOff >= lEnd {
				lOff = lFirst
			}
		}
		v, ok := f.aggregate(higher, hOff, n, start)
		if !ok {
			continue
		}
		further = true
		if lOff == lFirst {
			f.bases[lo] = 0 // see base
		}
		if err := f.putSlot(lOff, start, v); err != nil {
			return further, err
		}
	}
	return further, nil
}

// intervalOf is where UpdateMany would put p: its timestamp aligned to the
// step of the first archive that covers its age.
func (f *File) intervalOf(p Point, now int64) int64 {
	for _, a := range f.Header.Archives {
		if a.Retention() >= now-p.Timestamp {
			return align(p.Timestamp, int64(a.SecondsPerPoint))
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

// align is the interval of t in an archive of step: t less Python's t % step.
func align(t, step int64) int64 {
	return t - floorMod(t, step)
}

// alignAfter is align(t, step) for a t no earlier than a timestamp whose
// interval was prev: the same interval or the next one, the usual case for
// points in order, come without a division.
func alignAfter(t, step, prev int64) int64 {
	// t-prev only wraps past the int64 range to a negative value.
	if d := t - prev; d >= 0 && d < 2*step {
		if d < step {
			return prev
		}
		return prev + step
	}
	return align(t, step)
}
