//go:build linux

package listen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"statbox/internal/race"
)

func listenTCP(t *testing.T, opts TCPOptions, rs *recorders) *TCPListener {
	t.Helper()
	l, err := ListenTCP("127.0.0.1:0", opts, rs.newSession)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func dialTCP(t testing.TB, to *net.TCPAddr) *net.TCPConn {
	t.Helper()
	c, err := net.DialTCP("tcp", nil, to)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func drain(t *testing.T, l *TCPListener, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	start := time.Now()
	if err := l.Drain(ctx); err != nil {
		t.Fatalf("Drain after %v: %v", time.Since(start), err)
	}
}

// stream is what client id sends: a first line that names it, then numbered lines.
func stream(id, lines int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "client%d\n", id)
	for i := 0; i < lines; i++ {
		fmt.Fprintf(&b, "client%d.line%d %d 1700000000\n", id, i, i)
	}
	return b.Bytes()
}

// byClient maps each recorder's first line to what it received.
func byClient(t *testing.T, rs *recorders) map[string][]byte {
	t.Helper()
	got := map[string][]byte{}
	for _, r := range rs.list() {
		data, closes := r.snapshot()
		if closes != 1 {
			t.Errorf("Session.Close called %d times, want 1", closes)
		}
		name, _, _ := bytes.Cut(data, []byte("\n"))
		got[string(name)] = data
	}
	return got
}

// TestTCPInterleaved has many clients write at once, in pieces of random size,
// and checks that every connection's bytes arrive whole and in order, with
// reads split at arbitrary places too (ReadSize 7).
func TestTCPInterleaved(t *testing.T) {
	for _, readSize := range []int{0, 7} {
		t.Run(fmt.Sprintf("ReadSize=%d", readSize), func(t *testing.T) {
			const clients, lines = 40, 300
			rs := &recorders{}
			l := listenTCP(t, TCPOptions{Loops: 3, ReadSize: readSize}, rs)
			var wg sync.WaitGroup
			for id := 0; id < clients; id++ {
				c := dialTCP(t, l.Addr())
				wg.Add(1)
				go func() {
					defer wg.Done()
					rnd := rand.New(rand.NewPCG(uint64(id), 1))
					for b := stream(id, lines); len(b) > 0; {
						n := min(len(b), 1+rnd.IntN(64))
						if _, err := c.Write(b[:n]); err != nil {
							t.Error(err)
							return
						}
						b = b[n:]
						if rnd.IntN(8) == 0 {
							runtime.Gosched()
						}
					}
					c.Close()
				}()
			}
			wg.Wait()
			if !waitFor(10*time.Second, func() bool { return l.Stats().Closed.Load() == clients }) {
				t.Fatalf("%d of %d connections closed", l.Stats().Closed.Load(), clients)
			}
			got := byClient(t, rs)
			for id := 0; id < clients; id++ {
				want := stream(id, lines)
				if g := got[fmt.Sprintf("client%d", id)]; !bytes.Equal(g, want) {
					t.Errorf("client %d: got %d bytes, want %d, or out of order", id, len(g), len(want))
				}
			}
			st := l.Stats()
			if st.Accepted.Load() != clients || st.Open.Load() != 0 {
				t.Errorf("accepted %d, open %d; want %d, 0", st.Accepted.Load(), st.Open.Load(), clients)
			}
			if want := uint64(clients * len(stream(0, lines))); st.Bytes.Load() < want {
				t.Errorf("counted %d bytes, want at least %d", st.Bytes.Load(), want)
			}
		})
	}
}

// TestTCPDrainDeliversQueued stops a loop inside a Data call, lets clients write
// meanwhile (one of them still in the listen queue), and checks that Drain
// delivers all of it, refuses new connections, and closes every session.
func TestTCPDrainDeliversQueued(t *testing.T) {
	const lines = 1000
	blocked, gate := make(chan struct{}), make(chan struct{})
	rs := &recorders{onData: func(r *recorder, b []byte) bool {
		if bytes.HasPrefix(b, []byte("block\n")) {
			close(blocked)
			<-gate
		}
		return false
	}}
	l := listenTCP(t, TCPOptions{Loops: 1}, rs)

	a := dialTCP(t, l.Addr()) // accepted while the loop runs
	if !waitFor(5*time.Second, func() bool { return l.Stats().Accepted.Load() == 1 }) {
		t.Fatal("first connection not accepted")
	}
	blocker := dialTCP(t, l.Addr())
	blocker.Write([]byte("block\n"))
	<-blocked
	b := dialTCP(t, l.Addr()) // in the listen queue: the loop is stuck in Data
	if _, err := a.Write(stream(1, lines)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Write(stream(2, lines)); err != nil {
		t.Fatal(err)
	}
	// Loopback completes handshakes and queues bytes in the sender's softirq,
	// normally before the call returns; under load ksoftirqd may lag, and
	// Drain refuses what is late.
	time.Sleep(50 * time.Millisecond)

	drained := make(chan error)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		drained <- l.Drain(ctx)
	}()
	if !waitFor(5*time.Second, func() bool { return l.state.Load() == stateDraining }) {
		t.Fatal("Drain did not start")
	}
	// Draining: the listener completes no new handshake.
	if c, err := net.DialTimeout("tcp", l.Addr().String(), 200*time.Millisecond); err == nil {
		c.Close()
		t.Error("a connection was established after Drain began")
	}
	close(gate)
	if err := <-drained; err != nil {
		t.Fatal(err)
	}
	got := byClient(t, rs)
	if len(got) != 3 {
		t.Errorf("%d sessions, want 3", len(got))
	}
	for id := 1; id <= 2; id++ {
		if g, want := got[fmt.Sprintf("client%d", id)], stream(id, lines); !bytes.Equal(g, want) {
			t.Errorf("client %d: %d of %d bytes delivered", id, len(g), len(want))
		}
	}
	if st := l.Stats(); st.Closed.Load() != 3 || st.Open.Load() != 0 {
		t.Errorf("closed %d, open %d; want 3, 0", st.Closed.Load(), st.Open.Load())
	}
}

// TestTCPDrainWhileWriting drains a connection whose client keeps writing:
// what was delivered must be a gap-free prefix of what was written, and the
// client must learn promptly that the connection is gone.
// TestTCPDrainWhileWriting drains under a client that never stops writing:
// past DrainGrace the drain reads the connection dry and closes it, and the
// client sees a reset, not a hang.
func TestTCPDrainWhileWriting(t *testing.T) {
	rs := &recorders{}
	l := listenTCP(t, TCPOptions{Loops: 1, DrainGrace: 500 * time.Millisecond}, rs)
	c := dialTCP(t, l.Addr())
	var written bytes.Buffer
	writerDone := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			line := fmt.Appendf(nil, "line%d\n", i)
			c.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if _, err := c.Write(line); err != nil {
				writerDone <- err
				return
			}
			written.Write(line)
		}
	}()
	if !waitFor(5*time.Second, func() bool { return l.Stats().Bytes.Load() > 100000 }) {
		t.Fatal("nothing arrives")
	}
	drain(t, l, 10*time.Second)
	var werr error
	select {
	case werr = <-writerDone:
	case <-time.After(5 * time.Second):
		t.Fatal("the client kept writing for 5s after Drain returned")
	}
	var ne net.Error
	if errors.As(werr, &ne) && ne.Timeout() {
		t.Errorf("client's write timed out instead of seeing a reset: %v", werr)
	}
	got := byClient(t, rs)
	var data []byte
	for _, d := range got {
		data = d
	}
	if !bytes.HasPrefix(written.Bytes(), data) {
		t.Errorf("delivered %d bytes that are not a prefix of the %d written", len(data), written.Len())
	}
	if len(data) == 0 {
		t.Error("nothing delivered")
	}
	t.Logf("written %d bytes, delivered %d, client saw %v", written.Len(), len(data), werr)
}

