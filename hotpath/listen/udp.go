//go:build linux

package listen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
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
	// Below 65535, UDP GRO stays off: a sender's GSO buffer then comes as
	// its datagrams one by one, not whole (see listenUDPSocket).
	MaxDatagram int
	// ReadBuffer is the receive buffer asked for each socket, in bytes: with
	// SO_RCVBUFFORCE when the process may (CAP_NET_ADMIN), else SO_RCVBUF, capped
	// by net.core.rmem_max. Default 16 MiB: about 7,000 queued 1,400-byte
	// datagrams per socket, tens of milliseconds of a loaded sender.
	// UDPListener.ReadBuffer reports what was granted.
	ReadBuffer int
	// Wait is how long a socket's goroutine sleeps after a batch shorter than
	// Batch before it reads again, so that under a stream of small datagrams
	// batches fill instead of each datagram waking the goroutine: meanwhile
	// the socket wakes nobody and the receive buffer holds what comes. The
	// sleep lasts longer than asked: Go's timers woke a 200 µs time.Sleep
	// after about 1.1 ms (median, GOMAXPROCS=1, bench/RESULTS.md), and later
	// when other goroutines hold the P; the buffer must hold that much of the
	// traffic. Default 0:
	// read again at once. Either way a socket found empty is waited on in Go's
	// network poller, with no CPU spent while idle.
	Wait time.Duration
	// Idle, when set, is called by a socket's goroutine each time it has
	// read what its socket held and is about to wait for more (in Go's
	// poller, or the Wait sleep): with Waiting, it lets work that shares the
	// core with the receivers wait for them. It must not block.
	Idle func()
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
	// Coalesced counts the datagrams (in Datagrams) that came joined with
	// others in one read: a sender's UDP GSO buffer that the kernel passed
	// up whole (UDP_GRO) and the listener split at the segment size.
	Coalesced atomic.Uint64
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
		fd, bound, granted, err := listenUDPSocket(a, opts.ReadBuffer, opts.MaxDatagram >= maxGRO)
		if err != nil {
			l.closeWorkers()
			return nil, fmt.Errorf("listen udp %s: %w", addr, err)
		}
		if i == 0 {
			l.addr = bound
			l.readBuffer = granted
		}
		w, err := newUDPWorker(l, fd, opts)
		if err != nil {
			unix.Close(fd)
			l.closeWorkers()
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

// listenUDPSocket binds one non-blocking SO_REUSEPORT socket outside Go's
// network poller and sets its receive buffer. It returns the socket, the
// address it is bound to and the receive buffer granted.
func listenUDPSocket(addr string, readBuffer int, gro bool) (int, *net.UDPAddr, int, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return -1, nil, 0, err
	}
	family, sa, dual, err := sockaddr(ua.IP, ua.Port, ua.Zone)
	if err != nil {
		return -1, nil, 0, err
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil && dual && errors.Is(err, unix.EAFNOSUPPORT) {
		// No IPv6 in this kernel: a wildcard means every IPv4 address then.
		family, sa, dual = unix.AF_INET, &unix.SockaddrInet4{Port: ua.Port}, false
		fd, err = unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	}
	if err != nil {
		return -1, nil, 0, fmt.Errorf("socket: %w", err)
	}
	fail := func(what string, err error) (int, *net.UDPAddr, int, error) {
		unix.Close(fd)
		return -1, nil, 0, fmt.Errorf("%s: %w", what, err)
	}
	if dual {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0); err != nil {
			return fail("clear IPV6_V6ONLY", err)
		}
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
		return fail("set SO_REUSEPORT", err)
	}
	// UDP_GRO: a sender's GSO buffer (equal-size datagrams sent as one,
	// with UDP_SEGMENT) comes up whole with its segment size, one read for
	// them all, instead of being cut into a datagram each in the kernel.
	// Only where a read's buffer holds the largest such buffer, or its
	// datagrams would be lost to truncation together; left off, without
	// error, where the kernel lacks it (before 5.0).
	if gro {
		unix.SetsockoptInt(fd, unix.SOL_UDP, unix.UDP_GRO, 1)
	}
	granted, err := setReadBuffer(fd, readBuffer)
	if err != nil {
		unix.Close(fd)
		return -1, nil, 0, err
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	bound, err := unix.Getsockname(fd)
	if err != nil {
		return fail("getsockname", err)
	}
	ta := tcpAddr(bound)
	return fd, &net.UDPAddr{IP: ta.IP, Port: ta.Port, Zone: ta.Zone}, granted, nil
}

// closeWorkers closes the sockets of workers that never ran.
func (l *UDPListener) closeWorkers() {
	for _, w := range l.workers {
		w.closeFDs()
	}
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
			w.mu.Lock()
			if !w.closed {
				attachFilter(w.fd, dropAll)
			}
			w.mu.Unlock()
		}
	}
	l.state.Store(s)
	for _, w := range l.workers {
		w.epfile.SetReadDeadline(aLongTimeAgo)
	}
}

