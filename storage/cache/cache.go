// Package cache is the write path: points accepted from every receiver wait
// here, sharded by name, until writer goroutines apply them to whisper files.
package cache

import (
	"errors"
	"fmt"
	"hash/maphash"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"statbox/storage/layout"
	"statbox/storage/schema"
	"statbox/storage/whisper"
)

// Options configure a Cache.
type Options struct {
	Dir   string        // root of the whisper tree: DATA/whisper
	Pool  *whisper.Pool // open files
	Rules func() *schema.Rules
	// MaxPoints bounds the points held; a point past it is dropped and
	// counted (carbon's MAX_CACHE_SIZE). Zero means no bound.
	MaxPoints int
	// MaxCreatesPerMinute throttles new files (carbon's
	// MAX_CREATES_PER_MINUTE); a metric waiting for its file keeps its
	// points in the cache. Zero means no limit.
	MaxCreatesPerMinute int
	Sparse              bool // create files sparse (carbon's WHISPER_SPARSE_CREATE)
	Writers             int  // writer goroutines; 0 means GOMAXPROCS
	Log                 *slog.Logger
	Now                 func() time.Time // the clock whisper's retention is measured by
	// Backlog and Busy have writers leave the core to receivers that share
	// it with them: while Busy reports input waiting for a receiver and the
	// cache holds fewer than Backlog points, a writer waits before its next
	// write until a receiver calls Idle. A burst is then taken at the
	// receivers' pace, absorbed by the cache, and written as it ends, with
	// more points an update, each costing less. Busy is called every few
	// writes and must be cheap. Where writers and receivers each have cores
	// of their own, leave Busy nil: a writer waiting would idle its core.
	Backlog int
	Busy    func() bool
	// OnCreate, when set, is told each metric whose file a writer created,
	// so that an index of the tree stays current without walking it.
	OnCreate func(name string)
}

// Stats are the cache's counters since New, for self-metrics.
type Stats struct {
	Received         uint64 // points offered to Store
	Committed        uint64 // points applied to whisper files
	UpdateOperations uint64 // UpdateMany calls
	Creates          uint64 // files created
	CreatesHeld      uint64 // times a metric waited for the create throttle
	DroppedFull      uint64 // points dropped because the cache was full
	DroppedBadName   uint64 // points whose name cannot be a file in the tree
	DroppedClosed    uint64 // points offered after Close
	WriteErrors      uint64 // points lost to a corrupt or unwritable file
	Yields           uint64 // waits of writers for busy receivers (Options.Busy)
	Size             int64  // points held now
	Queued           int64  // metrics waiting for a writer now
	Metrics          int64  // distinct metrics known
}

const shardCount = 256

// Cache holds accepted points until they are written. Store, Points and
// Stats are safe for concurrent use.
type Cache struct {
	opts    Options
	seed    maphash.Seed
	shards  [shardCount]shard
	writers []*writer
	wg      sync.WaitGroup
	closing atomic.Bool
	stop    chan struct{}
	idle    chan struct{} // a receiver has read all it had (Idle)
	creates *bucket

	size, queued, metrics                           atomic.Int64
	received, committed, updates, created, held     atomic.Uint64
	droppedFull, droppedBadName, droppedClosed, bad atomic.Uint64
	yields                                          atomic.Uint64
}

type shard struct {
	mu    sync.Mutex
	t     table // the shard's series by the hash of their name
	dirty []*series
	free  *chunk // written chunks, for the next stores
	nfree int
	_     [64]byte // keep shards' locks off each other's cache lines
}

// series is one metric's pending points. Its fields are guarded by its
// shard's lock, except path, which only its writer touches. It takes two
// cache lines, the first holding all a receiver's store reads and writes
// when the name is short: the name, the pending points and the queued flag,
// with the first bytes of a name kept inline.
type series struct {
	name   string
	points list // accepted, not yet taken by the writer
	queued bool // in its shard's dirty list
	inline [inlineName]byte
	shard  *shard // its own, so that the writer need not hash its name again
	flight list   // taken by the writer and being written
	path   string
	file   whisper.Ref // the pool's entry for path, known to the writer
}