func TestTCPSilentClientDoesNotBlockDrain(t *testing.T) {
	rs := &recorders{}
	l := listenTCP(t, TCPOptions{Loops: 2}, rs)
	silent := dialTCP(t, l.Addr())
	if !waitFor(5*time.Second, func() bool { return l.Stats().Open.Load() == 1 }) {
		t.Fatal("not accepted")
	}
	start := time.Now()
	drain(t, l, 2*time.Second)
	if d := time.Since(start); d > time.Second {
		t.Errorf("Drain took %v", d)
	}
	if got := byClient(t, rs); len(got) != 1 {
		t.Errorf("%d sessions, want 1", len(got))
	}
	silent.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := silent.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("client read after Drain: %v, want EOF", err)
	}
}

func TestTCPSessionAsksToClose(t *testing.T) {
	rs := &recorders{onData: func(r *recorder, b []byte) bool { return bytes.Contains(b, []byte("quit")) }}
	l := listenTCP(t, TCPOptions{Loops: 1}, rs)
	c := dialTCP(t, l.Addr())
	c.Write([]byte("a 1 2\nquit\n"))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("client read: %v, want EOF", err)
	}
	if !waitFor(5*time.Second, func() bool { return l.Stats().Closed.Load() == 1 }) {
		t.Fatal("not closed")
	}
	byClient(t, rs) // one Close each
}

