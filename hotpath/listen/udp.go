//go:build linux

package listen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// PacketHandler receives the datagrams one UDP socket reads.
type PacketHandler interface {
	// Packet is called once per datagram, always from the same goroutine. b is
	// valid only until Packet returns; the buffer is reused for the next batch.
	Packet(b []byte)
}

// PacketFunc adapts a function to a PacketHandler.
type PacketFunc func(b []byte)

// Packet calls f(b).
func (f PacketFunc) Packet(b []byte) { f(b) }

// UDPOptions tune ListenUDP; the zero value picks the defaults.
type UDPOptions struct {
	// Sockets is the number of SO_REUSEPORT sockets, each read by its own
	// goroutine. Default runtime.GOMAXPROCS(0).
	Sockets int
	// Batch is the most datagrams one recvmmsg call reads. Default 64: at
	// 600k datagrams/s a batch is about 100 µs of traffic, and one syscall's
	// fixed cost is spread over that many datagrams.
	Batch int
	// MaxDatagram is the buffer size for one datagram. A larger datagram is
	// counted in UDPStats.Truncated and not delivered, since a receiver cannot
	// know where the cut fell (a cut line may still parse, as another value).
	// Default 65536, more than the largest UDP payload (65,507 bytes over IPv4),
	// so nothing is truncated. Each socket holds Batch × MaxDatagram bytes of
	// buffers (4 MiB by default); pages the kernel never writes stay untouched.
	MaxDatagram int
	// ReadBuffer is the receive buffer asked for each socket, in bytes: with
	// SO_RCVBUFFORCE when the process may (CAP_NET_ADMIN), else SO_RCVBUF, capped
	// by net.core.rmem_max. Default 16 MiB: about 7,000 queued 1,400-byte
	// datagrams per socket, tens of milliseconds of a loaded sender.
	// UDPListener.ReadBuffer reports what was granted.
	ReadBuffer int
}

func (o UDPOptions) withDefaults() UDPOptions {
	if o.Sockets <= 0 {
		o.Sockets = runtime.GOMAXPROCS(0)
	}
	if o.Batch <= 0 {
		o.Batch = 64
	}
	if o.MaxDatagram <= 0 {
		o.MaxDatagram = 65536
	}
	if o.ReadBuffer <= 0 {
		o.ReadBuffer = 16 << 20
	}
	return o
}

// UDPStats counts what a UDPListener's sockets read. Every field is updated
// atomically, once per batch, and may be read at any time.
type UDPStats struct {
	// Datagrams is the number of datagrams delivered to a PacketHandler.
	Datagrams atomic.Uint64
	// Bytes is the number of payload bytes delivered.
	Bytes atomic.Uint64
	// Truncated counts datagrams longer than MaxDatagram, read and not delivered.
	Truncated atomic.Uint64
	// Batches counts recvmmsg calls that returned datagrams; Datagrams/Batches
	// is the mean batch size.
	Batches atomic.Uint64
	// ReadErrors counts recvmmsg calls that failed with anything but EAGAIN.
	ReadErrors atomic.Uint64
}

// Listener states: running until Drain or Close, draining while queued input is
// read, aborting when nothing more is to be read.
const (
	stateRunning int32 = iota
	stateDraining
	stateAborting
)

// aLongTimeAgo is a deadline in the past: setting it wakes a goroutine parked in
// Go's network poller.
var aLongTimeAgo = time.Unix(1, 0)

// UDPListener is a set of SO_REUSEPORT UDP sockets bound to one address, each
// read by its own goroutine.
type UDPListener struct {
	addr       *net.UDPAddr
	readBuffer int
	workers    []*udpWorker
	stats      UDPStats
	state      atomic.Int32
	stopMu     sync.Mutex
	wg         sync.WaitGroup
	done       chan struct{}
}

