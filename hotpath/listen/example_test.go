//go:build linux

package listen_test

import (
	"bytes"
	"context"
	"fmt"
	"net"

	"statbox/hotpath/listen"
)

// lineCounter is a Session that counts newline-terminated lines; a real
// receiver would hand them to the carbon parser instead.
type lineCounter struct {
	lines  int
	closed chan<- int
}

func (s *lineCounter) Data(b []byte) bool {
	s.lines += bytes.Count(b, []byte("\n"))
	return false
}

func (s *lineCounter) Close() { s.closed <- s.lines }

func ExampleListenTCP() {
	closed := make(chan int, 1)
	l, err := listen.ListenTCP("127.0.0.1:0", listen.TCPOptions{}, func() listen.Session {
		return &lineCounter{closed: closed}
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Fprint(c, "a.b.c 1 1700000000\nd.e.f 2 1700000000\n")
	c.Close()
	fmt.Println("lines:", <-closed)

	// On SIGTERM: stop accepting, deliver what is queued, close.
	if err := l.Drain(context.Background()); err != nil {
		fmt.Println(err)
	}
	fmt.Println("open after Drain:", l.Stats().Open.Load())
	// Output:
	// lines: 2
	// open after Drain: 0
}

func ExampleListenUDP() {
	got := make(chan string, 2)
	l, err := listen.ListenUDP("127.0.0.1:0", listen.UDPOptions{Sockets: 2}, func(worker int) listen.PacketHandler {
		// One handler per socket, each called from its own goroutine only.
		return listen.PacketFunc(func(b []byte) { got <- string(b) }) // b is reused: copy it
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l.Drain(context.Background())
	c, err := net.Dial("udp", l.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	fmt.Fprint(c, "requests:1|c")
	fmt.Println(<-got)
	// Output:
	// requests:1|c
}