func TestTCPIdleTimeout(t *testing.T) {
	rs := &recorders{}
	l := listenTCP(t, TCPOptions{Loops: 1, IdleTimeout: 300 * time.Millisecond}, rs)
	silent := dialTCP(t, l.Addr())
	chatty := dialTCP(t, l.Addr())
	var gap time.Duration // the longest the chatty client went without writing
	last := time.Now()
	for stop := last.Add(time.Second); time.Now().Before(stop); {
		if _, err := chatty.Write([]byte("x 1 1\n")); err != nil {
			t.Fatal(err)
		}
		gap, last = max(gap, time.Since(last)), time.Now()
		time.Sleep(20 * time.Millisecond)
	}
	silent.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := silent.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("silent client: %v, want EOF", err)
	}
	st := l.Stats()
	if gap > 150*time.Millisecond {
		// An overloaded machine stalled the client for half the timeout.
		t.Logf("chatty client paused %v; not checking that it stayed open", gap)
		return
	}
	if st.IdleClosed.Load() != 1 || st.Open.Load() != 1 {
		t.Errorf("idle-closed %d, open %d; want 1, 1 (longest pause between writes %v)", st.IdleClosed.Load(), st.Open.Load(), gap)
	}
}

// TestTCPAcceptErrorKeepsServing runs the process out of descriptors while
// clients connect (evio's loop ends the whole server on such an error), then
// gives them back: every client must be served.
func TestTCPAcceptErrorKeepsServing(t *testing.T) {
	const clients = 8
	rs := &recorders{}
	l := listenTCP(t, TCPOptions{Loops: 1}, rs)
	// The client sockets exist before the limit drops; connecting needs no new descriptor.
	fds := make([]int, clients)
	for i := range fds {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		fds[i] = fd
		defer unix.Close(fd)
	}
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	low := unix.Rlimit{Cur: uint64(lowestFreeFD(t)), Max: old.Max}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	restored := false
	restore := func() {
		if !restored {
			unix.Setrlimit(unix.RLIMIT_NOFILE, &old)
			restored = true
		}
	}
	defer restore()
	sa := &unix.SockaddrInet4{Port: l.Addr().Port, Addr: [4]byte{127, 0, 0, 1}}
	for i, fd := range fds {
		if err := unix.Connect(fd, sa); err != nil {
			restore()
			t.Fatal(err)
		}
		unix.Write(fd, stream(i, 3))
	}
	sawErrors := waitFor(5*time.Second, func() bool { return l.Stats().AcceptErrors.Load() > 0 })
	restore()
	if !sawErrors {
		t.Fatal("accept never failed with the descriptor limit at its floor")
	}
	if !waitFor(5*time.Second, func() bool { return l.Stats().Bytes.Load() == uint64(clients*len(stream(0, 3))) }) {
		t.Fatalf("accepted %d of %d after the limit was restored", l.Stats().Accepted.Load(), clients)
	}
	t.Logf("%d accept errors", l.Stats().AcceptErrors.Load())
}