// ListenUDP binds opts.Sockets SO_REUSEPORT sockets to addr (":8125",
// "127.0.0.1:0") and starts reading them. handle(worker) is called once per
// socket, before any reading starts, for the PacketHandler that socket's
// goroutine delivers to; it must not return nil. With port 0 the first socket
// picks the port and the others bind to the same one; Addr reports it.
//
// SO_REUSEPORT also lets another process of the same user bind the port, and
// the kernel then shares the datagrams with it: a second statbox on the same
// address does not fail to start, it takes part of the traffic.
func ListenUDP(addr string, opts UDPOptions, handle func(worker int) PacketHandler) (*UDPListener, error) {
	opts = opts.withDefaults()
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("listen udp %s: %w", addr, err)
	}
	l := &UDPListener{done: make(chan struct{})}
	for i := 0; i < opts.Sockets; i++ {
		a := addr
		if i > 0 {
			a = net.JoinHostPort(host, strconv.Itoa(l.addr.Port))
		}
		conn, granted, err := listenUDPSocket(a, opts.ReadBuffer)
		if err != nil {
			for _, w := range l.workers {
				w.conn.Close()
			}
			return nil, fmt.Errorf("listen udp %s: %w", addr, err)
		}
		if i == 0 {
			l.addr = conn.LocalAddr().(*net.UDPAddr)
			l.readBuffer = granted
		}
		w, err := newUDPWorker(l, conn, opts)
		if err != nil {
			conn.Close()
			for _, w := range l.workers {
				w.conn.Close()
			}
			return nil, fmt.Errorf("listen udp %s: %w", addr, err)
		}
		l.workers = append(l.workers, w)
	}
	for i, w := range l.workers {
		w.h = handle(i)
	}
	l.wg.Add(len(l.workers))
	for _, w := range l.workers {
		go w.run()
	}
	go func() {
		l.wg.Wait()
		close(l.done)
	}()
	return l, nil
}

// listenUDPSocket binds one SO_REUSEPORT socket in Go's network poller and sets
// its receive buffer.
func listenUDPSocket(addr string, readBuffer int) (*net.UDPConn, int, error) {
	var granted int
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var err error
		if cerr := c.Control(func(fd uintptr) {
			if err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
				err = fmt.Errorf("set SO_REUSEPORT: %w", err)
				return
			}
			granted, err = setReadBuffer(int(fd), readBuffer)
		}); cerr != nil {
			return cerr
		}
		return err
	}}
	pc, err := lc.ListenPacket(context.Background(), "udp", addr)
	if err != nil {
		return nil, 0, err
	}
	return pc.(*net.UDPConn), granted, nil
}

// Addr is the address the sockets are bound to, with the port picked when addr
// asked for port 0.
func (l *UDPListener) Addr() *net.UDPAddr { return l.addr }

// ReadBuffer is the receive buffer each socket got, as the kernel reports it
// (getsockopt SO_RCVBUF): twice what was asked when the request was granted in
// full, since the kernel counts its per-datagram bookkeeping in the same budget.
func (l *UDPListener) ReadBuffer() int { return l.readBuffer }

// Stats returns the listener's live counters.
func (l *UDPListener) Stats() *UDPStats { return &l.stats }

