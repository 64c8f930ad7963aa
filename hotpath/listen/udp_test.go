//go:build linux

package listen

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"statbox/internal/race"
)

func listenUDP(t *testing.T, opts UDPOptions, handle func(worker int) PacketHandler) *UDPListener {
	t.Helper()
	l, err := ListenUDP("127.0.0.1:0", opts, handle)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func dialUDP(t testing.TB, to *net.UDPAddr) *net.UDPConn {
	t.Helper()
	c, err := net.DialUDP("udp", nil, to)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestUDPDeliversEveryDatagram(t *testing.T) {
	const sockets, senders, perSender = 4, 16, 500
	var mu sync.Mutex
	seen := map[string]int{}
	var perWorker [sockets]atomic.Int64
	l := listenUDP(t, UDPOptions{Sockets: sockets}, func(w int) PacketHandler {
		return PacketFunc(func(b []byte) {
			perWorker[w].Add(1)
			mu.Lock()
			seen[string(b)]++
			mu.Unlock()
		})
	})
	if l.Addr().Port == 0 {
		t.Fatal("Addr reports port 0")
	}
	// Each sender has its own source port, so SO_REUSEPORT spreads them.
	var wg sync.WaitGroup
	for s := 0; s < senders; s++ {
		c := dialUDP(t, l.Addr())
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perSender; i++ {
				if _, err := fmt.Fprintf(c, "sender%d.datagram%d:1|c", s, i); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	const total = senders * perSender
	if !waitFor(5*time.Second, func() bool { return l.Stats().Datagrams.Load() >= total }) {
		drops, _ := l.KernelDrops()
		t.Fatalf("delivered %d of %d datagrams (kernel drops %d)", l.Stats().Datagrams.Load(), total, drops)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != total {
		t.Errorf("%d distinct datagrams, want %d", len(seen), total)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s delivered %d times", k, n)
		}
	}
	used := 0
	for w := range perWorker {
		if perWorker[w].Load() > 0 {
			used++
		}
		t.Logf("socket %d: %d datagrams", w, perWorker[w].Load())
	}
	if used < 2 {
		t.Errorf("only %d of %d sockets received anything", used, sockets)
	}
	if got := l.Stats().Bytes.Load(); got == 0 {
		t.Error("Bytes not counted")
	}
}

func TestUDPSocketsShareThePickedPort(t *testing.T) {
	l := listenUDP(t, UDPOptions{Sockets: 3}, func(int) PacketHandler { return PacketFunc(func([]byte) {}) })
	if len(l.workers) != 3 {
		t.Fatalf("%d sockets, want 3", len(l.workers))
	}
	for i, w := range l.workers {
		sa, err := unix.Getsockname(w.fd)
		if err != nil {
			t.Fatal(err)
		}
		if got := tcpAddr(sa); got.Port != l.Addr().Port || !got.IP.Equal(l.Addr().IP) {
			t.Errorf("socket %d bound to %v, want %v", i, got, l.Addr())
		}
	}
}

// TestUDPBatches queues more datagrams than one recvmmsg takes while the
// handler is busy, and checks that all arrive, in batches.
func TestUDPBatches(t *testing.T) {
	const batch, total = 8, 100
	blocked, release := make(chan struct{}), make(chan struct{})
	var n atomic.Int64
	l := listenUDP(t, UDPOptions{Sockets: 1, Batch: batch}, func(int) PacketHandler {
		return PacketFunc(func(b []byte) {
			if n.Add(1) == 1 {
				close(blocked)
				<-release
			}
		})
	})
	c := dialUDP(t, l.Addr())
	c.Write([]byte("first"))
	<-blocked
	for i := 1; i < total; i++ {
		fmt.Fprintf(c, "d%d", i)
	}
	close(release)
	if !waitFor(5*time.Second, func() bool { return l.Stats().Datagrams.Load() == total }) {
		t.Fatalf("delivered %d of %d", l.Stats().Datagrams.Load(), total)
	}
	// The first datagram alone, then 99 in batches of at most 8: at least 13
	// recvmmsg calls, and not one per datagram.
	if b := l.Stats().Batches.Load(); b < (total+batch-1)/batch || b > 20 {
		t.Errorf("%d datagrams in %d batches of at most %d", total, b, batch)
	}
}

func TestUDPTruncated(t *testing.T) {
	var mu sync.Mutex
	var got [][]byte
	l := listenUDP(t, UDPOptions{Sockets: 1, MaxDatagram: 512}, func(int) PacketHandler {
		return PacketFunc(func(b []byte) {
			mu.Lock()
			got = append(got, append([]byte(nil), b...))
			mu.Unlock()
		})
	})
	c := dialUDP(t, l.Addr())
	c.Write(bytes.Repeat([]byte("x"), 1000))
	c.Write(bytes.Repeat([]byte("y"), 512))
	c.Write(bytes.Repeat([]byte("z"), 513))
	st := l.Stats()
	if !waitFor(5*time.Second, func() bool { return st.Datagrams.Load()+st.Truncated.Load() == 3 }) {
		t.Fatalf("read %d datagrams and %d truncated, want 3 in all", st.Datagrams.Load(), st.Truncated.Load())
	}
	if st.Truncated.Load() != 2 || st.Datagrams.Load() != 1 || st.Bytes.Load() != 512 {
		t.Errorf("truncated %d, delivered %d (%d bytes); want 2, 1 (512 bytes)",
			st.Truncated.Load(), st.Datagrams.Load(), st.Bytes.Load())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || !bytes.Equal(got[0], bytes.Repeat([]byte("y"), 512)) {
		t.Errorf("delivered %d datagrams, want only the 512 y's", len(got))
	}
}

// TestUDPDrain blocks every handler, queues datagrams in the sockets' buffers,
// and checks that Drain delivers every one of them, and none sent after it began.
func TestUDPDrain(t *testing.T) {
	const sockets, senders, perSender, late = 3, 6, 200, 50
	gate := make(chan struct{})
	var mu sync.Mutex
	seen := map[string]bool{}
	l := listenUDP(t, UDPOptions{Sockets: sockets}, func(int) PacketHandler {
		return PacketFunc(func(b []byte) {
			<-gate
			mu.Lock()
			seen[string(b)] = true
			mu.Unlock()
		})
	})
	conns := make([]*net.UDPConn, senders)
	for s := range conns {
		conns[s] = dialUDP(t, l.Addr())
		for i := 0; i < perSender; i++ {
			fmt.Fprintf(conns[s], "s%d.d%d", s, i)
		}
	}
	// Loopback delivers in the sender's softirq, normally before the send
	// returns; under load ksoftirqd may lag, and Drain refuses what is late.
	time.Sleep(50 * time.Millisecond)
	drained := make(chan error)
	go func() { drained <- l.Drain(context.Background()) }()
	if !waitFor(5*time.Second, func() bool { return l.state.Load() == stateDraining }) {
		t.Fatal("Drain did not start")
	}
	// The sockets refuse these: they were sent after Drain began.
	for i := 0; i < late; i++ {
		fmt.Fprintf(conns[i%senders], "late%d", i)
	}
	close(gate)
	select {
	case err := <-drained:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Drain did not return")
	}
	mu.Lock()
	defer mu.Unlock()
	for s := 0; s < senders; s++ {
		for i := 0; i < perSender; i++ {
			if k := fmt.Sprintf("s%d.d%d", s, i); !seen[k] {
				t.Errorf("%s lost", k)
			}
		}
	}
	if len(seen) != senders*perSender {
		t.Errorf("delivered %d datagrams, want %d", len(seen), senders*perSender)
	}
	if drops, err := l.KernelDrops(); err != nil || drops != late {
		t.Errorf("kernel drops %d (%v), want the %d sent after Drain", drops, err, late)
	}
	// Closed for good.
	conns[0].Write([]byte("after"))
	time.Sleep(20 * time.Millisecond)
	if len(seen) != senders*perSender {
		t.Error("a datagram sent after Drain returned was delivered")
	}
}

func TestUDPDrainContextEnds(t *testing.T) {
	gate := make(chan struct{})
	defer close(gate)
	var n atomic.Int64
	l := listenUDP(t, UDPOptions{Sockets: 1, Batch: 4}, func(int) PacketHandler {
		return PacketFunc(func([]byte) {
			if n.Add(1) == 1 {
				<-gate
			}
		})
	})
	c := dialUDP(t, l.Addr())
	for i := 0; i < 100; i++ {
		c.Write([]byte("x"))
	}
	waitFor(5*time.Second, func() bool { return n.Load() == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	go func() {
		waitFor(5*time.Second, func() bool { return l.state.Load() == stateAborting })
		gate <- struct{}{}
	}()
	if err := l.Drain(ctx); err != context.DeadlineExceeded {
		t.Errorf("Drain = %v, want %v", err, context.DeadlineExceeded)
	}
	after := n.Load()
	time.Sleep(20 * time.Millisecond)
	if n.Load() != after {
		t.Error("a handler ran after Drain returned")
	}
	if after > 4 {
		t.Errorf("%d datagrams delivered after the context ended, want at most the batch in hand", after-1)
	}
}

func TestUDPReadBuffer(t *testing.T) {
	const want = 8 << 20
	l := listenUDP(t, UDPOptions{Sockets: 1, ReadBuffer: want}, func(int) PacketHandler { return PacketFunc(func([]byte) {}) })
	t.Logf("asked %d, kernel reports %d", want, l.ReadBuffer())
	if os.Geteuid() == 0 && l.ReadBuffer() != 2*want {
		t.Errorf("as root (SO_RCVBUFFORCE) got %d, want %d", l.ReadBuffer(), 2*want)
	}
	if l.ReadBuffer() <= 0 {
		t.Error("no receive buffer reported")
	}
}

// TestUDPKernelDrops overflows a small receive buffer behind a blocked handler.
func TestUDPKernelDrops(t *testing.T) {
	const total = 300
	gate := make(chan struct{})
	l := listenUDP(t, UDPOptions{Sockets: 1, ReadBuffer: 4096}, func(int) PacketHandler {
		return PacketFunc(func([]byte) { <-gate })
	})
	c := dialUDP(t, l.Addr())
	payload := bytes.Repeat([]byte("d"), 1000)
	for i := 0; i < total; i++ {
		c.Write(payload)
	}
	close(gate)
	st := l.Stats()
	var drops uint64
	if !waitFor(5*time.Second, func() bool {
		drops, _ = l.KernelDrops()
		return st.Datagrams.Load()+drops == total
	}) {
		t.Fatalf("delivered %d, kernel drops %d; want %d in all", st.Datagrams.Load(), drops, total)
	}
	if drops == 0 {
		t.Errorf("no drops counted with a %d-byte buffer", l.ReadBuffer())
	}
	t.Logf("buffer %d: delivered %d, dropped %d", l.ReadBuffer(), st.Datagrams.Load(), drops)
}

// TestUDPReceiveAllocs runs the receive loop for real, batch after batch, and
// counts the whole process's allocations.
func TestUDPReceiveAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector allocates")
	}
	const batch = 64
	l := listenUDP(t, UDPOptions{Sockets: 1, Batch: batch}, func(int) PacketHandler { return PacketFunc(func([]byte) {}) })
	fd := udpSenderFD(t, l.Addr())
	payload := bytes.Repeat([]byte("m"), 1400)
	st := l.Stats()
	var failed bool
	allocs := testing.AllocsPerRun(50, func() {
		want := st.Datagrams.Load() + batch
		for i := 0; i < batch; i++ {
			unix.Write(fd, payload)
		}
		deadline := time.Now().Add(5 * time.Second)
		for st.Datagrams.Load() < want {
			if time.Now().After(deadline) {
				failed = true
				return
			}
			// AllocsPerRun runs with GOMAXPROCS 1: park, so that the
			// scheduler polls the network and runs the receiver.
			time.Sleep(20 * time.Microsecond)
		}
	})
	if failed {
		t.Fatal("datagrams not delivered")
	}
	if allocs != 0 {
		t.Errorf("%v allocations per batch of %d datagrams, want 0", allocs, batch)
	}
}

// udpSenderFD is a raw UDP socket connected to to, outside Go's poller.
func udpSenderFD(t testing.TB, to *net.UDPAddr) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	sa := &unix.SockaddrInet4{Port: to.Port}
	copy(sa.Addr[:], to.IP.To4())
	if err := unix.Connect(fd, sa); err != nil {
		t.Fatal(err)
	}
	return fd
}

func TestUDPCloseIsPrompt(t *testing.T) {
	l, err := ListenUDP("127.0.0.1:0", UDPOptions{Sockets: 2}, func(int) PacketHandler { return PacketFunc(func([]byte) {}) })
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		l.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	if err := l.Drain(context.Background()); err != nil {
		t.Errorf("Drain after Close = %v", err)
	}
}

func TestListenUDPBadAddress(t *testing.T) {
	for _, addr := range []string{"nonsense", "127.0.0.1:99999", "256.0.0.1:0"} {
		if l, err := ListenUDP(addr, UDPOptions{}, func(int) PacketHandler { return PacketFunc(func([]byte) {}) }); err == nil {
			l.Close()
			t.Errorf("ListenUDP(%q) succeeded", addr)
		}
	}
}

// TestUDPWait sends datagrams one by one to a listener that waits after short
// batches: every one arrives, in fewer batches than datagrams, and Drain
// still delivers what is queued.
func TestUDPWait(t *testing.T) {
	const total = 2000
	var got atomic.Int64
	l := listenUDP(t, UDPOptions{Sockets: 1, Wait: time.Millisecond}, func(int) PacketHandler {
		return PacketFunc(func([]byte) { got.Add(1) })
	})
	fd := udpSenderFD(t, l.Addr())
	for i := 0; i < total; i++ {
		unix.Write(fd, []byte("m"))
		if i%100 == 0 {
			time.Sleep(100 * time.Microsecond)
		}
	}
	if err := l.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := l.Stats()
	if got.Load() != total || st.Datagrams.Load() != total {
		t.Fatalf("delivered %d (counted %d), want %d", got.Load(), st.Datagrams.Load(), total)
	}
	if b := st.Batches.Load(); b >= total {
		t.Errorf("%d batches for %d datagrams", b, total)
	}
	t.Logf("%d datagrams in %d batches", total, st.Batches.Load())
}

// TestUDPWaiting: Waiting sees a datagram queued behind a busy receiver, and
// Idle comes once the receiver has read everything.
func TestUDPWaiting(t *testing.T) {
	var idles atomic.Int64
	entered, release := make(chan struct{}, 1), make(chan struct{})
	var first atomic.Bool
	l := listenUDP(t, UDPOptions{Sockets: 1, Idle: func() { idles.Add(1) }}, func(int) PacketHandler {
		return PacketFunc(func([]byte) {
			if first.CompareAndSwap(false, true) {
				entered <- struct{}{}
				<-release
			}
		})
	})
	mustWait(t, "idle before any datagram", func() bool { return !l.Waiting() && idles.Load() > 0 })
	c := dialUDP(t, l.Addr())
	if _, err := c.Write([]byte("a:1|c")); err != nil {
		t.Fatal(err)
	}
	<-entered
	if l.Waiting() {
		t.Fatal("Waiting true with the only datagram read")
	}
	if _, err := c.Write([]byte("b:1|c")); err != nil {
		t.Fatal(err)
	}
	mustWait(t, "waiting with a datagram queued", l.Waiting)
	before := idles.Load()
	close(release)
	mustWait(t, "idle after the reads", func() bool { return !l.Waiting() && idles.Load() > before })
	l.Close()
	if l.Waiting() {
		t.Fatal("Waiting true after Close")
	}
}

// TestUDPGRO: a sender's UDP GSO buffer comes up whole (UDP_GRO) and is
// delivered as the datagrams it was sent as, the last one shorter; with
// buffers too small for a whole GSO buffer, GRO is off and the kernel
// delivers them one by one.
func TestUDPGRO(t *testing.T) {
	for _, c := range []struct {
		maxDatagram int
		coalesced   uint64
	}{{0, 4}, {512, 0}} {
		got := make(chan string, 16)
		l := listenUDP(t, UDPOptions{Sockets: 1, MaxDatagram: c.maxDatagram}, func(int) PacketHandler {
			return PacketFunc(func(b []byte) { got <- string(b) })
		})
		fd := udpSenderFD(t, l.Addr())
		if err := unix.SetsockoptInt(fd, unix.SOL_UDP, unix.UDP_SEGMENT, 5); err != nil {
			t.Fatalf("UDP_SEGMENT: %v", err)
		}
		if _, err := unix.Write(fd, []byte("aaaaabbbbbcccccdd")); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"aaaaa", "bbbbb", "ccccc", "dd"} {
			select {
			case g := <-got:
				if g != want {
					t.Fatalf("MaxDatagram %d: datagram %q, want %q", c.maxDatagram, g, want)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("MaxDatagram %d: datagram %q not delivered", c.maxDatagram, want)
			}
		}
		st := l.Stats()
		if d, co := st.Datagrams.Load(), st.Coalesced.Load(); d != 4 || co != c.coalesced {
			t.Fatalf("MaxDatagram %d: Datagrams %d, Coalesced %d, want 4 and %d", c.maxDatagram, d, co, c.coalesced)
		}
	}
}

// TestUDPWaitingDuringWait: a socket whose goroutine sleeps the Wait it chose
// does not count as waiting until that sleep is due to end, and the sleep
// begins with Idle.
func TestUDPWaitingDuringWait(t *testing.T) {
	const wait = time.Second
	idles := make(chan time.Time, 16)
	got := make(chan string, 16)
	l := listenUDP(t, UDPOptions{Sockets: 1, Wait: wait, Idle: func() { idles <- time.Now() }}, func(int) PacketHandler {
		return PacketFunc(func(b []byte) { got <- string(b) })
	})
	<-idles // parked, empty
	c := dialUDP(t, l.Addr())
	if _, err := c.Write([]byte("a:1|c")); err != nil {
		t.Fatal(err)
	}
	if g := <-got; g != "a:1|c" {
		t.Fatalf("datagram %q", g)
	}
	slept := <-idles // a short batch: the Wait sleep begins
	if _, err := c.Write([]byte("b:1|c")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // the datagram reaches the socket
	if l.Waiting() && time.Since(slept) < wait/2 {
		t.Fatal("Waiting true during the Wait sleep")
	}
	select {
	case g := <-got:
		if g != "b:1|c" {
			t.Fatalf("datagram %q", g)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the datagram sent during the sleep was not delivered")
	}
}