// lowestFreeFD is the descriptor the next open would get: with the limit set
// to it, every open fails with EMFILE.
func lowestFreeFD(t *testing.T) int {
	t.Helper()
	fd, err := unix.Dup(0)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)
	return fd
}

// TestTCPTenThousandIdle holds 10,000 idle connections and checks that they
// cost no goroutines and little memory, that a busy connection is served
// promptly meanwhile, and that Drain closes them all quickly. The clients live
// in a child process (this test binary again, see TestIdleClientsHelper), so
// that each side needs only 10,000 descriptors.
func TestTCPTenThousandIdle(t *testing.T) {
	const idle = 10000
	raiseNofile(t, idle+1000)
	rs := &recorders{}
	l := listenTCP(t, TCPOptions{}, rs)

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	goroutines := runtime.NumGoroutine()

	start := time.Now()
	clients := startIdleClients(t, l.Addr(), idle)
	if !waitFor(30*time.Second, func() bool { return l.Stats().Open.Load() == idle }) {
		t.Fatalf("%d of %d connections open", l.Stats().Open.Load(), idle)
	}
	t.Logf("%d idle connections open after %v", idle, time.Since(start))

	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	perConn := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / idle
	t.Logf("Go heap per idle connection: %d bytes (test's Session included); goroutines %d -> %d",
		perConn, goroutines, runtime.NumGoroutine())
	if g := runtime.NumGoroutine(); g > goroutines+2 {
		t.Errorf("goroutines went from %d to %d with %d connections", goroutines, g, idle)
	}
	if perConn > 1024 {
		t.Errorf("%d bytes of Go heap per idle connection", perConn)
	}

	// A busy connection: 200 round trips, each waiting for its line to arrive.
	busy := dialTCP(t, l.Addr())
	if !waitFor(5*time.Second, func() bool { return l.Stats().Open.Load() == idle+1 }) {
		t.Fatal("busy connection not accepted")
	}
	var slowest time.Duration
	for i := 0; i < 200; i++ {
		want := l.Stats().Bytes.Load() + 10
		sent := time.Now()
		busy.Write([]byte("busy 1 2\n\n"))
		if !waitFor(5*time.Second, func() bool { return l.Stats().Bytes.Load() >= want }) {
			t.Fatalf("round %d not delivered", i)
		}
		slowest = max(slowest, time.Since(sent))
	}
	t.Logf("slowest delivery among 200 on the busy connection: %v", slowest)
	if slowest > 500*time.Millisecond {
		t.Errorf("a line on the busy connection took %v to arrive", slowest)
	}

	start = time.Now()
	drain(t, l, 30*time.Second)
	t.Logf("Drain of %d connections: %v", idle+1, time.Since(start))
	closes := 0
	for _, r := range rs.list() {
		_, n := r.snapshot()
		closes += n
	}
	if closes != idle+1 || len(rs.list()) != idle+1 {
		t.Errorf("%d sessions, %d Close calls; want %d each", len(rs.list()), closes, idle+1)
	}
	clients.stop(t)
}

