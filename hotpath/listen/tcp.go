//go:build linux

package listen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Session receives one TCP connection's bytes. Its methods are called on the
// event loop that owns the connection, one at a time, so a Session needs no
// locking of its own; a Session that blocks holds up every connection on its loop.
type Session interface {
	// Data is called with each read, in the order the bytes arrived. b is valid
	// only until Data returns; the buffer is shared by the loop's connections.
	// Returning true closes the connection (Close follows).
	Data(b []byte) (closeConn bool)
	// Close is called exactly once, after the socket was closed: at EOF, on a
	// read error, when Data asked, on the idle timeout, on Drain or on Close.
	Close()
}

// TCPOptions tune ListenTCP; the zero value picks the defaults.
type TCPOptions struct {
	// Loops is the number of event loops, each with its own goroutine, epoll
	// instance and SO_REUSEPORT listening socket. Default runtime.GOMAXPROCS(0).
	Loops int
	// IdleTimeout closes a connection that sent nothing for this long. Zero,
	// the default, never does: carbon-cache has no such timeout, and senders
	// such as collectd keep a connection open across quiet intervals.
	IdleTimeout time.Duration
	// ReadSize is the most bytes one read takes, and the size of the one read
	// buffer each loop has. Default 64 KiB.
	ReadSize int
	// DrainQuiet is how long Drain keeps reading open connections as usual
	// before it reads them dry and closes them: until none has sent anything
	// for DrainQuiet, or DrainGrace has passed. A sender that was still
	// writing when the drain began (its bytes in its own send buffer, not
	// yet acknowledged) gets them delivered instead of a reset. Default
	// 200 ms; negative goes straight to the final read.
	DrainQuiet time.Duration
	// DrainGrace bounds that phase. Default 10 s.
	DrainGrace time.Duration
	// Idle, when set, is called by a loop each time it has read everything
	// it had and is about to wait for more: with Waiting, it lets work that
	// shares the core with the loops run while they have nothing to do and
	// step aside while they have. It must not block.
	Idle func()
}

func (o TCPOptions) withDefaults() TCPOptions {
	if o.Loops <= 0 {
		o.Loops = runtime.GOMAXPROCS(0)
	}
	if o.IdleTimeout < 0 {
		o.IdleTimeout = 0
	}
	if o.ReadSize <= 0 {
		o.ReadSize = 64 << 10
	}
	if o.DrainQuiet == 0 {
		o.DrainQuiet = 200 * time.Millisecond
	}
	if o.DrainGrace <= 0 {
		o.DrainGrace = 10 * time.Second
	}
	return o
}

// TCPStats counts a TCPListener's connections and bytes. Every field is updated
// atomically and may be read at any time.
type TCPStats struct {
	// Accepted counts connections accepted.
	Accepted atomic.Uint64
	// Open is the number of connections open now.
	Open atomic.Int64
	// Closed counts connections closed, for any reason.
	Closed atomic.Uint64
	// IdleClosed counts the connections closed by the idle timeout (also in Closed).
	IdleClosed atomic.Uint64
	// Bytes counts bytes read and delivered to a Session.
	Bytes atomic.Uint64
	// AcceptErrors counts failed accepts other than EAGAIN, such as EMFILE when
	// the process runs out of file descriptors.
	AcceptErrors atomic.Uint64
	// ReadErrors counts reads that failed with anything but EAGAIN (a reset by
	// the peer, mostly); the connection is closed.
	ReadErrors atomic.Uint64
}

const (
	// acceptBatch bounds the accepts per wake-up, so a burst of new connections
	// does not starve the data of open ones.
	acceptBatch = 64
	// readsPerEvent bounds the full reads one connection gets per wake-up.
	readsPerEvent = 16
	// Backoff bounds after an accept error such as EMFILE: the connection stays
	// in the listen queue, and polling the listener again at once would spin.
	minAcceptBackoff = 5 * time.Millisecond
	maxAcceptBackoff = time.Second
)

// TCPListener is a set of event loops serving TCP connections on one address.
type TCPListener struct {
	addr   *net.TCPAddr
	loops  []*tcpLoop
	stats  TCPStats
	start  time.Time
	state  atomic.Int32
	stopMu sync.Mutex
	closed bool               // loops' descriptors closed; guarded by stopMu
	probe  [1]unix.EpollEvent // Waiting's; guarded by stopMu
	wg     sync.WaitGroup
	done   chan struct{}
}