// udpWorker is one socket, its goroutine and its recvmmsg buffers.
//
// The socket is not in Go's network poller: it sits, one-shot, in an epoll
// instance of its own, and that instance is in Go's poller. A socket found
// empty re-arms the one-shot registration and the goroutine parks until it
// fires; from then until the socket is found empty again, datagrams arrive
// without waking anyone, which is what lets Wait fill batches. In Go's
// poller the socket would wake the thread polling the network once per
// datagram even while its goroutine slept.
type udpWorker struct {
	l      *UDPListener
	fd     int
	epfd   int
	epfile *os.File // epfd in Go's network poller
	poll   syscall.RawConn
	h      PacketHandler
	size   int
	wait   time.Duration
	idle   func() // UDPOptions.Idle
	buf    []byte
	iovs   []unix.Iovec
	hdrs   []unix.Mmsghdr
	ctrl   []byte // ctrlSpace a message, for the UDP_GRO segment size
	arm    unix.EpollEvent
	events [1]unix.EpollEvent
	waitFn func(fd uintptr) bool // w.epollWait, bound once so waiting allocates nothing

	// Result of the last read.
	n     int
	errno unix.Errno
	// wakeAt is when the Wait sleep under way ends (unix ns), 0 outside it.
	wakeAt atomic.Int64

	// mu orders closing the socket against KernelDrops reading it.
	mu          sync.Mutex
	closed      bool
	closedDrops uint64
}

func newUDPWorker(l *UDPListener, fd int, opts UDPOptions) (*udpWorker, error) {
	w := &udpWorker{
		l:    l,
		fd:   fd,
		epfd: -1,
		size: opts.MaxDatagram,
		wait: opts.Wait,
		idle: opts.Idle,
		arm:  unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLONESHOT, Fd: int32(fd)},
	}
	var err error
	if w.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	fail := func(err error) (*udpWorker, error) {
		if w.epfile != nil {
			w.epfile.Close()
		} else {
			unix.Close(w.epfd)
		}
		return nil, err
	}
	if err := unix.EpollCtl(w.epfd, unix.EPOLL_CTL_ADD, fd, &w.arm); err != nil {
		return fail(fmt.Errorf("epoll_ctl add: %w", err))
	}
	// A non-blocking descriptor is registered with Go's poller by os.NewFile.
	if err := unix.SetNonblock(w.epfd, true); err != nil {
		return fail(fmt.Errorf("epoll fd O_NONBLOCK: %w", err))
	}
	w.epfile = os.NewFile(uintptr(w.epfd), "epoll")
	if err := w.epfile.SetReadDeadline(time.Time{}); err != nil {
		return fail(fmt.Errorf("epoll fd not pollable by Go's poller: %w", err))
	}
	if w.poll, err = w.epfile.SyscallConn(); err != nil {
		return fail(err)
	}
	w.buf = make([]byte, opts.Batch*opts.MaxDatagram)
	w.iovs = make([]unix.Iovec, opts.Batch)
	w.hdrs = make([]unix.Mmsghdr, opts.Batch)
	w.ctrl = make([]byte, opts.Batch*ctrlSpace)
	for i := range w.hdrs {
		w.iovs[i].Base = &w.buf[i*w.size]
		w.iovs[i].SetLen(w.size)
		w.hdrs[i].Hdr.Iov = &w.iovs[i]
		w.hdrs[i].Hdr.SetIovlen(1)
		w.hdrs[i].Hdr.Control = &w.ctrl[i*ctrlSpace]
	}
	w.waitFn = w.epollWait
	return w, nil
}

