package statsd

import "sync"

// Shard is one receiver's part of the aggregation. Packet is meant to be
// called from one goroutine (a UDP socket's, a TCP event loop's); the mutex
// it takes is contended only by the flusher, once per interval, and by the
// admin interface.
type Shard struct {
	agg *Aggregator
	mu  sync.Mutex
	cur *table
	// spare is the table the flusher hands over at the next swap, or nil
	// for a new one of the size last seen; only the flusher touches them.
	spare *table
	last  tableSize
	p     Parser
	// lastSeen is when a line last came (unix seconds, from the flusher's
	// coarse clock): the shard's own, so receivers share no cache line.
	lastSeen int64
}

// Packet parses one packet (a datagram, or complete lines from a stream)
// into the shard.
func (s *Shard) Packet(b []byte) {
	s.mu.Lock()
	t := s.cur
	lines, bad := s.p.Parse(b, t)
	t.packets++
	t.lines += uint64(lines)
	t.bad += uint64(bad)
	if lines > 0 {
		// A coarse clock the flusher ticks: no time.Now per packet.
		s.lastSeen = s.agg.clock.Load()
	}
	s.mu.Unlock()
}

// swap takes the shard's table for the interval that ends and leaves an
// empty one in its place.
func (s *Shard) swap() *table {
	next := s.spare
	if next == nil {
		next = newTable()
		if s.last.entries > bigTable {
			next = newTableSized(s.last)
		}
	}
	s.mu.Lock()
	t := s.cur
	s.cur = next
	s.mu.Unlock()
	s.spare = nil
	return t
}

// bigTable is the number of entries above which a merged table is not kept
// for reuse: with many keys, a spare as large as the live table would double
// the shard's memory, and a new table sized for the last interval costs one
// allocation per flush.
const bigTable = 1 << 16

// giveBack returns a merged table for reuse at the next swap.
func (s *Shard) giveBack(t *table) {
	s.last = t.size()
	if len(t.entries) > bigTable {
		s.spare = nil
		return
	}
	t.reset()
	s.spare = t
}

// countBad counts lines dropped before parsing.
func (s *Shard) countBad(n uint64) {
	s.mu.Lock()
	s.cur.lines += n
	s.cur.bad += n
	s.mu.Unlock()
}