// ListenTCP listens on addr (":2003", "127.0.0.1:0") with opts.Loops event loops
// and calls newSession, on the accepting loop, for every connection; it must not
// return nil. With port 0 the first loop's socket picks the port and the others
// bind to the same one; Addr reports it.
//
// SO_REUSEPORT also lets another process of the same user listen on the port,
// and the kernel then shares the connections with it.
func ListenTCP(addr string, opts TCPOptions, newSession func() Session) (*TCPListener, error) {
	opts = opts.withDefaults()
	host, portName, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("listen tcp %s: %w", addr, err)
	}
	port, err := net.LookupPort("tcp", portName)
	if err != nil {
		return nil, fmt.Errorf("listen tcp %s: %w", addr, err)
	}
	l := &TCPListener{start: time.Now(), done: make(chan struct{})}
	for i := 0; i < opts.Loops; i++ {
		lp, bound, err := newTCPLoop(l, host, port, opts, newSession)
		if err != nil {
			for _, lp := range l.loops {
				lp.closeFDs()
			}
			return nil, fmt.Errorf("listen tcp %s: %w", addr, err)
		}
		if i == 0 {
			l.addr, port = bound, bound.Port
		}
		l.loops = append(l.loops, lp)
	}
	l.wg.Add(len(l.loops))
	for _, lp := range l.loops {
		go lp.run()
	}
	go func() {
		l.wg.Wait()
		l.stopMu.Lock()
		for _, lp := range l.loops {
			lp.closeFDs()
		}
		l.closed = true
		l.stopMu.Unlock()
		close(l.done)
	}()
	return l, nil
}

// Addr is the address the listening sockets are bound to, with the port picked
// when addr asked for port 0.
func (l *TCPListener) Addr() *net.TCPAddr { return l.addr }

// Stats returns the listener's live counters.
func (l *TCPListener) Stats() *TCPStats { return &l.stats }

// Drain stops the listener without losing what the kernel already accepted:
// from the moment Drain is called no new handshake completes; every connection
// already in the listen queue is accepted; on every connection the bytes already
// received are read and delivered, then the socket is closed and Session.Close
// called. If ctx ends first, reading stops after the read in hand and the
// remaining connections are closed unread; Drain then returns ctx.Err(). Either
// way Drain waits for the Session call in progress: no call runs once Drain has
// returned.
func (l *TCPListener) Drain(ctx context.Context) error {
	l.stop(stateDraining)
	select {
	case <-l.done:
		return nil
	case <-ctx.Done():
		l.stop(stateAborting)
		<-l.done
		return ctx.Err()
	}
}

// Close stops the listener at once: connections are closed without reading
// what is queued on them and Session.Close is called for each. It returns when
// no Session call is running.
func (l *TCPListener) Close() error {
	l.stop(stateAborting)
	<-l.done
	return nil
}

// stop moves the listener to state s (never back) and wakes the loops.
func (l *TCPListener) stop(s int32) {
	l.stopMu.Lock()
	defer l.stopMu.Unlock()
	if l.closed || l.state.Load() >= s {
		return
	}
	if s == stateDraining {
		// Refuse new handshakes first, so that accepting until EAGAIN empties
		// the listen queue for good.
		for _, lp := range l.loops {
			attachFilter(lp.lfd, dropAll)
		}
	}
	l.state.Store(s)
	for _, lp := range l.loops {
		eventfdWrite(lp.evfd)
	}
}