// idleClients is the child process holding the idle connections.
type idleClients struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// startIdleClients runs TestIdleClientsHelper in a child process, which opens n
// connections to addr and holds them until its stdin closes.
func startIdleClients(t *testing.T, addr *net.TCPAddr, n int) *idleClients {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleClientsHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), fmt.Sprintf("LISTEN_IDLE_CLIENTS=%d,%d", addr.Port, n))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &idleClients{cmd: cmd, stdin: stdin}
	t.Cleanup(func() { c.stop(t) })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		missing(t, "the client process could not open %d connections: %q %v", n, line, err)
	}
	return c
}

func (c *idleClients) stop(t *testing.T) {
	if c.stdin == nil {
		return
	}
	c.stdin.Close()
	c.stdin = nil
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		<-done
		t.Error("client process did not exit")
	}
}

// TestIdleClientsHelper is the child process of TestTCPTenThousandIdle; it does
// nothing in a normal run.
func TestIdleClientsHelper(t *testing.T) {
	spec := os.Getenv("LISTEN_IDLE_CLIENTS")
	if spec == "" {
		t.Skip("helper process for TestTCPTenThousandIdle")
	}
	var port, n int
	if _, err := fmt.Sscanf(spec, "%d,%d", &port, &n); err != nil {
		t.Fatal(err)
	}
	raiseNofile(t, uint64(n+1000))
	sa := &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}
	fds := make([]int, 0, n)
	for len(fds) < n {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatalf("client socket %d: %v", len(fds), err)
		}
		fds = append(fds, fd)
		if err := unix.Connect(fd, sa); err != nil {
			t.Fatalf("connect %d: %v", len(fds), err)
		}
	}
	os.Stdout.WriteString("ready\n")
	io.Copy(io.Discard, os.Stdin)
	for _, fd := range fds {
		unix.Close(fd)
	}
}

func TestTCPCloseDropsQueued(t *testing.T) {
	rs := &recorders{}
	l, err := ListenTCP("127.0.0.1:0", TCPOptions{Loops: 2}, rs.newSession)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		dialTCP(t, l.Addr())
	}
	waitFor(5*time.Second, func() bool { return l.Stats().Open.Load() == 5 })
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
	byClient(t, rs)
	if err := l.Drain(context.Background()); err != nil {
		t.Errorf("Drain after Close = %v", err)
	}
	if _, err := net.DialTimeout("tcp", l.Addr().String(), time.Second); err == nil {
		t.Error("still listening after Close")
	}
}

func TestListenTCPAddresses(t *testing.T) {
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:0", true},
		{"localhost:0", true},
		{":0", true},
		{"nonsense", false},
		{"127.0.0.1:99999", false},
		{"127.0.0.1:carbon-nope", false},
	} {
		l, err := ListenTCP(tc.addr, TCPOptions{Loops: 2}, (&recorders{}).newSession)
		if (err == nil) != tc.ok {
			t.Errorf("ListenTCP(%q): %v", tc.addr, err)
		}
		if err != nil {
			continue
		}
		c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", fmt.Sprint(l.Addr().Port)))
		if err != nil {
			t.Errorf("%s (%v): %v", tc.addr, l.Addr(), err)
		} else {
			c.Close()
		}
		if !strings.HasSuffix(l.Addr().String(), fmt.Sprint(":", l.Addr().Port)) || l.Addr().Port == 0 {
			t.Errorf("%s: Addr %v", tc.addr, l.Addr())
		}
		l.Close()
	}
	// The port is taken while a listener holds it, reuseport or not, by
	// anyone who does not ask for SO_REUSEPORT.
	l, err := ListenTCP("127.0.0.1:0", TCPOptions{Loops: 1}, (&recorders{}).newSession)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if ln, err := net.Listen("tcp", l.Addr().String()); err == nil {
		ln.Close()
		t.Errorf("a second plain listener bound %v", l.Addr())
	}
}