// KernelDrops is the number of datagrams the kernel dropped on these sockets
// since they were opened: receive buffer full, bad checksum, or refused by the
// filter Drain attaches. It reads SO_MEMINFO (Linux 4.7) on each open socket;
// a closed socket contributes the count it had when it closed.
func (l *UDPListener) KernelDrops() (uint64, error) {
	var total uint64
	for _, w := range l.workers {
		n, err := w.drops()
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

// Drain stops the listener without losing what the kernel already queued: new
// datagrams are refused from the moment Drain is called, every datagram already
// in a socket's buffer is read and delivered, then the sockets are closed. If
// ctx ends first, delivery stops after the batch in hand and Drain returns
// ctx.Err(). Either way Drain waits for the PacketHandler call in progress: no
// call runs once Drain has returned.
func (l *UDPListener) Drain(ctx context.Context) error {
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

// Close stops the listener at once, dropping whatever is still queued, and
// returns when no PacketHandler call is running.
func (l *UDPListener) Close() error {
	l.stop(stateAborting)
	<-l.done
	return nil
}

// stop moves the listener to state s (never back) and wakes the workers.
func (l *UDPListener) stop(s int32) {
	l.stopMu.Lock()
	defer l.stopMu.Unlock()
	if l.state.Load() >= s {
		return
	}
	if s == stateDraining {
		// Refuse new datagrams before the final reads, so that reading to
		// EAGAIN empties the socket for good.
		for _, w := range l.workers {
			w.raw.Control(func(fd uintptr) { attachFilter(int(fd), dropAll) })
		}
	}
	l.state.Store(s)
	for _, w := range l.workers {
		w.conn.SetReadDeadline(aLongTimeAgo)
	}
}

// udpWorker is one socket, its goroutine and its recvmmsg buffers.
type udpWorker struct {
	l      *UDPListener
	conn   *net.UDPConn
	raw    syscall.RawConn
	h      PacketHandler
	size   int
	buf    []byte
	iovs   []unix.Iovec
	hdrs   []unix.Mmsghdr
	readFn func(fd uintptr) bool // w.read, bound once so reading allocates nothing

	// Result of the last read.
	n     int
	errno unix.Errno

	closed      atomic.Bool
	closedDrops atomic.Uint64
}

func newUDPWorker(l *UDPListener, conn *net.UDPConn, opts UDPOptions) (*udpWorker, error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return nil, err
	}
	w := &udpWorker{
		l:    l,
		conn: conn,
		raw:  raw,
		size: opts.MaxDatagram,
		buf:  make([]byte, opts.Batch*opts.MaxDatagram),
		iovs: make([]unix.Iovec, opts.Batch),
		hdrs: make([]unix.Mmsghdr, opts.Batch),
	}
	for i := range w.hdrs {
		w.iovs[i].Base = &w.buf[i*w.size]
		w.iovs[i].SetLen(w.size)
		w.hdrs[i].Hdr.Iov = &w.iovs[i]
		w.hdrs[i].Hdr.SetIovlen(1)
	}
	w.readFn = w.read
	return w, nil
}

// read is the RawConn.Read callback: one non-blocking recvmmsg. It returns false
// on EAGAIN, which parks the goroutine in the network poller until the socket is
// readable.
func (w *udpWorker) read(fd uintptr) bool {
	for {
		// x/sys/unix v0.50.0 has the Mmsghdr type but no Recvmmsg wrapper.
		r, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&w.hdrs[0])),
			uintptr(len(w.hdrs)), unix.MSG_DONTWAIT, 0, 0)
		switch errno {
		case 0:
			w.n, w.errno = int(r), 0
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		default:
			w.n, w.errno = 0, errno
			return true
		}
	}
}

// deliver hands the last read's datagrams to the handler.
func (w *udpWorker) deliver() {
	st := &w.l.stats
	if w.errno != 0 {
		st.ReadErrors.Add(1)
		return
	}
	var datagrams, bytes, truncated uint64
	for i := 0; i < w.n; i++ {
		h := &w.hdrs[i]
		if h.Hdr.Flags&unix.MSG_TRUNC != 0 {
			truncated++
			continue
		}
		off, n := i*w.size, int(h.Len)
		w.h.Packet(w.buf[off : off+n : off+n])
		datagrams++
		bytes += uint64(n)
	}
	if w.n > 0 {
		st.Batches.Add(1)
	}
	if datagrams > 0 {
		st.Datagrams.Add(datagrams)
		st.Bytes.Add(bytes)
	}
	if truncated > 0 {
		st.Truncated.Add(truncated)
	}
}

// receive reads one batch, waiting in the poller if none is queued, and
// delivers it. It fails once the listener stops.
func (w *udpWorker) receive() error {
	if err := w.raw.Read(w.readFn); err != nil {
		return err
	}
	w.deliver()
	return nil
}

func (w *udpWorker) run() {
	defer w.l.wg.Done()
	for w.receive() == nil {
		if w.errno != 0 {
			// ENOMEM and the like: do not spin on an error that persists.
			time.Sleep(time.Millisecond)
		}
	}
	// A deadline woke the goroutine: Drain or Close was called.
	if w.l.state.Load() == stateDraining {
		w.raw.Control(func(fd uintptr) {
			for w.l.state.Load() == stateDraining && w.read(fd) {
				w.deliver()
				if w.errno != 0 {
					break
				}
			}
		})
	}
	if n, err := w.drops(); err == nil {
		w.closedDrops.Store(n)
	}
	w.closed.Store(true)
	w.conn.Close()
}

// drops reads the socket's kernel drop counter, or the count it had at close.
func (w *udpWorker) drops() (uint64, error) {
	if w.closed.Load() {
		return w.closedDrops.Load(), nil
	}
	var n uint64
	var err error
	if cerr := w.raw.Control(func(fd uintptr) { n, err = socketDrops(int(fd)) }); cerr != nil {
		if errors.Is(cerr, net.ErrClosed) {
			return w.closedDrops.Load(), nil
		}
		return 0, cerr
	}
	return n, err
}