// tcpLoop is one event loop: a listening socket, an epoll instance and the
// connections it accepted.
type tcpLoop struct {
	l          *TCPListener
	newSession func() Session
	lfd        int // listening socket
	epfd       int
	evfd       int // eventfd that wakes the loop for Drain and Close
	conns      map[int32]*tcpConn
	buf        []byte
	events     []unix.EpollEvent

	idle     time.Duration
	tick     time.Duration
	nextScan time.Duration
	now      time.Duration // since l.start, read once per wake-up

	listening    bool // lfd is in the epoll set
	backoff      time.Duration
	resumeListen time.Duration

	// The epoll instance as a file in Go's network poller, so that an idle
	// loop parks its goroutine instead of holding a thread and its P in a
	// blocking epoll_wait: with GOMAXPROCS=1 that P would be lost to the
	// other goroutines until sysmon took it back, up to 10 ms later.
	epfile   *os.File
	poll     syscall.RawConn
	waitFn   func(fd uintptr) bool // lp.wait, bound once so waiting allocates nothing
	deadline time.Duration         // the epoll file's read deadline; -1 for none

	quiet, grace time.Duration // DrainQuiet and DrainGrace
	lastData     time.Duration // when a read last delivered bytes
	graceEnd     time.Duration // when the quiet phase of a drain ends at the latest; 0 before
	n            int           // events the last wait returned
	werr         error         // epoll_wait's error, if it failed
	idleFn       func()        // TCPOptions.Idle
	// active is set while the loop serves a batch of events, cleared when
	// it finds none and waits (TCPListener.Waiting).
	active atomic.Bool
}

// tcpConn is one connection: its socket, its Session and when it last sent.
type tcpConn struct {
	fd   int
	s    Session
	last time.Duration
}

func newTCPLoop(l *TCPListener, host string, port int, opts TCPOptions, newSession func() Session) (*tcpLoop, *net.TCPAddr, error) {
	lp := &tcpLoop{
		l:          l,
		newSession: newSession,
		lfd:        -1,
		epfd:       -1,
		evfd:       -1,
		conns:      make(map[int32]*tcpConn),
		buf:        make([]byte, opts.ReadSize),
		events:     make([]unix.EpollEvent, 128),
		idle:       opts.IdleTimeout,
		quiet:      opts.DrainQuiet,
		grace:      opts.DrainGrace,
		deadline:   -1,
		idleFn:     opts.Idle,
	}
	if lp.idle > 0 {
		lp.tick = min(max(lp.idle/4, 5*time.Millisecond), time.Second)
		lp.nextScan = lp.tick
	}
	var bound *net.TCPAddr
	var err error
	if lp.lfd, bound, err = listenTCPSocket(host, port); err != nil {
		return nil, nil, err
	}
	if lp.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		lp.closeFDs()
		return nil, nil, fmt.Errorf("epoll_create1: %w", err)
	}
	// A non-blocking descriptor is registered with Go's poller by os.NewFile.
	if err := unix.SetNonblock(lp.epfd, true); err != nil {
		lp.closeFDs()
		return nil, nil, fmt.Errorf("epoll fd O_NONBLOCK: %w", err)
	}
	lp.epfile = os.NewFile(uintptr(lp.epfd), "epoll")
	if err := lp.epfile.SetReadDeadline(time.Time{}); err != nil {
		lp.closeFDs()
		return nil, nil, fmt.Errorf("epoll fd not pollable by Go's poller: %w", err)
	}
	if lp.poll, err = lp.epfile.SyscallConn(); err != nil {
		lp.closeFDs()
		return nil, nil, err
	}
	lp.waitFn = lp.wait
	if lp.evfd, err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC); err != nil {
		lp.closeFDs()
		return nil, nil, fmt.Errorf("eventfd: %w", err)
	}
	for _, fd := range []int{lp.evfd, lp.lfd} {
		if err := lp.pollIn(fd); err != nil {
			lp.closeFDs()
			return nil, nil, err
		}
	}
	lp.listening = true
	return lp, bound, nil
}

// Waiting reports whether a loop has input it has not read: one in the
// middle of a batch of events, or one whose connections (or listening
// socket) are readable. Another goroutine sharing the loops' core asks it to
// know whether to step aside; it costs an epoll_wait with no timeout per loop.
func (l *TCPListener) Waiting() bool {
	l.stopMu.Lock()
	defer l.stopMu.Unlock()
	if l.closed {
		return false
	}
	for _, lp := range l.loops {
		if lp.active.Load() {
			return true
		}
		// Level-triggered, so looking takes nothing from the loop.
		if n, _ := unix.EpollWait(lp.epfd, l.probe[:], 0); n > 0 {
			return true
		}
	}
	return false
}

// pollIn adds fd to the loop's epoll set, level-triggered, for reading.
func (lp *tcpLoop) pollIn(fd int) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
	if err := unix.EpollCtl(lp.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("epoll_ctl add: %w", err)
	}
	return nil
}

