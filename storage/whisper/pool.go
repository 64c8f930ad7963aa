package whisper

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultSyncInterval is how often a Pool syncs its dirty files when
// PoolOptions.SyncInterval is zero: the kernel's own default age at which
// dirty pages are written back (vm.dirty_expire_centisecs = 3000), made a
// promise rather than a tendency.
const DefaultSyncInterval = 30 * time.Second

const (
	// defaultMaxMapCount is the kernel's DEFAULT_MAX_MAP_COUNT (USHRT_MAX - 5),
	// assumed when /proc/sys/vm/max_map_count cannot be read.
	defaultMaxMapCount = 65530
	// defaultMaxOpenCap bounds the default pool where vm.max_map_count has been
	// raised into the millions (SteamOS ships 2^31-5): each open file still
	// costs a kernel VMA (about 200 bytes) and an entry here (about 300). A
	// larger pool is a choice to make with PoolOptions.MaxOpen.
	defaultMaxOpenCap = 1 << 20
	// maxReserve is the most a configured MaxOpen must leave of the process's
	// mappings and descriptors for everything that is not a pooled file.
	maxReserve = 4096
)

// ErrPoolClosed is returned by Acquire once Close has been called.
var ErrPoolClosed = errors.New("whisper pool is closed")

// PoolOptions configure a Pool. The zero value suits the appliance.
type PoolOptions struct {
	// MaxOpen bounds how many files the pool keeps mapped. Every mapping is
	// one VMA, and a process may hold no more than vm.max_map_count of them
	// (https://www.kernel.org/doc/html/latest/admin-guide/sysctl/vm.html#max-map-count);
	// past it mmap fails with ENOMEM and so, fatally, can the Go runtime's own
	// heap growth. With Lock, every open file also holds a descriptor (for
	// flock), counted against RLIMIT_NOFILE (whose soft limit Go raises to the
	// hard one at start); without it the descriptor is closed once mapped.
	//
	// Zero means half of each limit, and at most 1,048,576: the other half is
	// left to the runtime's heap arenas, thread stacks (two VMAs each under
	// cgo: the stack and its guard page), shared libraries, eBPF maps, sockets
	// and whisper files opened outside the pool. A configured value is kept
	// below each limit by min(limit/2, 4096), so a MaxOpen at or above
	// vm.max_map_count is clamped below it; MaxOpen reports the result.
	MaxOpen int
	// SyncInterval is how often dirty files are synced (see Sync) in the
	// background. Zero means DefaultSyncInterval; negative turns the
	// background sync off, leaving write-back to the kernel, Sync and Close.
	SyncInterval time.Duration
	// Dir is the directory the pool's files are under (the appliance's data
	// directory). When set, Sync and Close write back the files on Dir's
	// file system with one syncfs(2) rather than one msync each: on ext4 the
	// msync of a file given new blocks waits for a journal commit and a
	// flush of the disk's cache, so after a burst into 100,000 sparse files
	// the drain took 38 s (bench/carbon.sh), longer than the sync interval.
	// syncfs writes the same pages and commits once; it also writes files
	// evicted meanwhile, which msync no longer can, and whatever else is
	// dirty on that file system. Files on another file system (a mount under
	// Dir) are msynced one by one.
	Dir string
	// Log, when set, gets an error line for each background Sync that
	// fails (SyncErrors counts them all); nil logs nothing.
	Log *slog.Logger
	// Lock opens files with Options.Lock: an exclusive flock around every
	// write, as carbon does with WHISPER_LOCK_WRITES = True.
	Lock bool
	// ReadOnly opens files read-only; writes to them fail.
	ReadOnly bool
}

// PoolStats are a Pool's counters since NewPool.
type PoolStats struct {
	Open       int    // files mapped now, including forgotten ones still held
	Hits       uint64 // Acquires served by a file mapped, or being mapped, by an earlier Acquire
	Misses     uint64 // Acquires that opened the file, successfully or not
	Evictions  uint64 // files dropped to stay within MaxOpen
	SyncErrors uint64 // failed msyncs and syncfs calls, background or on close, and failed unmaps
}

