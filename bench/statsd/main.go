// Command statsd is the load generator of bench/statsd.sh: it sends statsd
// counters over loopback UDP with sendmmsg, from pre-built packets, and
// counts what the server processed from the server's own flushes, which it
// receives as a carbon plaintext capture (etsy's graphite backend, or
// statbox's --forward, pointed at -capture).
//
//	statsd -addr 127.0.0.1:8125 -capture 127.0.0.1:2003 [-keys 1000] [-lines 0] [-duration 5s] [-rate 0] [-batch 64]
//
// With -capture off it only sends, without waiting for a server's flushes,
// and reports what it sent and its own CPU time: the sender alone.
//
// Every line is "bench.kNNNNNN:1|c", so the number of lines the server
// processed is the sum of the statsd.metrics_received counts it flushed
// once sending started; loss is sent minus that. Its last line, "RESULT
// key=value ...", is for the script.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "statsd:", err)
		os.Exit(1)
	}
}

// capture receives the server's flushes and sums metrics_received.
type capture struct {
	mu       sync.Mutex
	flushes  int
	received float64
	lastZero int // consecutive flushes with no lines received
	name     string
}

func (c *capture) serve(l net.Listener) {
	for {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(60 * time.Second))
			sc := bufio.NewScanner(conn)
			sc.Buffer(make([]byte, 1<<16), 1<<20)
			seen := false
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				if len(f) == 3 && f[0] == c.name {
					v, _ := strconv.ParseFloat(f[1], 64)
					c.mu.Lock()
					c.flushes++
					c.received += v
					if v == 0 {
						c.lastZero++
					} else {
						c.lastZero = 0
					}
					c.mu.Unlock()
					seen = true
				}
			}
			_ = seen
		}()
	}
}

func (c *capture) state() (flushes int, received float64, zeros int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flushes, c.received, c.lastZero
}