func (lp *tcpLoop) closeFDs() {
	if lp.epfile != nil {
		lp.epfile.Close() // and with it epfd
		lp.epfile, lp.epfd = nil, -1
	}
	for _, fd := range []*int{&lp.lfd, &lp.epfd, &lp.evfd} {
		if *fd >= 0 {
			unix.Close(*fd)
			*fd = -1
		}
	}
}

func (lp *tcpLoop) run() {
	defer lp.l.wg.Done()
	for lp.running() {
		lp.setDeadline()
		if err := lp.poll.Read(lp.waitFn); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			break // the epoll file was closed under us: this loop cannot go on
		}
		if lp.werr != nil {
			break // only EBADF, EFAULT or EINVAL
		}
		lp.now = time.Since(lp.l.start)
		for i := 0; i < lp.n; i++ {
			switch fd := lp.events[i].Fd; fd {
			case int32(lp.lfd):
				lp.accept(acceptBatch)
			case int32(lp.evfd):
				eventfdRead(lp.evfd)
			default:
				// A connection closed earlier in this batch leaves no entry.
				if c := lp.conns[fd]; c != nil {
					lp.read(c)
				}
			}
		}
		lp.n = 0
		lp.timers()
	}
	lp.finish()
}

// wait is the RawConn.Read callback on the epoll file: epoll_wait that never
// blocks. It returns false when nothing is ready, which parks the goroutine in
// Go's network poller until the epoll instance itself becomes readable.
func (lp *tcpLoop) wait(fd uintptr) bool {
	for {
		n, err := unix.EpollWait(int(fd), lp.events, 0)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			lp.werr = err
			return true
		}
		lp.n = n
		if n == 0 {
			lp.active.Store(false)
			if lp.idleFn != nil {
				lp.idleFn()
			}
			return false
		}
		lp.active.Store(true)
		return true
	}
}

// running reports whether the loop goes on serving: while the listener runs,
// and during a drain's quiet phase, until no connection has sent anything for
// DrainQuiet or DrainGrace has passed.
func (lp *tcpLoop) running() bool {
	switch lp.l.state.Load() {
	case stateRunning:
		return true
	case stateDraining:
		lp.now = time.Since(lp.l.start)
		if lp.graceEnd == 0 {
			if lp.quiet < 0 || len(lp.conns) == 0 {
				return false
			}
			lp.graceEnd = lp.now + lp.grace
			lp.lastData = lp.now
		}
		return lp.now < lp.graceEnd && lp.now-lp.lastData < lp.quiet && len(lp.conns) > 0
	}
	return false
}

// setDeadline bounds the wait in the poller by the next timer: the idle scan,
// the end of an accept backoff, or the end of a drain's quiet phase.
func (lp *tcpLoop) setDeadline() {
	next := time.Duration(-1)
	if lp.idle > 0 {
		next = lp.nextScan
	}
	if lp.graceEnd > 0 {
		if end := min(lp.graceEnd, lp.lastData+lp.quiet); next < 0 || end < next {
			next = end
		}
	}
	if !lp.listening && (next < 0 || lp.resumeListen < next) {
		next = lp.resumeListen
	}
	if next == lp.deadline {
		return
	}
	lp.deadline = next
	if next < 0 {
		lp.epfile.SetReadDeadline(time.Time{})
	} else {
		lp.epfile.SetReadDeadline(lp.l.start.Add(next))
	}
}

func (lp *tcpLoop) timers() {
	if !lp.listening && lp.now >= lp.resumeListen {
		if lp.pollIn(lp.lfd) == nil {
			lp.listening = true
		} else {
			lp.pauseAccept()
		}
	}
	if lp.idle > 0 && lp.now >= lp.nextScan {
		lp.nextScan = lp.now + lp.tick
		cutoff := lp.now - lp.idle
		for _, c := range lp.conns {
			if c.last < cutoff {
				lp.l.stats.IdleClosed.Add(1)
				lp.close(c)
			}
		}
	}
}

