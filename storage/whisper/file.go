package whisper

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrTimestampNotCovered is whisper.py's TimestampNotCovered: the point is
// older than the file's retention or in the future.
var ErrTimestampNotCovered = errors.New("Timestamp not covered by any archives in this database.")

// ErrNoData is returned by Fetch when the whole range lies in the future or
// before the file's retention, where whisper.py's fetch returns None.
var ErrNoData = errors.New("No data in selected timerange")

// Point is a timestamp in seconds since the epoch and its value.
type Point struct {
	Timestamp int64
	Value     float64
}

// Options says how a file is opened.
type Options struct {
	ReadOnly bool
	// Lock takes an exclusive flock around every write, as whisper.py does
	// with LOCK = True (carbon's WHISPER_LOCK_WRITES). It costs two system
	// calls per write; without it a write is only stores into the mapping.
	Lock bool
}

// File is an open whisper file, mapped shared into memory. Its methods are
// safe for concurrent use: writes exclude each other and reads.
type File struct {
	Header Header
	path   string
	fd     int
	dev    uint64 // of the file system holding it
	data   []byte
	opts   Options
	mu     sync.RWMutex // writes exclude each other and reads
	life   sync.Mutex   // Sync and Close: a sync never waits for writes, nor they for it
	dirty  atomic.Bool
	closed bool // set under both mu and life
	// bases caches each archive's base interval once it is set (see base);
	// guarded by mu, used by writes only.
	bases []int64
	// overlap is set when two archives share bytes, as only a damaged
	// header has them: a write into one archive may then land on another's
	// first slot, and must forget that archive's base too.
	overlap bool
	// ordered is set when no archives overlap and each archive's step is
	// longer than the one before it, as in every file a whisper tool made:
	// UpdateMany of one point can then take update's path (see updateOne).
	ordered bool
	// fresh is set during an UpdateMany into a file whose first archive was
	// empty: a new file, most likely empty in every archive (see readBase).
	fresh bool
}

// Open maps the whisper file at path and checks its header.
func Open(path string, opts Options) (*File, error) {
	flags, prot := unix.O_RDWR, unix.PROT_READ|unix.PROT_WRITE
	if opts.ReadOnly {
		flags, prot = unix.O_RDONLY, unix.PROT_READ
	}
	// O_NOATIME: mapping a file otherwise updates its access time (ext4's
	// mmap does, under relatime as long as atime is not after mtime, which
	// is every file written since it was last read), a journalled inode
	// write that nothing in Graphite reads. The kernel allows it to the
	// file's owner and to CAP_FOWNER only; anyone else opens without.
	fd, err := unix.Open(path, flags|unix.O_CLOEXEC|unix.O_NOATIME, 0)
	if err == unix.EPERM {
		fd, err = unix.Open(path, flags|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Size < MetadataSize {
		unix.Close(fd)
		return nil, corrupt(path, "short header: %d bytes, the metadata needs %d", st.Size, MetadataSize)
	}
	if st.Size > math.MaxInt32*4 {
		unix.Close(fd)
		return nil, corrupt(path, "%d bytes is larger than any whisper file can be", st.Size)
	}
	data, err := unix.Mmap(fd, 0, int(st.Size), prot, unix.MAP_SHARED)
	if err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "mmap", Path: path, Err: err}
	}
	// Whisper's access is a few points here and there: without this the
	// kernel's read-around (read_ahead_kb, 8 MiB on some disks) pulls the
	// whole file into the page cache on the first fault, which made first
	// touches of a large tree ten times slower.
	unix.Madvise(data, unix.MADV_RANDOM)
	h, err := ParseHeader(data, path)
	if err != nil {
		unix.Munmap(data)
		unix.Close(fd)
		return nil, err
	}
	if !opts.Lock {
		// The mapping holds the file; only flock needs the descriptor. Closing
		// it leaves a pool of mapped files bounded by vm.max_map_count alone.
		unix.Close(fd)
		fd = -1
	}
	overlap := overlapping(h.Archives)
	return &File{Header: h, path: path, fd: fd, dev: st.Dev, data: data, opts: opts, bases: make([]int64, len(h.Archives)),
		overlap: overlap, ordered: !overlap && stepsIncrease(h.Archives)}, nil
}

// Path is the file's path as given to Open.
func (f *File) Path() string { return f.path }

// Bytes is the mapped file. It is valid until Close; callers must not write to it.
func (f *File) Bytes() []byte { return f.data }

// Sync writes the mapping's dirty pages to disk and waits for them. Writes go
// on meanwhile: msync needs no exclusion from stores into the mapping.
func (f *File) Sync() error {
	if !f.dirty.Swap(false) {
		return nil
	}
	f.life.Lock()
	defer f.life.Unlock()
	if f.closed {
		return nil
	}
	if err := unix.Msync(f.data, unix.MS_SYNC); err != nil {
		f.dirty.Store(true)
		return fmt.Errorf("msync %s: %w", f.path, err)
	}
	return nil
}