// Pool keeps whisper files open and mapped between writes, the least recently
// used ones closed to stay within MaxOpen, and syncs them periodically. Its
// methods are safe for concurrent use.
//
// A file is acquired by path and released after use. A held file is never
// unmapped: eviction passes over it, Forget and Close leave it to its last
// release. Eviction passes over held files rather than dropping them because
// dropping one and then reopening its path would put two Files on one file
// on disk, whose writes would no longer exclude each other. So Open exceeds
// MaxOpen only by files held at the moment (when every cached file is held, or
// a forgotten one is), and comes back within it as they are released.
//
// Paths are keys as given: a file acquired under two spellings of its path
// is mapped twice.
type Pool struct {
	opts     PoolOptions
	maxOpen  int
	openFile func(string, Options) (*File, error)
	syncfs   func(fd int) error

	mu      sync.Mutex
	closed  bool
	entries map[string]*poolEntry
	lru     poolEntry    // sentinel: lru.next is the most recently used entry
	mapped  []*poolEntry // entries whose file is open and not yet being closed
	// closeErrs are errors of files closed after Close began, for Close to return.
	closeErrs []error

	// live counts entries opening or open, for Close to wait for.
	live sync.WaitGroup

	syncMu sync.Mutex // one Sync at a time, owner of syncBuf and dir
	// dir is Dir opened for syncfs (-1 when not set or not opened yet) and
	// dev its file system. It stays open for the pool's life: syncfs
	// reports the write-back errors since its descriptor was opened, so one
	// opened at each Sync would miss those of the kernel's own write-back
	// in between.
	dir     int
	dev     uint64
	syncBuf []*poolEntry
	stop    chan struct{}
	done    chan struct{}

	closeOnce sync.Once
	closeErr  error

	open                                atomic.Int64
	hits, misses, evictions, syncErrors atomic.Uint64
}

// poolEntry is one path in a Pool. Its fields are guarded by the pool's mu,
// except file and err, which are written once before ready is closed.
type poolEntry struct {
	pool  *Pool
	path  string
	file  *File
	err   error
	ready chan struct{} // closed when the open has finished
	refs  int
	// cached says the entry is in the pool's map and LRU list.
	cached bool
	// used says the entry was acquired since eviction's sweep last passed it.
	used       bool
	idx        int // in pool.mapped, or -1
	prev, next *poolEntry
	// release is unref bound once, so that handing it out allocates nothing.
	release func()
}

// NewPool returns an empty pool. Unless opts.SyncInterval is negative it
// starts a goroutine that Close stops.
func NewPool(opts PoolOptions) *Pool {
	maps, files := processLimits()
	if !opts.Lock {
		files = math.MaxInt32 // a File keeps no descriptor without flock
	}
	p := &Pool{
		opts:     opts,
		maxOpen:  poolSize(opts.MaxOpen, maps, files),
		openFile: Open,
		syncfs:   unix.Syncfs,
		entries:  make(map[string]*poolEntry),
		dir:      -1,
	}
	p.openDir()
	p.lru.next, p.lru.prev = &p.lru, &p.lru
	every := opts.SyncInterval
	if every == 0 {
		every = DefaultSyncInterval
	}
	if every > 0 {
		p.stop, p.done = make(chan struct{}), make(chan struct{})
		go p.syncLoop(every)
	}
	return p
}

// processLimits returns vm.max_map_count and the RLIMIT_NOFILE soft limit.
func processLimits() (maps, files int) {
	maps = defaultMaxMapCount
	if b, err := os.ReadFile("/proc/sys/vm/max_map_count"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n > 0 {
			maps = n
		}
	}
	files = math.MaxInt32
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err == nil && rl.Cur < math.MaxInt32 {
		files = int(rl.Cur)
	}
	return maps, files
}