// read is one non-blocking recvmmsg. It returns false on EAGAIN: the socket
// is empty.
func (w *udpWorker) read() bool {
	for {
		// The kernel sets each message's control length to what it wrote.
		for i := range w.hdrs {
			w.hdrs[i].Hdr.SetControllen(ctrlSpace)
		}
		// x/sys/unix v0.50.0 has the Mmsghdr type but no Recvmmsg wrapper.
		r, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(w.fd), uintptr(unsafe.Pointer(&w.hdrs[0])),
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

// epollWait is the RawConn.Read callback on the epoll file: epoll_wait that
// never blocks. It returns false when the socket's registration has not
// fired, which parks the goroutine in Go's network poller until it does.
func (w *udpWorker) epollWait(fd uintptr) bool {
	for {
		n, err := unix.EpollWait(int(fd), w.events[:], 0)
		if err == unix.EINTR {
			continue
		}
		return n > 0 || err != nil
	}
}

// deliver hands the last read's datagrams to the handler.
func (w *udpWorker) deliver() {
	st := &w.l.stats
	if w.errno != 0 {
		st.ReadErrors.Add(1)
		return
	}
	var datagrams, bytes, truncated, coalesced uint64
	for i := 0; i < w.n; i++ {
		h := &w.hdrs[i]
		if h.Hdr.Flags&unix.MSG_TRUNC != 0 {
			truncated++
			continue
		}
		off, n := i*w.size, int(h.Len)
		bytes += uint64(n)
		seg := w.segment(i)
		if seg <= 0 || seg >= n {
			w.h.Packet(w.buf[off : off+n : off+n])
			datagrams++
			continue
		}
		// Several datagrams of seg bytes, the last one possibly shorter.
		for end := off + n; off < end; off += seg {
			e := min(off+seg, end)
			w.h.Packet(w.buf[off:e:e])
			datagrams++
			coalesced++
		}
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
	if coalesced > 0 {
		st.Coalesced.Add(coalesced)
	}
}

// maxGRO is the most a read of a UDP_GRO socket returns at once: the
// kernel joins datagrams up to the 64 KiB of one IP packet.
const maxGRO = 65535

// ctrlSpace is the control buffer of one message: room for the UDP_GRO
// message, an int.
var ctrlSpace = unix.CmsgSpace(4)

// segment is the UDP_GRO segment size of message i of the last read, or 0
// when the kernel passed it up as one datagram.
func (w *udpWorker) segment(i int) int {
	h := &w.hdrs[i].Hdr
	if h.Controllen < unix.SizeofCmsghdr || h.Flags&unix.MSG_CTRUNC != 0 {
		return 0
	}
	c := w.ctrl[i*ctrlSpace : (i+1)*ctrlSpace]
	cm := (*unix.Cmsghdr)(unsafe.Pointer(&c[0]))
	if cm.Level != unix.SOL_UDP || cm.Type != unix.UDP_GRO || int(cm.Len) < unix.CmsgLen(4) {
		return 0
	}
	return int(*(*int32)(unsafe.Pointer(&c[unix.CmsgLen(0)])))
}

func (w *udpWorker) run() {
	defer w.l.wg.Done()
	for w.l.state.Load() == stateRunning {
		if w.read() {
			w.deliver()
			switch {
			case w.errno != 0:
				// ENOMEM and the like: do not spin on an error that persists.
				time.Sleep(time.Millisecond)
			case w.n < len(w.hdrs) && w.wait > 0:
				w.wakeAt.Store(time.Now().Add(w.wait).UnixNano())
				if w.idle != nil {
					w.idle()
				}
				time.Sleep(w.wait)
				w.wakeAt.Store(0)
			}
			continue
		}
		// Empty: re-arm, which reports a datagram that came since the read,
		// and park until the registration fires or Drain or Close sets the
		// deadline.
		if w.idle != nil {
			w.idle()
		}
		if err := unix.EpollCtl(w.epfd, unix.EPOLL_CTL_MOD, w.fd, &w.arm); err != nil {
			w.l.stats.ReadErrors.Add(1)
			time.Sleep(time.Millisecond)
			continue
		}
		if err := w.poll.Read(w.waitFn); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			break // the epoll file was closed under us
		}
	}
	for w.l.state.Load() == stateDraining && w.read() {
		w.deliver()
		if w.errno != 0 {
			break
		}
	}
	w.mu.Lock()
	if n, err := socketDrops(w.fd); err == nil {
		w.closedDrops = n
	}
	w.closed = true
	w.closeFDs()
	w.mu.Unlock()
}

// closeFDs closes the socket and the epoll instance. The fields keep their
// values: stop may still set the epoll file's deadline, which then fails.
func (w *udpWorker) closeFDs() {
	w.epfile.Close() // and with it epfd
	unix.Close(w.fd)
}

// Waiting reports whether a socket holds a datagram not yet read, leaving
// out a socket whose goroutine is in the Wait sleep it chose, until that
// sleep is due to end: what comes meanwhile is meant to wait. It makes one
// ioctl a socket and takes nothing from the receivers.
func (l *UDPListener) Waiting() bool {
	for _, w := range l.workers {
		if w.waiting() {
			return true
		}
	}
	return false
}

func (w *udpWorker) waiting() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return false
	}
	if at := w.wakeAt.Load(); at != 0 && time.Now().UnixNano() < at {
		return false
	}
	// SIOCINQ on a UDP socket: the size of the next datagram, 0 when there
	// is none (or when it is empty, which then waits unseen).
	n, err := unix.IoctlGetInt(w.fd, unix.SIOCINQ)
	return err == nil && n > 0
}

// drops reads the socket's kernel drop counter, or the count it had at close.
func (w *udpWorker) drops() (uint64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return w.closedDrops, nil
	}
	return socketDrops(w.fd)
}
