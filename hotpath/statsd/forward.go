package statsd

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// ForwarderOptions tune a Forwarder; the zero value picks the defaults.
type ForwarderOptions struct {
	// MaxQueued is the most flushes held while the upstream is away; the
	// oldest is dropped (and counted) for a new one. Default 60.
	MaxQueued int
	// Timeout bounds a connect and a write. Default 5 s.
	Timeout time.Duration
	// Log gets a line per failed send (default: discard).
	Log *slog.Logger
}

// ForwarderStats counts what a Forwarder did.
type ForwarderStats struct {
	Sent    atomic.Uint64 // flushes delivered
	Failed  atomic.Uint64 // sends that failed (each retried at the next flush)
	Dropped atomic.Uint64 // flushes dropped from a full queue
}

// Forwarder sends statsd flushes to an upstream carbon plaintext receiver,
// one TCP connection per send as etsy's graphite backend opens one per
// flush. Send never blocks: flushes queue while the upstream is away and go
// out, oldest first, once it is back.
type Forwarder struct {
	addr string
	opts ForwarderOptions
	// Failed, when set, is called with the time of each failed send.
	Failed func(time.Time)
	stats  ForwarderStats

	mu      sync.Mutex
	queue   [][]byte
	wake    chan struct{}
	closing chan struct{}
	done    chan struct{}
}

// NewForwarder starts a Forwarder to addr (host:port).
func NewForwarder(addr string, opts ForwarderOptions) *Forwarder {
	if opts.MaxQueued <= 0 {
		opts.MaxQueued = 60
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	f := &Forwarder{addr: addr, opts: opts, wake: make(chan struct{}, 1),
		closing: make(chan struct{}), done: make(chan struct{})}
	go f.run()
	return f
}

// Stats returns the live counters.
func (f *Forwarder) Stats() *ForwarderStats { return &f.stats }

// Send queues one flush's payload; the Forwarder owns it from now on.
func (f *Forwarder) Send(payload []byte) {
	if len(payload) == 0 {
		return
	}
	f.mu.Lock()
	if len(f.queue) >= f.opts.MaxQueued {
		f.queue[0] = nil
		f.queue = f.queue[1:]
		f.stats.Dropped.Add(1)
	}
	f.queue = append(f.queue, payload)
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (f *Forwarder) run() {
	defer close(f.done)
	for {
		select {
		case <-f.wake:
			f.sendQueued()
		case <-f.closing:
			f.sendQueued()
			return
		}
	}
}

// sendQueued sends what is queued over one connection, removing each
// payload once written.
func (f *Forwarder) sendQueued() {
	f.mu.Lock()
	n := len(f.queue)
	f.mu.Unlock()
	if n == 0 {
		return
	}
	c, err := net.DialTimeout("tcp", f.addr, f.opts.Timeout)
	if err != nil {
		f.fail(err)
		return
	}
	defer c.Close()
	for {
		f.mu.Lock()
		if len(f.queue) == 0 {
			f.mu.Unlock()
			break
		}
		p := f.queue[0]
		f.mu.Unlock()
		c.SetWriteDeadline(time.Now().Add(f.opts.Timeout))
		if _, err := c.Write(p); err != nil {
			// The payload may have gone out in part: carbon takes the
			// whole lines again, each point overwriting itself.
			f.fail(err)
			return
		}
		f.mu.Lock()
		if len(f.queue) > 0 && &f.queue[0][0] == &p[0] {
			f.queue[0] = nil
			f.queue = f.queue[1:]
		}
		f.mu.Unlock()
		f.stats.Sent.Add(1)
	}
}

func (f *Forwarder) fail(err error) {
	f.stats.Failed.Add(1)
	f.opts.Log.Warn("statsd forward failed, kept for the next flush", "addr", f.addr, "err", err)
	if f.Failed != nil {
		f.Failed(time.Now())
	}
}

// Close makes a last attempt to send what is queued and stops, or gives up
// when ctx ends.
func (f *Forwarder) Close(ctx context.Context) error {
	close(f.closing)
	select {
	case <-f.done:
	case <-ctx.Done():
		return fmt.Errorf("statsd forward to %s: %w", f.addr, ctx.Err())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.queue) > 0 {
		return fmt.Errorf("statsd forward to %s: %d flushes not sent", f.addr, len(f.queue))
	}
	return nil
}