// poolSize is the MaxOpen a pool uses, given the one asked for and the
// process's limits on mappings and descriptors; PoolOptions.MaxOpen says why.
func poolSize(requested, maxMaps, maxFiles int) int {
	if requested <= 0 {
		return max(1, min(maxMaps/2, maxFiles/2, defaultMaxOpenCap))
	}
	ceiling := min(maxMaps-min(maxMaps/2, maxReserve), maxFiles-min(maxFiles/2, maxReserve))
	return max(1, min(requested, ceiling))
}

// MaxOpen is the bound the pool keeps to: PoolOptions.MaxOpen, or its
// default, clamped to the process's limits.
func (p *Pool) MaxOpen() int { return p.maxOpen }

// Acquire returns the open file at path, opening and mapping it if the pool
// does not hold it, and a release func to call exactly once when done with
// it (a second call panics, as a negative sync.WaitGroup does). The file stays
// mapped at least until then. A file already in the pool is
// returned without allocating; a path being opened by another Acquire is
// waited for, never opened twice. A failed open caches nothing: a missing
// file's error matches os.ErrNotExist, a file that is not whisper's is a
// *CorruptError.
func (p *Pool) Acquire(path string) (*File, func(), error) {
	f, e, err := p.acquire(path)
	if err != nil {
		return nil, nil, err
	}
	return f, e.release, nil
}

// Ref remembers which of a pool's entries a path had, so that acquiring the
// same path again skips the pool's map: a cache writer keeps one per metric.
// The zero Ref is ready for use. A Ref serves one path of one pool, and is
// not safe for concurrent use.
type Ref struct{ e *poolEntry }

// AcquireRef is Acquire for the path r has served, or serves from now on:
// while the file stays in the pool, the next call finds it through r.
func (p *Pool) AcquireRef(path string, r *Ref) (*File, func(), error) {
	if e := r.e; e != nil {
		p.mu.Lock()
		// Cached entries are open or opening, and the pool is not closed.
		if e.cached && e.file != nil {
			e.refs++
			e.used = true
			p.mu.Unlock()
			p.hits.Add(1)
			return e.file, e.release, nil
		}
		p.mu.Unlock()
	}
	f, e, err := p.acquire(path)
	if err != nil {
		r.e = nil
		return nil, nil, err
	}
	r.e = e
	return f, e.release, nil
}

func (p *Pool) acquire(path string) (*File, *poolEntry, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, nil, ErrPoolClosed
	}
	if e := p.entries[path]; e != nil {
		e.refs++
		e.used = true
		f := e.file
		p.mu.Unlock()
		p.hits.Add(1)
		if f == nil {
			<-e.ready
			if e.err != nil {
				e.unref()
				// The open this call waited for began before it did, and may
				// have missed a file created since (a fetch racing the
				// writer that creates it): try once more, with an open of
				// its own, whose answer is this call's.
				return p.acquire(path)
			}
			f = e.file
		}
		return f, e, nil
	}
	e := &poolEntry{pool: p, path: strings.Clone(path), refs: 1, cached: true, idx: -1, ready: make(chan struct{})}
	e.release = e.unref
	p.entries[e.path] = e
	p.pushFrontLocked(e)
	p.live.Add(1)
	var victim *poolEntry
	if len(p.entries) > p.maxOpen {
		victim = p.evictLocked()
	}
	p.mu.Unlock()
	p.misses.Add(1)
	// Unmap before mapping, so the pool's mappings never exceed MaxOpen.
	if victim != nil {
		p.closeEntry(victim)
	}

	f, err := p.openFile(path, Options{ReadOnly: p.opts.ReadOnly, Lock: p.opts.Lock})
	p.mu.Lock()
	if err != nil {
		e.err = err
		if e.cached {
			p.uncacheLocked(e)
		}
		e.refs--
		p.mu.Unlock()
		close(e.ready)
		p.live.Done()
		return nil, nil, err
	}
	e.file = f
	e.idx = len(p.mapped)
	p.mapped = append(p.mapped, e)
	p.open.Add(1)
	p.mu.Unlock()
	close(e.ready)
	return f, e, nil
}

