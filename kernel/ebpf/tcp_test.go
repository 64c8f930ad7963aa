package ebpf

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// An established connection closed with SO_LINGER 0 sends a reset, which
// its peer receives: one of each, over loopback.
func TestTCPResets(t *testing.T) {
	got, _ := measure(t, func() {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
		s.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := s.Read(make([]byte, 1)); !errors.Is(err, unix.ECONNRESET) {
			t.Errorf("read after the peer's reset: %v, want ECONNRESET", err)
		}
	})
	need(t, got, "ebpf.tcp.resets_sent", 1)
	need(t, got, "ebpf.tcp.resets_received", 1)
}

// A transfer between two network namespaces over a veth pair, whose
// receiving end drops every packet for longer than the minimum
// retransmission timeout (200 ms) while the sender has data to send: what
// was sent in that time is lost and retransmitted. The loss is an XDP
// program on the receiving veth rather than tc netem, which not every
// kernel has (this machine's has no sch_netem), and loses at a chosen time
// rather than at random, so the test needs no luck.
func TestTCPRetransmits(t *testing.T) {
	probes(t)
	a, b := netnsPair(t)
	var ln net.Listener
	inNetns(t, b, func() (err error) {
		ln, err = net.Listen("tcp", "10.213.0.2:0")
		return err
	})
	defer ln.Close()
	received := make(chan int64, 1)
	go func() {
		s, err := ln.Accept()
		if err != nil {
			received <- -1
			return
		}
		defer s.Close()
		s.SetDeadline(time.Now().Add(20 * time.Second))
		n, _ := io.Copy(io.Discard, s)
		received <- n
	}()
	var c net.Conn
	inNetns(t, a, func() (err error) {
		c, err = net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
		return err
	})
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))

	chunk := make([]byte, 64<<10)
	const before, after = 32, 32 // chunks sent around the outage
	got, _ := measure(t, func() {
		for range before {
			if _, err := c.Write(chunk); err != nil {
				t.Fatal(err)
			}
		}
		// From here the receiver drops every packet before its stack
		// sees it: the sender's retransmission timer fires.
		drop := dropAll(t, b, "veb")
		done := make(chan error, 1)
		go func() {
			var err error
			for i := 0; i < after && err == nil; i++ {
				_, err = c.Write(chunk)
			}
			done <- err
		}()
		time.Sleep(700 * time.Millisecond)
		drop.Close()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		c.Close()
		if n := <-received; n != (before+after)*int64(len(chunk)) {
			t.Fatalf("received %d bytes, want %d", n, (before+after)*len(chunk))
		}
	})
	need(t, got, "ebpf.tcp.retransmits", 1)
}

// netnsPair makes two network namespaces joined by a veth pair, vea
// 10.213.0.1 in the first and veb 10.213.0.2 in the second, removed when
// the test ends.
func netnsPair(t *testing.T) (a, b string) {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		if !inCI {
			t.Skip("ip (iproute2) missing")
		}
		t.Fatal("ip (iproute2) missing")
	}
	suffix := strconv.Itoa(os.Getpid())
	a, b = "statbox-ebpf-a-"+suffix, "statbox-ebpf-b-"+suffix
	for _, ns := range []string{a, b} {
		ip(t, "netns", "add", ns)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	}
	ip(t, "link", "add", "vea", "netns", a, "type", "veth", "peer", "name", "veb", "netns", b)
	ip(t, "-n", a, "addr", "add", "10.213.0.1/24", "dev", "vea")
	ip(t, "-n", b, "addr", "add", "10.213.0.2/24", "dev", "veb")
	ip(t, "-n", a, "link", "set", "vea", "up")
	ip(t, "-n", b, "link", "set", "veb", "up")
	return a, b
}

func ip(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %v: %v: %s", args, err, out)
	}
}

// inNetns runs f on a thread moved into the named network namespace, so
// the sockets f makes live there. The thread stays locked and dies with
// its goroutine rather than going back to Go's pool in another namespace.
func inNetns(t *testing.T, name string, f func() error) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		ns, err := os.Open("/var/run/netns/" + name)
		if err != nil {
			errc <- err
			return
		}
		defer ns.Close()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		errc <- f()
	}()
	if err := <-errc; err != nil {
		t.Fatalf("in netns %s: %v", name, err)
	}
}

// dropAll attaches to the interface dev of network namespace ns an XDP
// program that drops every packet, until the returned link is closed.
func dropAll(t *testing.T, ns, dev string) link.Link {
	t.Helper()
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type:    ebpf.XDP,
		License: "GPL",
		Instructions: asm.Instructions{
			asm.Mov.Imm(asm.R0, 1), // XDP_DROP
			asm.Return(),
		},
	})
	if err != nil {
		t.Fatalf("load the XDP dropper: %v", err)
	}
	defer prog.Close() // the link holds it
	var l link.Link
	inNetns(t, ns, func() error {
		ifc, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		l, err = link.AttachXDP(link.XDPOptions{Program: prog, Interface: ifc.Index})
		return err
	})
	t.Cleanup(func() { l.Close() })
	return l
}