// New starts a cache and its writers.
func New(opts Options) *Cache {
	if opts.Writers <= 0 {
		opts.Writers = runtime.GOMAXPROCS(0)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	c := &Cache{opts: opts, seed: maphash.MakeSeed(), stop: make(chan struct{}), idle: make(chan struct{}, 1)}
	if opts.MaxCreatesPerMinute > 0 {
		c.creates = newBucket(opts.MaxCreatesPerMinute, opts.Now)
	}
	for i := 0; i < opts.Writers; i++ {
		c.writers = append(c.writers, &writer{c: c, id: i, wake: make(chan struct{}, 1)})
	}
	for _, w := range c.writers {
		c.wg.Add(1)
		go w.run()
	}
	return c
}

// Store accepts one point for name. It copies what it keeps; a new name is
// checked against the tree's rules once, a bad one dropped and counted.
func (c *Cache) Store(name []byte, timestamp int64, value float64) {
	c.received.Add(1)
	if c.closing.Load() {
		c.droppedClosed.Add(1)
		return
	}
	if max := c.opts.MaxPoints; max > 0 && c.size.Load() >= int64(max) {
		c.droppedFull.Add(1)
		return
	}
	h := maphash.Bytes(c.seed, name)
	i := int(h % shardCount)
	sh := &c.shards[i]
	c.size.Add(1)
	sh.mu.Lock()
	res := c.put(sh, h, name, timestamp, value)
	sh.mu.Unlock()
	switch res {
	case putBadName:
		c.size.Add(-1)
		c.droppedBadName.Add(1)
	case putQueued:
		c.queued.Add(1)
		c.writers[i%len(c.writers)].poke()
	}
}

// What put did with a point.
const (
	putAdded   = iota // to a series already queued for its writer
	putQueued         // to a series it queued for its writer
	putBadName        // nothing: the name cannot be a file in the tree
)

// put adds a point to its series in sh, whose lock the caller holds, making
// the series when the name is new. h is the name's hash. The caller counts
// what put reports: size was counted before the point became visible to a
// writer, which may write and subtract it the moment the lock is released.
func (c *Cache) put(sh *shard, h uint64, name []byte, timestamp int64, value float64) int {
	s := sh.t.find(h, unsafe.String(unsafe.SliceData(name), len(name)))
	if s == nil {
		if err := layout.Check(name); err != nil {
			c.opts.Log.Debug("metric name rejected", "name", string(name), "err", err)
			return putBadName
		}
		s = newSeries(sh, name)
		sh.t.add(h, s)
		c.metrics.Add(1)
	}
	s.points.add(sh, whisper.Point{Timestamp: timestamp, Value: value})
	if s.queued {
		return putAdded
	}
	s.queued = true
	sh.dirty = append(sh.dirty, s)
	return putQueued
}

// Points appends to dst the points of name still in the cache, oldest
// accepted first, so that a fetch can merge what is not yet on disk.
func (c *Cache) Points(dst []whisper.Point, name string) []whisper.Point {
	// maphash hashes a string and the same bytes alike.
	h := maphash.String(c.seed, name)
	sh := &c.shards[h%shardCount]
	sh.mu.Lock()
	if s := sh.t.find(h, name); s != nil {
		dst = s.flight.appendTo(dst)
		dst = s.points.appendTo(dst)
	}
	sh.mu.Unlock()
	return dst
}

// Path is where name's whisper file lives.
func (c *Cache) Path(name string) string {
	return filepath.Join(c.opts.Dir, string(layout.AppendPath(nil, []byte(name))))
}

// Stats returns the counters.
func (c *Cache) Stats() Stats {
	return Stats{
		Received: c.received.Load(), Committed: c.committed.Load(), UpdateOperations: c.updates.Load(),
		Creates: c.created.Load(), CreatesHeld: c.held.Load(), DroppedFull: c.droppedFull.Load(),
		DroppedBadName: c.droppedBadName.Load(), DroppedClosed: c.droppedClosed.Load(), WriteErrors: c.bad.Load(), Yields: c.yields.Load(),
		Size: c.size.Load(), Queued: c.queued.Load(), Metrics: c.metrics.Load(),
	}
}

// Close stops accepting points, writes every point held (creating files
// without throttling), and stops the writers. The pool is the caller's to close.
func (c *Cache) Close() error {
	if c.closing.Swap(true) {
		return nil
	}
	close(c.stop)
	c.wg.Wait()
	if n := c.size.Load(); n != 0 {
		return fmt.Errorf("cache closed with %d points unwritten", n)
	}
	return nil
}

// writer applies the points of the shards it owns: shard i belongs to
// writer i mod Writers, so one metric is only ever written by one goroutine.
type writer struct {
	c       *Cache
	id      int
	wake    chan struct{}
	batch   []*series
	waiting []*series // held by the create throttle
	pathBuf []byte
	timer   *time.Timer // yield's
	// points is the copy of a metric's flight that UpdateMany may reorder,
	// so that Points can read the flight meanwhile.
	points []whisper.Point
}

func (w *writer) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *writer) run() {
	defer w.c.wg.Done()
	retry := time.NewTicker(100 * time.Millisecond)
	defer retry.Stop()
	for {
		draining := w.c.closing.Load()
		worked := w.pass(draining)
		if draining && !worked && len(w.waiting) == 0 {
			return
		}
		if worked {
			continue
		}
		select {
		case <-w.wake:
		case <-retry.C:
		case <-w.c.stop:
		}
	}
}