// unref is the release func of Acquire.
func (e *poolEntry) unref() {
	p := e.pool
	p.mu.Lock()
	e.refs--
	if e.refs < 0 {
		p.mu.Unlock()
		// Like a negative sync.WaitGroup counter: a second release may
		// already have let the file be unmapped under another holder.
		panic("whisper: Pool release func called more than once for " + e.path)
	}
	var victim *poolEntry
	if e.refs == 0 {
		if !e.cached {
			victim = p.retireLocked(e)
		} else if len(p.entries) > p.maxOpen {
			victim = p.evictLocked()
		}
	}
	p.mu.Unlock()
	if victim != nil {
		p.closeEntry(victim)
	}
}

// Forget drops path from the pool, as after whisper-resize has replaced the
// file: the next Acquire opens whatever the path names then. The old mapping
// is closed now if unused, else at its last release.
func (p *Pool) Forget(path string) {
	p.mu.Lock()
	e := p.entries[path]
	var victim *poolEntry
	if e != nil {
		p.uncacheLocked(e)
		if e.refs == 0 {
			victim = p.retireLocked(e)
		}
	}
	p.mu.Unlock()
	if victim != nil {
		p.closeEntry(victim)
	}
}

// Sync writes every mapped file with unwritten changes to disk and waits for the
// writes: one syncfs for those on Dir's file system, an msync for each other
// (see PoolOptions.Dir). It returns the first error; Stats counts them all. The
// pool stays usable meanwhile: its lock is held only to list the files.
func (p *Pool) Sync() error {
	p.syncMu.Lock()
	defer p.syncMu.Unlock()
	p.mu.Lock()
	p.syncBuf = append(p.syncBuf[:0], p.mapped...)
	p.mu.Unlock()
	var first error
	fail := func(err error) {
		p.syncErrors.Add(1)
		if first == nil {
			first = err
		}
	}
	p.openDir()
	dirFd, dev := p.dir, p.dev
	// The files on Dir's file system that were dirty are moved to the front
	// of syncBuf, for one syncfs; a write after their flag is cleared sets
	// it again, so the next Sync covers what this one might miss. A file
	// closed meanwhile was synced by its Close, and File.Sync of a closed
	// file does nothing.
	n := 0
	for _, e := range p.syncBuf {
		f := e.file
		if dirFd >= 0 && f.dev == dev {
			if f.dirty.Swap(false) {
				p.syncBuf[n] = e
				n++
			}
			continue
		}
		if err := f.Sync(); err != nil {
			fail(err)
		}
	}
	if n > 0 {
		if err := p.syncfs(dirFd); err != nil {
			for _, e := range p.syncBuf[:n] {
				e.file.dirty.Store(true)
			}
			fail(fmt.Errorf("syncfs %s: %w", p.opts.Dir, err))
		}
	}
	clear(p.syncBuf) // let closed files be collected
	return first
}

// openDir opens Dir for syncfs, once: while Dir is not set, cannot be
// opened or the pool is closed, p.dir stays -1 and files are msynced one by
// one. The caller holds syncMu, or has the pool to itself.
func (p *Pool) openDir() {
	if p.dir >= 0 || p.opts.Dir == "" {
		return
	}
	fd, err := unix.Open(p.opts.Dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		unix.Close(fd)
		return
	}
	p.dir, p.dev = fd, st.Dev
}

func (p *Pool) syncLoop(every time.Duration) {
	defer close(p.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			if err := p.Sync(); err != nil && p.opts.Log != nil {
				p.opts.Log.Error("sync failed", "err", err, "sync_errors", p.syncErrors.Load())
			}
		}
	}
}

// Close stops the background sync, and syncs and unmaps every file. Acquire
// fails with ErrPoolClosed from then on. Files still held are closed at their
// release, and Close waits for that, so that on return nothing is mapped: a
// holder that never releases blocks Close. Close returns the errors of the
// syncs and unmaps it waited for; later calls return the same.
func (p *Pool) Close() error {
	p.closeOnce.Do(func() { p.closeErr = p.close() })
	return p.closeErr
}