// accept takes up to max connections from the listen queue. It reports
// whether it emptied the queue.
func (lp *tcpLoop) accept(max int) bool {
	for i := 0; i < max; i++ {
		// The raw call, since unix.Accept4 allocates the peer's address,
		// which no Session is told.
		r, _, errno := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(lp.lfd), 0, 0,
			unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
		switch errno {
		case 0:
		case unix.EAGAIN:
			lp.backoff = 0
			return true
		case unix.EINTR, unix.ECONNABORTED:
			continue
		default:
			lp.l.stats.AcceptErrors.Add(1)
			lp.pauseAccept()
			return false
		}
		fd := int(r)
		if err := lp.pollIn(fd); err != nil {
			unix.Close(fd)
			lp.l.stats.AcceptErrors.Add(1)
			continue
		}
		lp.conns[int32(fd)] = &tcpConn{fd: fd, s: lp.newSession(), last: lp.now}
		lp.l.stats.Accepted.Add(1)
		lp.l.stats.Open.Add(1)
	}
	return false
}

// pauseAccept takes the listener out of the epoll set for a growing while,
// since a level-triggered listener whose queue we cannot take (EMFILE) would
// wake the loop again at once.
func (lp *tcpLoop) pauseAccept() {
	lp.backoff = min(max(2*lp.backoff, minAcceptBackoff), maxAcceptBackoff)
	lp.resumeListen = time.Since(lp.l.start) + lp.backoff
	if lp.listening {
		unix.EpollCtl(lp.epfd, unix.EPOLL_CTL_DEL, lp.lfd, nil)
		lp.listening = false
	}
}

// read delivers what the connection has, up to readsPerEvent full buffers;
// epoll is level-triggered and reports the rest on the next wait.
func (lp *tcpLoop) read(c *tcpConn) {
	for i := 0; i < readsPerEvent; i++ {
		n, err := unix.Read(c.fd, lp.buf)
		switch {
		case err == unix.EAGAIN:
			return
		case err == unix.EINTR:
			continue
		case err != nil:
			lp.l.stats.ReadErrors.Add(1)
			lp.close(c)
			return
		case n == 0: // EOF
			lp.close(c)
			return
		}
		c.last, lp.lastData = lp.now, lp.now
		lp.l.stats.Bytes.Add(uint64(n))
		if c.s.Data(lp.buf[:n:n]) {
			lp.close(c)
			return
		}
		if n < len(lp.buf) {
			return
		}
	}
}

// close closes the connection's socket and then calls Session.Close.
func (lp *tcpLoop) close(c *tcpConn) {
	delete(lp.conns, int32(c.fd))
	unix.Close(c.fd)
	lp.l.stats.Open.Add(-1)
	lp.l.stats.Closed.Add(1)
	c.s.Close()
}

// finish ends the loop: on Drain it reads every connection dry, then takes
// and reads the connections still in the listen queue; then, and on Close, it
// closes every connection. The listening socket, epoll and eventfd are closed
// by the listener once every loop has finished, so that stop never writes to a
// closed eventfd.
func (lp *tcpLoop) finish() {
	draining := func() bool { return lp.l.state.Load() == stateDraining }
	drainAll := func() {
		for _, c := range lp.conns {
			if !draining() {
				return
			}
			lp.drain(c)
		}
	}
	if draining() {
		// Open connections first: closing them frees descriptors for the
		// accepts. Drain attached dropAll to the listener, so no handshake
		// completes any more and the queue only shrinks.
		drainAll()
		for draining() {
			empty := lp.accept(acceptBatch)
			drainAll()
			if empty {
				break
			}
			if !lp.listening { // an accept error such as EMFILE: retry a while
				if lp.backoff >= maxAcceptBackoff {
					break
				}
				time.Sleep(lp.backoff)
			}
		}
	}
	for _, c := range lp.conns {
		lp.close(c)
	}
}

// drain reads a connection dry and closes it. dropPayload makes "dry" final:
// from here on, segments with data are dropped unacknowledged, so the sender's
// kernel keeps them and retransmits. The filter comes off just before the close
// so that those retransmissions meet a closed socket and draw a reset, rather
// than being dropped until the sender times out.
func (lp *tcpLoop) drain(c *tcpConn) {
	filtered := attachFilter(c.fd, dropPayload) == nil
	for lp.l.state.Load() == stateDraining {
		n, err := unix.Read(c.fd, lp.buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil && err != unix.EAGAIN {
			lp.l.stats.ReadErrors.Add(1)
		}
		if err != nil || n == 0 {
			break
		}
		lp.l.stats.Bytes.Add(uint64(n))
		if c.s.Data(lp.buf[:n:n]) {
			break
		}
	}
	if filtered {
		detachFilter(c.fd)
	}
	lp.close(c)
}