// pass writes every queued metric of the writer's shards once, and retries
// those waiting for a create. It reports whether it wrote anything.
func (w *writer) pass(draining bool) bool {
	c := w.c
	now := c.opts.Now().Unix()
	worked := false
	if len(w.waiting) > 0 {
		waiting := w.waiting
		w.waiting = nil
		for k, s := range waiting {
			// Their files were missing: while the throttle has no token for
			// a create, the rest wait as they are, rather than each being
			// looked for on disk and held again every pass (at 600 creates
			// a minute, 100,000 new metrics wait almost three hours).
			if !draining && c.creates != nil && !c.creates.ready() {
				w.waiting = append(w.waiting, waiting[k:]...)
				break
			}
			sh := s.shard
			sh.mu.Lock()
			take(s)
			sh.mu.Unlock()
			c.queued.Add(-1)
			worked = w.write(s, now, draining) || worked
		}
	}
	for i := w.id; i < shardCount; i += len(c.writers) {
		sh := &c.shards[i]
		sh.mu.Lock()
		w.batch, sh.dirty = sh.dirty, w.batch[:0]
		for _, s := range w.batch {
			take(s)
		}
		c.queued.Add(-int64(len(w.batch)))
		sh.mu.Unlock()
		for k, s := range w.batch {
			if k%yieldEvery == 0 && !draining {
				w.yield()
			}
			worked = w.write(s, now, draining) || worked
		}
		clear(w.batch)
	}
	return worked
}

// yieldEvery is how many writes a writer makes between asking Busy.
const yieldEvery = 16

// yieldWait bounds one wait for a receiver's Idle, in case it was missed.
const yieldWait = time.Millisecond

// Idle tells writers waiting for the receivers (Options.Busy) that one has
// read all its input. It never blocks.
func (c *Cache) Idle() {
	select {
	case c.idle <- struct{}{}:
	default:
	}
}

// yield waits while receivers have input and the cache has room for more
// (Options.Backlog). Blocking, rather than runtime.Gosched, lets the
// scheduler poll the network, where a receiver waits for its next read.
func (w *writer) yield() {
	c := w.c
	for c.opts.Busy != nil && c.size.Load() < int64(c.opts.Backlog) && !c.closing.Load() && c.opts.Busy() {
		if w.timer == nil {
			w.timer = time.NewTimer(yieldWait)
		} else {
			w.timer.Reset(yieldWait)
		}
		select {
		case <-c.idle:
		case <-w.timer.C:
		case <-c.stop:
		}
		c.yields.Add(1)
	}
}

