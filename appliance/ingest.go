package appliance

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"statbox/hotpath/carbon"
	"statbox/hotpath/listen"
	"statbox/hotpath/pickle"
	"statbox/storage/cache"
)

// drainer is a listener that can deliver what the kernel holds and stop.
type drainer interface {
	Drain(ctx context.Context) error
}

// ingest is the carbon receivers: plaintext over TCP and UDP, pickle over TCP;
// and what work sharing one core with any receiver waits for (busy, Idle).
type ingest struct {
	carbonStats carbon.Stats
	pickleStats pickle.Stats
	// pickleBadNames counts pickled names the plaintext receiver would refuse.
	pickleBadNames atomic.Uint64
	tcp, udp       *listen.TCPListener
	pickleTCP      *listen.TCPListener
	carbonUDP      *listen.UDPListener
	listeners      []drainer
	// waiters are the listeners busy asks, added as they open.
	waitersMu sync.Mutex
	waiters   atomic.Pointer[[]waiter]
	cache     *cache.Cache
	idle      chan struct{} // a receiver has read all it had (Idle), for yield
}

// waiter is a listener that can tell whether it has input not yet read.
type waiter interface{ Waiting() bool }

// carbonReadSize is what a plaintext loop reads at a time: about 6,000
// lines of a busy sender, so that a read's points, stored as one cache.Batch,
// give each of the cache's shards a run of stores long enough for their
// cache misses to overlap (storage/cache.Batch.touch).
const carbonReadSize = 256 << 10

// busy reports whether a receiver (carbon and pickle TCP, statsd UDP and
// TCP) has input not yet read (cache.Options.Busy).
func (in *ingest) busy() bool {
	ws := in.waiters.Load()
	if ws == nil {
		return false
	}
	for _, w := range *ws {
		if w.Waiting() {
			return true
		}
	}
	return false
}

// addWaiters adds listeners for busy to ask.
func (in *ingest) addWaiters(ws ...waiter) {
	in.waitersMu.Lock()
	defer in.waitersMu.Unlock()
	var all []waiter
	if old := in.waiters.Load(); old != nil {
		all = append(all, *old...)
	}
	all = append(all, ws...)
	in.waiters.Store(&all)
}

// Idle is every receiver's listen Idle callback: it wakes a cache writer and
// a statsd flush that wait for the receivers. It never blocks.
func (in *ingest) Idle() {
	if in.cache != nil {
		in.cache.Idle()
	}
	select {
	case in.idle <- struct{}{}:
	default:
	}
}

// yieldWait bounds one wait of yield.
const yieldWait = time.Millisecond

// yield waits, while a receiver has input, until one has read all it had,
// for at most yieldWait: statsd's Options.Yield on one core, so that a
// flush of many keys leaves the core to the receivers in turn and still
// ends.
func (in *ingest) yield() {
	if !in.busy() {
		return
	}
	t := time.NewTimer(yieldWait)
	defer t.Stop()
	select {
	case <-in.idle:
	case <-t.C:
	}
}

// startIngest opens the carbon listeners that cfg turns on, handing every
// point to c.
func (in *ingest) start(cfg Config, c *cache.Cache, logf func(msg string, args ...any)) error {
	in.cache, in.idle = c, make(chan struct{}, 1)
	if enabled(cfg.Carbon) {
		t, err := listen.ListenTCP(cfg.Carbon, listen.TCPOptions{Idle: in.Idle, ReadSize: carbonReadSize}, func() listen.Session {
			return &carbonSession{s: carbon.NewStream(carbon.NewParser(c.NewBatch(), &in.carbonStats))}
		})
		if err != nil {
			return fmt.Errorf("carbon tcp %s: %w", cfg.Carbon, err)
		}
		in.tcp = t
		in.listeners = append(in.listeners, t)
		// UDP on the port TCP got, so that ":0" in tests gives one port for both.
		u, err := listen.ListenUDP(t.Addr().String(), listen.UDPOptions{}, func(int) listen.PacketHandler {
			return carbon.NewParser(c.NewBatch(), &in.carbonStats)
		})
		if err != nil {
			return fmt.Errorf("carbon udp %s: %w", t.Addr(), err)
		}
		in.carbonUDP = u
		in.listeners = append(in.listeners, u)
		logf("carbon started", "tcp", t.Addr().String(), "udp", u.Addr().String(), "udp_read_buffer", u.ReadBuffer())
	}
	if enabled(cfg.Pickle) {
		t, err := listen.ListenTCP(cfg.Pickle, listen.TCPOptions{Idle: in.Idle}, func() listen.Session {
			sink := &normalizing{b: c.NewBatch(), bad: &in.pickleBadNames}
			return &pickleSession{s: pickle.NewStream(pickle.NewDecoder(&in.pickleStats), sink), sink: sink}
		})
		if err != nil {
			return fmt.Errorf("pickle tcp %s: %w", cfg.Pickle, err)
		}
		in.pickleTCP = t
		in.listeners = append(in.listeners, t)
		logf("pickle started", "tcp", t.Addr().String())
	}
	for _, t := range []*listen.TCPListener{in.tcp, in.pickleTCP} {
		if t != nil {
			in.addWaiters(t)
		}
	}
	return nil
}

// drain delivers every byte the kernel holds for the listeners and closes them.
func (in *ingest) drain(ctx context.Context) error {
	var first error
	for _, l := range in.listeners {
		if err := l.Drain(ctx); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// carbonSession is one plaintext TCP connection.
type carbonSession struct{ s *carbon.Stream }

func (cs *carbonSession) Data(b []byte) bool { cs.s.Feed(b); return false }
func (cs *carbonSession) Close()             { cs.s.Close() }

// pickleSession is one pickle TCP connection; an over-long frame closes it,
// as carbon does. The points of each read are in the cache when Data returns.
type pickleSession struct {
	s    *pickle.Stream
	sink *normalizing
}

func (ps *pickleSession) Data(b []byte) bool {
	err := ps.s.Feed(b)
	ps.sink.b.Flush()
	return err != nil
}
func (ps *pickleSession) Close() { ps.sink.b.Flush() }

// normalizing applies the plaintext receiver's name rules to pickled names:
// carbon's normal form for tagged names (tags sorted), as carbon's
// cache-feeding processor makes it for every receiver, and the same safety
// checks. A name they refuse is dropped and counted.
type normalizing struct {
	b   *cache.Batch
	bad *atomic.Uint64
	buf []byte
}

func (n *normalizing) Store(name []byte, ts int64, v float64) {
	norm, err := carbon.AppendName(n.buf[:0], name)
	if err != nil {
		n.bad.Add(1)
		return
	}
	n.buf = norm
	n.b.Store(norm, ts, v)
}