// rcvbufErrors is Udp: RcvbufErrors of /proc/net/snmp: datagrams the
// kernel dropped for a full socket buffer, on every socket.
func rcvbufErrors() uint64 {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0
	}
	var head []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(l, "Udp: ") {
			continue
		}
		f := strings.Fields(l)
		if head == nil {
			head = f
			continue
		}
		for i, h := range head {
			if h == "RcvbufErrors" && i < len(f) {
				n, _ := strconv.ParseUint(f[i], 10, 64)
				return n
			}
		}
	}
	return 0
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:8125", "statsd UDP `ADDR` of the server")
	capAddr := flag.String("capture", "127.0.0.1:2003", "`ADDR` to receive the server's flushes on, as carbon plaintext")
	keys := flag.Int("keys", 1000, "distinct counter names")
	lines := flag.Int("lines", 0, "lines per packet; 0 fills each packet up to -size bytes")
	size := flag.Int("size", 1400, "packet size when -lines is 0")
	duration := flag.Duration("duration", 5*time.Second, "how long to send")
	rate := flag.Float64("rate", 0, "lines per second to send at; 0 sends as fast as one core can")
	prefix := flag.String("received", "stats_counts.statsd.metrics_received", "name of the server's metrics_received count in its flushes")
	settle := flag.Duration("settle", 30*time.Second, "most time to wait after sending for the server to flush what it holds")
	firstFlush := flag.Duration("first-flush", 30*time.Second, "most time to wait for the server's first flush before sending (its first comes a whole flush interval after it starts, at the next multiple)")
	pid := flag.Int("pid", 0, "the server's `PID`: its CPU time while the sender sends is reported (0: not)")
	perCall := flag.Int("batch", 64, "datagrams per sendmmsg call (with -gso, buffers of -gso datagrams each)")
	gso := flag.Int("gso", 0, "send `N` equal-size datagrams per buffer with UDP GSO (UDP_SEGMENT): the kernel's send path runs once per buffer (0: off)")
	flag.Parse()

	c := &capture{name: *prefix}
	alone := *capAddr == "off"
	if !alone {
		l, err := net.Listen("tcp", *capAddr)
		if err != nil {
			return fmt.Errorf("capture: %w", err)
		}
		defer l.Close()
		go c.serve(l)
	}

	// Packets, built once.
	var packets [][]byte
	var perPacket []int
	k := 0
	for built := 0; built < *keys || len(packets) == 0; {
		var p []byte
		n := 0
		for {
			line := fmt.Appendf(nil, "bench.k%06d:1|c\n", k%*keys)
			if (*lines > 0 && n == *lines) || (*lines == 0 && n > 0 && len(p)+len(line) > *size) {
				break
			}
			p = append(p, line...)
			n++
			k++
			built++
		}
		packets = append(packets, p)
		perPacket = append(perPacket, n)
	}

	// Wait for the server: its first flush reaching the capture.
	deadline := time.Now().Add(*firstFlush)
	for !alone {
		if f, _, _ := c.state(); f > 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no flush from the server on %s within %v", *capAddr, *firstFlush)
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, base, _ := c.state()

	// Datagrams per packet sent: 1, or -gso equal-size datagrams in one buffer.
	dgrams := uint64(1)
	segment := 0
	if *gso > 0 {
		segment = len(packets[0])
		var big [][]byte
		var perBig []int
		for i := 0; i < len(packets); i += *gso {
			var b []byte
			n := 0
			for j := i; j < i+*gso; j++ {
				p := packets[j%len(packets)]
				if len(p) != segment {
					return fmt.Errorf("-gso needs datagrams of one size: %d and %d bytes", segment, len(p))
				}
				b = append(b, p...)
				n += perPacket[j%len(packets)]
			}
			big = append(big, b)
			perBig = append(perBig, n)
		}
		packets, perPacket, dgrams = big, perBig, uint64(*gso)
	}

	conn, err := net.Dial("udp", *addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	raw, err := conn.(*net.UDPConn).SyscallConn()
	if err != nil {
		return err
	}
	if segment > 0 {
		var serr error
		if err := raw.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_UDP, unix.UDP_SEGMENT, segment)
		}); err != nil || serr != nil {
			return fmt.Errorf("set UDP_SEGMENT: %v %v", err, serr)
		}
	}
	batch := *perCall
	iovs := make([]unix.Iovec, batch)
	msgs := make([]unix.Mmsghdr, batch)
	for i := range msgs {
		msgs[i].Hdr.Iov = &iovs[i]
		msgs[i].Hdr.SetIovlen(1)
	}
	drops0 := rcvbufErrors()
	cpu0 := procCPU(*pid)
	self0 := procCPU(os.Getpid())
	var sent, sentPackets, sendErrors uint64
	start := time.Now()
	end := start.Add(*duration)
	next := 0
	for time.Now().Before(end) {
		linesInBatch := 0
		for i := range batch {
			p := packets[(next+i)%len(packets)]
			iovs[i].Base = &p[0]
			iovs[i].SetLen(len(p))
			linesInBatch += perPacket[(next+i)%len(packets)]
		}
		var r uintptr
		var errno unix.Errno
		raw.Write(func(fd uintptr) bool {
			r, _, errno = unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&msgs[0])), uintptr(batch), 0, 0, 0)
			return true
		})
		if errno != 0 {
			sendErrors++
			continue
		}
		// Count what went out: a partial batch sent its first r packets.
		for i := 0; i < int(r); i++ {
			sent += uint64(perPacket[(next+i)%len(packets)])
		}
		sentPackets += uint64(r) * dgrams
		next = (next + int(r)) % len(packets)
		if *rate > 0 {
			ahead := time.Duration(float64(sent)/(*rate)*1e9) - time.Since(start)
			if ahead > 200*time.Microsecond {
				time.Sleep(ahead)
			}
		}
	}
	elapsed := time.Since(start)
	// The server's CPU over the sending: what it spent taking the load, not
	// its flushes and writes while the generator waits for the counts.
	cpu := procCPU(*pid) - cpu0
	self := procCPU(os.Getpid()) - self0
	if alone {
		secs := elapsed.Seconds()
		fmt.Printf("sent %d lines in %d packets over %.2fs (%.0f lines/s, %.0f packets/s), sender CPU %.2fs (%.0f packets per CPU s), send errors %d, kernel RcvbufErrors +%d\n",
			sent, sentPackets, secs, float64(sent)/secs, float64(sentPackets)/secs, self, float64(sentPackets)/max(self, 0.01), sendErrors, rcvbufErrors()-drops0)
		return nil
	}

	// Wait until the server has flushed two intervals with nothing new.
	deadline = time.Now().Add(*settle)
	for {
		_, got, zeros := c.state()
		if (zeros >= 2 && got > base) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	_, got, _ := c.state()
	processed := uint64(got - base)
	drops := rcvbufErrors() - drops0
	secs := elapsed.Seconds()
	fmt.Printf("sent %d lines in %d packets over %.2fs (%.0f lines/s), server processed %d (%.0f lines/s), loss %d (%.3f%%), kernel RcvbufErrors +%d, send errors %d\n",
		sent, sentPackets, secs, float64(sent)/secs, processed, float64(processed)/secs,
		int64(sent)-int64(processed), 100*float64(int64(sent)-int64(processed))/float64(max(sent, 1)), drops, sendErrors)
	fmt.Printf("RESULT sent=%d packets=%d seconds=%.3f sent_rate=%.0f processed=%d processed_rate=%.0f loss=%d rcvbuf_errors=%d server_cpu=%.2f\n",
		sent, sentPackets, secs, float64(sent)/secs, processed, float64(processed)/secs, int64(sent)-int64(processed), drops, cpu)
	return nil
}

// procCPU is the CPU time of process pid so far, in seconds (utime and
// stime of /proc/PID/stat, in USER_HZ, which Linux fixes at 100).
func procCPU(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	// The command name may hold spaces: fields count from after its ')'.
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (u + st) / 100
}