func (p *Pool) close() error {
	if p.stop != nil {
		close(p.stop)
		<-p.done
	}
	// One Sync first: with Dir, the files on its file system are then
	// clean, and closing each is only an unmap (see PoolOptions.Dir). Files
	// written after it, by holders, are msynced as they close.
	syncErr := p.Sync()
	p.syncMu.Lock()
	if p.dir >= 0 {
		unix.Close(p.dir)
	}
	p.dir, p.opts.Dir = -1, ""
	p.syncMu.Unlock()
	p.mu.Lock()
	p.closed = true
	var victims []*poolEntry
	for e := p.lru.next; e != &p.lru; {
		next := e.next
		p.uncacheLocked(e)
		if e.refs == 0 {
			if v := p.retireLocked(e); v != nil {
				victims = append(victims, v)
			}
		}
		e = next
	}
	p.mu.Unlock()
	for _, e := range victims {
		p.closeEntry(e)
	}
	p.live.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	return errors.Join(append([]error{syncErr}, p.closeErrs...)...)
}

// Stats returns the pool's counters.
func (p *Pool) Stats() PoolStats {
	return PoolStats{
		Open:       int(p.open.Load()),
		Hits:       p.hits.Load(),
		Misses:     p.misses.Load(),
		Evictions:  p.evictions.Load(),
		SyncErrors: p.syncErrors.Load(),
	}
}

// evictLocked drops the least recently used entry nobody holds, if there is
// one, and returns it for closeEntry. Recency is CLOCK's approximation: a hit
// only marks its entry used, rather than moving it to the front of the list
// (which writes to its neighbours, two cache misses a hit over a large
// pool), and the sweep from the back gives a marked entry a second chance,
// clearing its mark and moving it to the front.
func (p *Pool) evictLocked() *poolEntry {
	// Two turns of the list: the first clears every mark.
	for n := 2*len(p.entries) + 1; n > 0; n-- {
		e := p.lru.prev
		if e == &p.lru {
			return nil
		}
		if e.refs == 0 && e.file != nil && !e.used {
			p.uncacheLocked(e)
			p.evictions.Add(1)
			return p.retireLocked(e)
		}
		e.used = false
		p.unlinkLocked(e)
		p.pushFrontLocked(e)
	}
	return nil
}

// retireLocked takes an unused, open entry off the list of mapped files and
// returns it for closeEntry, or nil if it is not open or already retired:
// every close goes through here, so each file is closed once.
func (p *Pool) retireLocked(e *poolEntry) *poolEntry {
	if e.file == nil || e.idx < 0 {
		return nil
	}
	last := p.mapped[len(p.mapped)-1]
	p.mapped[e.idx], last.idx = last, e.idx
	p.mapped[len(p.mapped)-1] = nil
	p.mapped = p.mapped[:len(p.mapped)-1]
	e.idx = -1
	return e
}

// closeEntry unmaps a retired entry's file, outside the pool's lock. Once
// the pool is closing it syncs the file first; an eviction leaves the dirty
// pages to the kernel's write-back, so that making room never waits for the disk.
func (p *Pool) closeEntry(e *poolEntry) {
	p.mu.Lock()
	closing := p.closed
	p.mu.Unlock()
	var err error
	if closing {
		err = e.file.Close()
	} else {
		err = e.file.unmap()
	}
	p.open.Add(-1)
	if err != nil {
		p.syncErrors.Add(1)
		p.mu.Lock()
		if p.closed {
			p.closeErrs = append(p.closeErrs, err)
		}
		p.mu.Unlock()
	}
	p.live.Done()
}

func (p *Pool) uncacheLocked(e *poolEntry) {
	delete(p.entries, e.path)
	p.unlinkLocked(e)
	e.cached = false
}

func (p *Pool) pushFrontLocked(e *poolEntry) {
	e.prev, e.next = &p.lru, p.lru.next
	e.next.prev = e
	p.lru.next = e
}

func (p *Pool) unlinkLocked(e *poolEntry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}