// Close syncs and unmaps the file.
func (f *File) Close() error {
	err := f.Sync()
	if e := f.unmap(); err == nil {
		err = e
	}
	return err
}

// unmap closes the file without waiting for its dirty pages: they stay in
// the page cache, and the kernel writes them back as it does for any file.
// The pool evicts with it, so that making room never waits for the disk.
func (f *File) unmap() error {
	f.life.Lock()
	defer f.life.Unlock()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	var err error
	if e := unix.Munmap(f.data); e != nil {
		err = fmt.Errorf("munmap %s: %w", f.path, e)
	}
	f.data = nil
	if f.fd < 0 {
		return err
	}
	if e := unix.Close(f.fd); e != nil && err == nil {
		err = fmt.Errorf("close %s: %w", f.path, e)
	}
	return err
}

// SetAggregation rewrites the metadata's aggregation method and xFilesFactor,
// as whisper.py's setAggregationMethod and setXFilesFactor do.
func (f *File) SetAggregation(m AggregationMethod, xff float32) error {
	if !m.Valid() {
		return fmt.Errorf("Unrecognized aggregation method: %d", m)
	}
	if !(xff >= 0 && xff <= 1) {
		return fmt.Errorf("Invalid xFilesFactor %v, not between 0 and 1", xff)
	}
	return f.write(func() error {
		binary.BigEndian.PutUint32(f.data[0:], uint32(m))
		binary.BigEndian.PutUint32(f.data[8:], math.Float32bits(xff))
		f.Header.AggregationMethod, f.Header.XFilesFactor = m, xff
		return nil
	})
}

// write runs fn with the file locked for writing.
func (f *File) write(fn func() error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return fmt.Errorf("write %s: file is closed", f.path)
	}
	if f.opts.ReadOnly {
		return fmt.Errorf("write %s: file is open read-only", f.path)
	}
	if f.opts.Lock {
		if err := unix.Flock(f.fd, unix.LOCK_EX); err != nil {
			return fmt.Errorf("flock %s: %w", f.path, err)
		}
		defer unix.Flock(f.fd, unix.LOCK_UN)
	}
	f.dirty.Store(true)
	return fn()
}

// floorMod is Python's %: the result has the sign of m.
func floorMod(a, m int64) int64 {
	r := a % m
	if r != 0 && (r < 0) != (m < 0) {
		r += m
	}
	return r
}

// floorDiv is Python's //.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func (f *File) pointAt(off int64) (int64, float64) {
	b := f.data[off : off+PointSize]
	return int64(binary.BigEndian.Uint32(b)), math.Float64frombits(binary.BigEndian.Uint64(b[4:]))
}

// putPoint writes a point at byte off, forgetting the base of an archive
// whose first slot that is (see base).
func (f *File) putPoint(off, interval int64, v float64) error {
	for i := range f.Header.Archives {
		if int64(f.Header.Archives[i].Offset) == off {
			f.bases[i] = 0
		}
	}
	return f.putSlot(off, interval, v)
}

// putSlot writes a point at byte off, leaving the bases to the caller.
func (f *File) putSlot(off, interval int64, v float64) error {
	if off < 0 || off+PointSize > int64(len(f.data)) {
		return fmt.Errorf("write %s: point at byte %d lies outside the file", f.path, off)
	}
	if interval < 0 || interval > math.MaxUint32 {
		return fmt.Errorf("write %s: timestamp %d does not fit whisper's 32-bit field", f.path, interval)
	}
	b := f.data[off : off+PointSize]
	binary.BigEndian.PutUint32(b, uint32(interval))
	binary.BigEndian.PutUint64(b[4:], math.Float64bits(v))
	return nil
}

// offsetOf is where interval lives in archive a whose first slot holds base.
func offsetOf(a *ArchiveInfo, base, interval int64) int64 {
	pointDistance := floorDiv(interval-base, int64(a.SecondsPerPoint))
	return int64(a.Offset) + floorMod(pointDistance*PointSize, a.Size())
}

// base is the interval in archive i's first slot, relative to which every
// point of it is placed; 0 while it has never been written. It is kept in
// memory once set, because reading the slot again would touch one more page
// of the file on every write: every write of a first slot forgets it
// (whisper.py's placement of runs does not always keep that slot's
// interval a whole number of turns of the ring from the last). With
// Options.Lock other processes write the file too, so it is read every time.
// The caller holds f.mu for writing.
func (f *File) base(i int) int64 {
	a := &f.Header.Archives[i]
	if f.opts.Lock {
		return f.readBase(a)
	}
	if b := f.bases[i]; b != 0 {
		return b
	}
	b := f.readBase(a)
	f.bases[i] = b
	return b
}