// take moves a queued metric's points in flight, under its shard's lock.
func take(s *series) {
	s.queued = false
	s.flight, s.points = s.points, list{}
}

// write applies s.flight to s's file, creating it when allowed. Points of a
// metric held by the create throttle go back to the cache, ahead of newer ones.
func (w *writer) write(s *series, now int64, draining bool) bool {
	c := w.c
	if s.flight.head == nil {
		return false
	}
	if s.path == "" {
		w.pathBuf = append(append(w.pathBuf[:0], c.opts.Dir...), '/')
		w.pathBuf = layout.AppendPath(w.pathBuf, []byte(s.name))
		s.path = string(w.pathBuf)
	}
	// A copy of the flight, newest first, that UpdateMany may reorder: Points
	// reads the flight meanwhile. Whisper keeps the first of equal
	// timestamps, carbon's cache the last received.
	w.points = s.flight.appendTo(w.points[:0])
	slices.Reverse(w.points)
	n := len(w.points)
	f, release, err := c.opts.Pool.AcquireRef(s.path, &s.file)
	if errors.Is(err, fs.ErrNotExist) {
		if !draining && c.creates != nil && !c.creates.take() {
			w.hold(s)
			return false
		}
		if err = w.create(s); err == nil {
			f, release, err = c.opts.Pool.AcquireRef(s.path, &s.file)
		}
	}
	if err == nil {
		err = f.UpdateMany(w.points, now)
		release()
	}
	if err != nil {
		c.bad.Add(uint64(n))
		c.opts.Log.Warn("points lost", "metric", s.name, "points", n, "err", err)
	} else {
		c.committed.Add(uint64(n))
		c.updates.Add(1)
	}
	sh := s.shard
	sh.mu.Lock()
	sh.release(&s.flight)
	sh.mu.Unlock()
	c.size.Add(-int64(n))
	return true
}

// hold puts a metric waiting for the create throttle back: its points stay
// in the cache (and in fetches) until its file exists.
func (w *writer) hold(s *series) {
	c := w.c
	c.held.Add(1)
	sh := s.shard
	sh.mu.Lock()
	s.points.prepend(&s.flight)
	wasQueued := s.queued
	s.queued = true // kept out of the dirty list: the writer retries it
	sh.mu.Unlock()
	if !wasQueued {
		c.queued.Add(1)
	} else {
		// Store queued it again meanwhile: it is in the dirty list already.
		return
	}
	w.waiting = append(w.waiting, s)
}

func (w *writer) create(s *series) error {
	c := w.c
	archives, opts := c.opts.Rules().ForMetric(s.name)
	opts.Sparse = c.opts.Sparse
	if err := os.MkdirAll(filepath.Dir(s.path), 0o755); err != nil {
		return err
	}
	err := whisper.Create(s.path, append([]whisper.Retention(nil), archives...), opts)
	if errors.Is(err, whisper.ErrExists) {
		return nil // created meanwhile by someone else
	}
	if err == nil {
		c.created.Add(1)
		c.opts.Log.Debug("created", "metric", s.name, "path", s.path)
		if c.opts.OnCreate != nil {
			c.opts.OnCreate(s.name)
		}
	}
	return err
}

// bucket is a token bucket refilled at rate tokens a minute, holding at
// most rate, as carbon's create throttle.
type bucket struct {
	mu     sync.Mutex
	rate   float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

func newBucket(perMinute int, now func() time.Time) *bucket {
	return &bucket{rate: float64(perMinute), tokens: float64(perMinute), last: now(), now: now}
}

func (b *bucket) take() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill()
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// ready reports whether take would succeed now.
func (b *bucket) ready() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill()
	return b.tokens >= 1
}

// refill adds the tokens earned since the last look. The caller holds b.mu.
func (b *bucket) refill() {
	t := b.now()
	b.tokens = math.Min(b.rate, b.tokens+t.Sub(b.last).Minutes()*b.rate)
	b.last = t
}
