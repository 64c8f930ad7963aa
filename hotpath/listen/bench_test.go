//go:build linux

package listen

import (
	"bytes"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// BenchmarkUDPReceive pushes 1,400-byte datagrams over loopback from one sender
// goroutine with sendmmsg, pinned to the last CPU when there are several, and
// reports what the listener received per second and what the kernel dropped.
// One flow lands on one SO_REUSEPORT socket; eight flows spread over all.
func BenchmarkUDPReceive(b *testing.B) {
	procs := runtime.GOMAXPROCS(0)
	for _, bc := range []struct{ sockets, flows int }{{1, 1}, {procs, 8}} {
		b.Run(fmt.Sprintf("sockets=%d/flows=%d", bc.sockets, bc.flows), func(b *testing.B) {
			benchUDP(b, bc.sockets, bc.flows)
		})
	}
}

func benchUDP(b *testing.B, sockets, flows int) {
	const size, batch = 1400, 64
	l, err := ListenUDP("127.0.0.1:0", UDPOptions{Sockets: sockets}, func(int) PacketHandler {
		return PacketFunc(func([]byte) {})
	})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	fds := make([]int, flows)
	for i := range fds {
		fds[i] = udpSenderFD(b, l.Addr())
	}
	payload := bytes.Repeat([]byte("m"), size)
	iov := unix.Iovec{Base: &payload[0]}
	iov.SetLen(size)
	msgs := make([]unix.Mmsghdr, batch)
	for i := range msgs {
		msgs[i].Hdr.Iov = &iov
		msgs[i].Hdr.SetIovlen(1)
	}
	st := l.Stats()
	got0, batches0 := st.Datagrams.Load(), st.Batches.Load()
	drops0, err := l.KernelDrops()
	if err != nil {
		b.Fatal(err)
	}

	b.SetBytes(size)
	b.ResetTimer()
	start := time.Now()
	sent := make(chan int)
	go func() {
		// The goroutine ends locked to its thread, so the thread (and its
		// affinity) goes with it.
		runtime.LockOSThread()
		if n := runtime.NumCPU(); n > 1 {
			var set unix.CPUSet
			set.Set(n - 1)
			unix.SchedSetaffinity(0, &set)
		}
		total := 0
		for f := 0; total < b.N; f++ {
			k := min(batch, b.N-total)
			r, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(fds[f%flows]),
				uintptr(unsafe.Pointer(&msgs[0])), uintptr(k), 0, 0, 0)
			if errno != 0 && errno != unix.EINTR && errno != unix.ENOBUFS {
				b.Error(errno)
				break
			}
			total += int(r)
		}
		sent <- total
	}()
	total := <-sent
	sendTime := time.Since(start)
	var drops uint64
	waitFor(10*time.Second, func() bool {
		d, _ := l.KernelDrops()
		drops = d - drops0
		return st.Datagrams.Load()-got0+drops >= uint64(total)
	})
	elapsed := time.Since(start)
	b.StopTimer()
	got := st.Datagrams.Load() - got0
	b.ReportMetric(float64(got)/elapsed.Seconds(), "datagrams/s")
	b.ReportMetric(float64(drops), "drops")
	b.ReportMetric(100*float64(drops)/float64(max(total, 1)), "drop%")
	b.ReportMetric(float64(got)/float64(max(st.Batches.Load()-batches0, 1)), "datagrams/batch")
	b.ReportMetric(float64(total)/sendTime.Seconds(), "sent/s")
}

// BenchmarkUDPReceiveQueued measures the receiving side alone, which one
// sender core cannot saturate: rounds of 1,400-byte datagrams are queued in the
// socket buffer while the handler is held, and only the reading of them is timed.
func BenchmarkUDPReceiveQueued(b *testing.B) {
	const size = 1400
	var gate atomic.Pointer[chan struct{}]
	l, err := ListenUDP("127.0.0.1:0", UDPOptions{Sockets: 1, ReadBuffer: 128 << 20}, func(int) PacketHandler {
		return PacketFunc(func([]byte) {
			if g := gate.Load(); g != nil {
				<-*g
			}
		})
	})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	// A queued 1,400-byte datagram takes about 2.3 KB of the buffer
	// (skb overhead); without CAP_NET_ADMIN the buffer is rmem_max.
	round := min(20000, l.ReadBuffer()/3072)
	fd := udpSenderFD(b, l.Addr())
	payload := bytes.Repeat([]byte("m"), size)
	iov := unix.Iovec{Base: &payload[0]}
	iov.SetLen(size)
	msgs := make([]unix.Mmsghdr, 64)
	for i := range msgs {
		msgs[i].Hdr.Iov = &iov
		msgs[i].Hdr.SetIovlen(1)
	}
	st := l.Stats()
	drops0, _ := l.KernelDrops()
	b.SetBytes(size)
	b.ResetTimer()
	b.StopTimer()
	for done := 0; done < b.N; {
		k := min(round, b.N-done)
		g := make(chan struct{})
		gate.Store(&g)
		want := st.Datagrams.Load() + uint64(k)
		for sent := 0; sent < k; {
			r, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(fd),
				uintptr(unsafe.Pointer(&msgs[0])), uintptr(min(64, k-sent)), 0, 0, 0)
			if errno != 0 && errno != unix.EINTR {
				b.Fatal(errno)
			}
			sent += int(r)
		}
		time.Sleep(10 * time.Millisecond) // let ksoftirqd finish queueing, if it has any
		b.StartTimer()
		gate.Store(nil)
		close(g)
		for st.Datagrams.Load() < want {
			if d, _ := l.KernelDrops(); d != drops0 {
				b.Fatalf("%d datagrams dropped while queueing: buffer %d too small", d-drops0, l.ReadBuffer())
			}
			time.Sleep(100 * time.Microsecond) // leave the CPU to the receiver
		}
		b.StopTimer()
		done += k
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "datagrams/s")
	b.ReportMetric(float64(st.Datagrams.Load())/float64(st.Batches.Load()), "datagrams/batch")
}

type nopSession struct{}

func (nopSession) Data([]byte) bool { return false }
func (nopSession) Close()           {}

// BenchmarkTCPReceive writes 64 KiB chunks over loopback through one
// connection and through eight, and reports MB/s arrived at the Sessions.
func BenchmarkTCPReceive(b *testing.B) {
	for _, conns := range []int{1, 8} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			benchTCP(b, conns)
		})
	}
}

func benchTCP(b *testing.B, conns int) {
	const chunk = 64 << 10
	l, err := ListenTCP("127.0.0.1:0", TCPOptions{}, func() Session { return nopSession{} })
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	line := []byte("carbon.metric.name 1.5 1700000000\n")
	payload := bytes.Repeat(line, chunk/len(line)+1)[:chunk]
	cs := make([]*net.TCPConn, conns)
	for i := range cs {
		cs[i] = dialTCP(b, l.Addr())
	}
	st := l.Stats()
	before := st.Bytes.Load()

	b.SetBytes(chunk)
	b.ResetTimer()
	var wg sync.WaitGroup
	for i, c := range cs {
		n := b.N / conns
		if i < b.N%conns {
			n++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < n; j++ {
				if _, err := c.Write(payload); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	want := before + uint64(b.N)*chunk
	if !waitFor(30*time.Second, func() bool { return st.Bytes.Load() >= want }) {
		b.Fatalf("%d of %d bytes arrived", st.Bytes.Load()-before, want-before)
	}
}
