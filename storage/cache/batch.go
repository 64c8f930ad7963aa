package cache

import "hash/maphash"

// batchSize is the most points a Batch holds before it stores them: enough
// that each of the shards gets a run of about 32, long enough for touch to
// overlap their cache misses, few enough that the batch (about 0.5 MiB of
// items and names) stays in L2.
const batchSize = 8192

// Batch gathers one receiver's points and stores them shard by shard: one
// lock and one round of counter updates per shard and batch rather than per
// point. Between one point's lookups and the next's there is then no locked
// instruction, which on x86 would wait for every memory access before it:
// the processor overlaps the cache misses of consecutive points, and over a
// large tree each point costs several. A receiver gives each parser its own
// Batch and flushes it before the parser returns, so a point is in the cache
// (and in fetches) as soon as the read that carried it has been parsed.
// A Batch is not safe for concurrent use.
type Batch struct {
	c     *Cache
	names []byte // the points' names, copied
	items []item
	order []int32 // items grouped by shard, in arrival order within each
	count [shardCount + 1]int32
	sink  uint64 // what touch read, kept so that its loads are not left out
}

type item struct {
	h         uint64 // of the name
	off, n    uint32 // of the name in names
	timestamp int64
	value     float64
	s         *series // touch's guess at the point's series
}

// NewBatch returns an empty Batch that stores into c.
func (c *Cache) NewBatch() *Batch {
	return &Batch{c: c, items: make([]item, 0, batchSize), order: make([]int32, batchSize)}
}

// Store adds a point to the batch, storing the batch first when it is full.
// It copies name, which may be reused once Store returns.
func (b *Batch) Store(name []byte, timestamp int64, value float64) {
	if len(b.items) == batchSize {
		b.Flush()
	}
	b.items = append(b.items, item{
		h:   maphash.Bytes(b.c.seed, name),
		off: uint32(len(b.names)), n: uint32(len(name)),
		timestamp: timestamp, value: value,
	})
	b.names = append(b.names, name...)
}

// Flush stores every point of the batch into the cache, as Store would one
// by one, and empties it.
func (b *Batch) Flush() {
	c, items := b.c, b.items
	if len(items) == 0 {
		return
	}
	defer b.reset()
	c.received.Add(uint64(len(items)))
	if c.closing.Load() {
		c.droppedClosed.Add(uint64(len(items)))
		return
	}
	// The points past what MaxPoints leaves room for are dropped: the
	// batch's last, as Store would have dropped them arriving one by one.
	if limit := int64(c.opts.MaxPoints); limit > 0 {
		room := limit - c.size.Load()
		if room < int64(len(items)) {
			room = max(room, 0)
			c.droppedFull.Add(uint64(int64(len(items)) - room))
			items = items[:room]
			if len(items) == 0 {
				return
			}
		}
	}
	// Group by shard with a counting sort, which keeps each metric's points
	// in the order they came: the last of equal timestamps wins.
	count := &b.count
	clear(count[:])
	for i := range items {
		count[items[i].h%shardCount+1]++
	}
	for i := 1; i <= shardCount; i++ {
		count[i] += count[i-1]
	}
	order := b.order[:len(items)]
	for i := range items {
		k := items[i].h % shardCount
		order[count[k]] = int32(i)
		count[k]++
	}
	// count[k] is now where shard k's points end, and count[k-1] where they begin.
	c.size.Add(int64(len(items)))
	var bad, queued int64
	begin := int32(0)
	for k := 0; k < shardCount; k++ {
		end := count[k]
		if begin == end {
			continue
		}
		sh := &c.shards[k]
		woke := false
		sh.mu.Lock()
		if end-begin > 1 {
			b.touch(&sh.t, order[begin:end])
		}
		for _, i := range order[begin:end] {
			it := &items[i]
			switch c.put(sh, it.h, b.names[it.off:it.off+it.n], it.timestamp, it.value) {
			case putBadName:
				bad++
			case putQueued:
				queued++
				woke = true
			}
		}
		sh.mu.Unlock()
		if woke {
			c.writers[k%len(c.writers)].poke()
		}
		begin = end
	}
	if bad > 0 {
		c.size.Add(-bad)
		c.droppedBadName.Add(uint64(bad))
	}
	if queued > 0 {
		c.queued.Add(queued)
	}
}

// touch reads, for each point of run (one shard's, under its lock), the
// memory its store is going to use: the table slot, then the series and the
// place its point goes. Each loop's loads depend on none of the others in
// that loop, so the processor has the cache misses of all the run's points in
// flight at once, where the stores, one after another through branches and
// calls, would wait for each point's misses in turn: over a large tree most
// of a store's cost.
func (b *Batch) touch(t *table, run []int32) {
	items := b.items
	for _, i := range run {
		it := &items[i]
		it.s = t.first(it.h)
	}
	var sink uint64
	for _, i := range run {
		s := items[i].s
		if s == nil {
			continue
		}
		if n := len(s.name); n > 0 {
			sink += uint64(s.name[n-1])
		}
		if t := s.points.tail; t != nil {
			sink += uint64(t.p[min(t.n, chunkPoints-1)].Timestamp)
		}
	}
	b.sink += sink
}

func (b *Batch) reset() {
	b.items = b.items[:0]
	b.names = b.names[:0]
}