// TestTCPReceiveAllocs runs the event loop for real, read after read, and counts
// the whole process's allocations.
func TestTCPReceiveAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector allocates")
	}
	l, err := ListenTCP("127.0.0.1:0", TCPOptions{Loops: 1}, func() Session { return nopSession{} })
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Connect(fd, &unix.SockaddrInet4{Port: l.Addr().Port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	payload := bytes.Repeat([]byte("a.b.c 1 1700000000\n"), 200)
	st := l.Stats()
	var failed bool
	allocs := testing.AllocsPerRun(50, func() {
		want := st.Bytes.Load() + uint64(len(payload))
		unix.Write(fd, payload)
		deadline := time.Now().Add(5 * time.Second)
		for st.Bytes.Load() < want {
			if time.Now().After(deadline) {
				failed = true
				return
			}
			time.Sleep(20 * time.Microsecond)
		}
	})
	if failed {
		t.Fatal("bytes not delivered")
	}
	if allocs != 0 {
		t.Errorf("%v allocations per %d-byte write, want 0", allocs, len(payload))
	}
}

// TestTCPDrainWaitsForQuiet starts a drain while a client is still sending
// in bursts less than DrainQuiet apart: everything it sends before it falls
// quiet is delivered, and the drain ends soon after.
func TestTCPDrainWaitsForQuiet(t *testing.T) {
	rs := &recorders{}
	l := listenTCP(t, TCPOptions{Loops: 1, DrainQuiet: 300 * time.Millisecond}, rs)
	c := dialTCP(t, l.Addr())
	var written bytes.Buffer
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for burst := 0; burst < 5; burst++ {
			for i := 0; i < 100; i++ {
				line := fmt.Appendf(nil, "b%d-l%d\n", burst, i)
				if _, err := c.Write(line); err != nil {
					return
				}
				written.Write(line)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	if !waitFor(5*time.Second, func() bool { return l.Stats().Bytes.Load() > 0 }) {
		t.Fatal("nothing arrives")
	}
	start := time.Now()
	drain(t, l, 10*time.Second)
	<-sent
	// The client falls quiet after about 250 ms: the drain ends then, not
	// at DrainGrace (10 s). The bound is far from both, for loaded machines.
	if took := time.Since(start); took > 8*time.Second {
		t.Errorf("drain took %v: it waited for DrainGrace rather than the quiet", took)
	}
	var data []byte
	for _, d := range byClient(t, rs) {
		data = d
	}
	if !bytes.Equal(data, written.Bytes()) {
		t.Errorf("delivered %d bytes of the %d sent during the drain's quiet phase", len(data), written.Len())
	}
}

// blockingSession holds the loop in Data until release is closed.
type blockingSession struct {
	entered chan struct{}
	release chan struct{}
}

func (s *blockingSession) Data([]byte) bool {
	select {
	case s.entered <- struct{}{}:
	default:
	}
	<-s.release
	return false
}
func (s *blockingSession) Close() {}

// Waiting is true while a loop serves input or has input to serve, and
// false once it has read everything; Idle is called when it has.
func TestTCPWaiting(t *testing.T) {
	var idles atomic.Int64
	s := &blockingSession{entered: make(chan struct{}, 1), release: make(chan struct{})}
	l, err := ListenTCP("127.0.0.1:0", TCPOptions{Loops: 1, Idle: func() { idles.Add(1) }}, func() Session { return s })
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	mustWait(t, "idle before any connection", func() bool { return !l.Waiting() && idles.Load() > 0 })
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("a.b 1 1\n")); err != nil {
		t.Fatal(err)
	}
	<-s.entered
	if !l.Waiting() {
		t.Fatal("Waiting false while the loop is inside Data")
	}
	before := idles.Load()
	close(s.release)
	mustWait(t, "idle after the read", func() bool { return !l.Waiting() && idles.Load() > before })
	l.Close()
	if l.Waiting() {
		t.Fatal("Waiting true after Close")
	}
}