// readBase reads archive a's first slot's interval. In a file that was empty
// when the write began (f.fresh) it reads with an atomic add of 0, a write to
// the processor, because a write most likely follows on that page (an empty
// archive's first run starts at its first slot): a page not yet mapped then
// takes one fault that maps it writable, not a fault to read it (a hole,
// zero-filled) and another to write it. BenchmarkFirstWrite: 3 faults a new
// file, then 2, and 0.93x the CPU. A lower archive the write does not reach
// (too few points for its xFilesFactor) gets that page dirtied, and in a
// sparse file allocated, once. In a file that holds data the read stays a
// read, so that it never dirties a page nothing writes. Slots are 4-byte
// aligned: the header is 16 bytes, an archive entry and a point 12.
func (f *File) readBase(a *ArchiveInfo) int64 {
	if f.fresh {
		atomic.AddUint32((*uint32)(unsafe.Pointer(&f.data[a.Offset])), 0)
	}
	b, _ := f.pointAt(int64(a.Offset))
	return b
}

// slotFor is where interval is written in a: the first slot when the archive
// has never been written (its base interval is 0), else relative to the base.
// The caller holds f.mu for writing.
func (f *File) slotFor(i int, interval int64) int64 {
	a := &f.Header.Archives[i]
	base := f.base(i)
	if base == 0 {
		return int64(a.Offset)
	}
	return offsetOf(a, base, interval)
}

// Update writes one point, as whisper.py's update(): into the most precise
// archive that covers the timestamp, then propagated down the archives while
// each lower interval has enough known points. now is the current time.
func (f *File) Update(value float64, timestamp, now int64) error {
	return f.write(func() error { return f.update(value, timestamp, now) })
}

func (f *File) update(value float64, timestamp, now int64) error {
	h := &f.Header
	diff := now - timestamp
	if !(diff < int64(h.MaxRetention) && diff >= 0) {
		return ErrTimestampNotCovered
	}
	i := 0
	for i < len(h.Archives)-1 && h.Archives[i].Retention() < diff {
		i++
	}
	return f.writeFrom(i, timestamp, value)
}

// writeFrom writes value at timestamp's interval in archive i and propagates
// it into each archive after i while one is written, as whisper.py's
// file_update does once it has chosen archive i.
func (f *File) writeFrom(i int, timestamp int64, value float64) error {
	h := &f.Header
	interval := align(timestamp, int64(h.Archives[i].SecondsPerPoint))
	if err := f.putPoint(f.slotFor(i, interval), interval, value); err != nil {
		return err
	}
	for j := i + 1; j < len(h.Archives); j++ {
		ok, err := f.propagate(align(interval, int64(h.Archives[j].SecondsPerPoint)), i, j)
		if err != nil || !ok {
			return err
		}
		i = j
	}
	return nil
}

// propagate recomputes the point of archive lo for the interval starting at
// lowerStart (a whole number of its steps) from archive hi's points, as
// whisper.py's __propagate does. It reports whether lo was written.
func (f *File) propagate(lowerStart int64, hi, lo int) (bool, error) {
	higher, lower := &f.Header.Archives[hi], &f.Header.Archives[lo]
	first := f.slotFor(hi, lowerStart)
	n := int64(lower.SecondsPerPoint / higher.SecondsPerPoint)
	v, ok := f.aggregate(higher, first, f.spanPoints(higher, first, n*PointSize), lowerStart)
	if !ok {
		return false, nil
	}
	return true, f.putPoint(f.slotFor(lo, lowerStart), lowerStart, v)
}

// aggregate is the value of count points of archive a read from byte first
// on (wrapping once at its end), by the file's method and xFilesFactor: a
// point counts as known where its slot holds the interval expected there,
// want and each step after it. It reports false where too few are known.
func (f *File) aggregate(a *ArchiveInfo, first, count, want int64) (float64, bool) {
	end, step := a.end(), int64(a.SecondsPerPoint)
	var g aggregator
	g.reset(f.Header.AggregationMethod)
	for off, k := first, int64(0); k < count; k++ {
		if off >= end {
			off = int64(a.Offset)
		}
		t, v := f.pointAt(off)
		if t == want {
			g.add(v)
		} else {
			g.missing()
		}
		want += step
		off += PointSize
	}
	return g.value(f.Header.XFilesFactor)
}

// spanPoints is how many points whisper.py reads from archive a starting at
// byte first for a span of length bytes: the span ends at (start+length) modulo
// the archive's size, and an end at or before the start wraps once.
func (f *File) spanPoints(a *ArchiveInfo, first, length int64) int64 {
	rel := first - int64(a.Offset)
	if length > 0 && rel+length <= a.Size() {
		return length / PointSize // no wrap (first is inside a)
	}
	last := floorMod(rel+length, a.Size())
	if rel < last {
		return (last - rel) / PointSize
	}
	return (a.Size() - rel + last) / PointSize
}
