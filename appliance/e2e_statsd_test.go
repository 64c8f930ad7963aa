package appliance

import (
	"bufio"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"statbox/storage/whisper"
)

var (
	statsdAddrRE = regexp.MustCompile(`msg="statsd started" tcp=(\S+) udp=(\S+)`)
	adminAddrRE  = regexp.MustCompile(`msg="statsd admin started" addr=(\S+)`)
)

// oneSecond keeps every statsd flush of a 1 s interval as its own point.
const oneSecond = "[all]\npattern = .*\nretentions = 1s:1h\n"

// carbonCapture is a loopback carbon plaintext receiver that keeps every
// line it gets; it can go away and come back on the same port.
type carbonCapture struct {
	t     *testing.T
	addr  string
	mu    sync.Mutex
	lines []string
	l     net.Listener
}

func newCapture(t *testing.T) *carbonCapture {
	c := &carbonCapture{t: t}
	c.listen("127.0.0.1:0")
	t.Cleanup(func() { c.close() })
	return c
}

func (c *carbonCapture) listen(addr string) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		c.t.Fatal(err)
	}
	c.l, c.addr = l, l.Addr().String()
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(30 * time.Second))
				sc := bufio.NewScanner(conn)
				for sc.Scan() {
					c.mu.Lock()
					c.lines = append(c.lines, sc.Text())
					c.mu.Unlock()
				}
			}()
		}
	}()
}

func (c *carbonCapture) close() { c.l.Close() }

// sum adds the values of the lines for name.
func (c *carbonCapture) sum(name string) float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := 0.0
	for _, l := range c.lines {
		f := strings.Fields(l)
		if len(f) == 3 && f[0] == name {
			v, _ := strconv.ParseFloat(f[1], 64)
			s += v
		}
	}
	return s
}

func (c *carbonCapture) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.lines)
}

// waitFor polls cond every 100 ms for up to 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 30 s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// renderSum is the sum of target's non-null points over the last hour.
func (d *e2eDaemon) renderSum(t *testing.T, target string) float64 {
	series, _ := d.render(t, "-1h", "now", target)
	s := 0.0
	for _, se := range series {
		for _, p := range se.Points {
			if !p.Null {
				s += p.Value
			}
		}
	}
	return s
}

func startStatsd(t *testing.T, extra ...string) (d *e2eDaemon, statsd, admin string) {
	bin := buildStatbox(t)
	args := append([]string{"--statsd", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--flush-interval", "1s",
		"--conf-dir", writeConfDir(t, oneSecond)}, extra...)
	d = startDaemon(t, bin, t.TempDir(), args...)
	m := statsdAddrRE.FindStringSubmatch(d.Logs())
	a := adminAddrRE.FindStringSubmatch(d.Logs())
	if m == nil || a == nil || m[1] != m[2] {
		t.Fatalf("statsd or admin address not in the log:\n%s", d.Logs())
	}
	return d, m[1], a[1]
}

// TestE2EStatsd sends statsd over UDP and TCP, reads the flushes back
// through /render and from a --forward capture, talks to the admin
// interface, then sends a last counter and SIGTERM: the drain's final flush
// must be in the whisper file.
func TestE2EStatsd(t *testing.T) {
	capture := newCapture(t)
	d, addr, admin := startStatsd(t, "--forward", capture.addr, "--statsd-debug", `^e2e\.debug`, "--percent-threshold", "90,-50")
	if os.Geteuid() == 0 {
		// As root the socket gets its 64 MiB (SO_RCVBUFFORCE), which the
		// kernel reports doubled.
		re := regexp.MustCompile(`msg="statsd started" .*udp_read_buffer=(\d+)`)
		m := re.FindStringSubmatch(d.Logs())
		if m == nil || m[1] != strconv.Itoa(2*statsdReadBuffer) {
			t.Errorf("statsd's UDP receive buffer: %v in the log, want %d", m, 2*statsdReadBuffer)
		}
	}
	sendUDP(t, addr, []byte("e2e.udp:5|c"), []byte("e2e.udp:5|c"), []byte("e2e.udp:5|c|@1"),
		[]byte("e2e.t:10|ms\ne2e.t:20|ms\ne2e.g:42|g\ne2e.s:a|s"), []byte("e2e.debug.x:1|c\nbad line"),
		[]byte("e2e.tagged:1|c|#b:2,a:1"))
	c := dial(t, addr)
	mustWrite(t, c, []byte("e2e.tcp:2|c\ne2e.t"))
	time.Sleep(50 * time.Millisecond)
	mustWrite(t, c, []byte("cp:3|c\n"))

	for name, want := range map[string]float64{
		"stats_counts.e2e.udp": 15, "stats_counts.e2e.tcp": 5, "stats.timers.e2e.t.sum": 30,
		"stats.timers.e2e.t.count": 2, "stats.sets.e2e.s.count": 1, "stats_counts.e2e.tagged;a=1;b=2": 1,
		"stats.timers.e2e.t.upper_90": 20, "stats.timers.e2e.t.lower_top50": 20,
	} {
		waitFor(t, "render "+name, func() bool { return d.renderSum(t, name) == want })
		waitFor(t, "forward "+name, func() bool { return capture.sum(name) == want })
	}
	waitFor(t, "gauge", func() bool {
		series, _ := d.render(t, "-1h", "now", "stats.gauges.e2e.g")
		return len(series) == 1 && len(series[0].Points) > 0 && d.renderSum(t, "stats.gauges.e2e.g") >= 42
	})
	waitFor(t, "bad line counted", func() bool { return d.renderSum(t, "stats_counts.statsd.bad_lines_seen") == 1 })
	d.waitLog(`msg="statsd debug" line=e2e.debug.x:1|c`, 5*time.Second)

	a := dial(t, admin)
	r := bufio.NewReader(a)
	ask := func(cmd, until string) string {
		mustWrite(t, a, []byte(cmd+"\n"))
		var b strings.Builder
		for !strings.HasSuffix(b.String(), until) {
			l, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("admin %s: %v after %q", cmd, err, b.String())
			}
			b.WriteString(l)
		}
		return b.String()
	}
	if got := ask("health", "\n"); got != "health: up\n" {
		t.Errorf("health: %q", got)
	}
	if got := ask("health down", "\n"); got != "health: down\n" {
		t.Errorf("health down: %q", got)
	}
	if got := ask("stats", "END\n\n"); !strings.HasPrefix(got, "uptime: ") || !strings.Contains(got, "messages.bad_lines_seen: 1\n") {
		t.Errorf("stats: %q", got)
	}
	if got := ask("gauges", "END\n\n"); !strings.Contains(got, "'e2e.g': 42") {
		t.Errorf("gauges: %q", got)
	}
	if got := ask("delgauges e2e.g nothere", "END\n\n"); got != "deleted: e2e.g\nmetric nothere not found\nEND\n\n" {
		t.Errorf("delgauges: %q", got)
	}
	if got := ask("nonsense", "\n"); got != "ERROR\n" {
		t.Errorf("unknown command: %q", got)
	}
	mustWrite(t, a, []byte("quit\n"))
	if _, err := r.ReadByte(); err != io.EOF {
		t.Errorf("after quit: %v, want EOF", err)
	}

	sendUDP(t, addr, []byte("e2e.drain:7|c"))
	d.stop()
	f, err := whisper.Open(filepath.Join(d.Data, "whisper", "stats_counts", "e2e", "drain.wsp"), whisper.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("the drain's flush: %v\n%s", err, d.Logs())
	}
	defer f.Close()
	// The drain's flush is stamped with the end of the interval it cut short.
	now := time.Now().Unix() + 2
	_, vals, err := f.Fetch(nil, now-600, now, now)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, v := range vals {
		if !whisper.IsMissing(v) {
			sum += v
		}
	}
	if sum != 7 {
		t.Errorf("stats_counts.e2e.drain on disk sums to %v, want 7", sum)
	}
	if got := capture.sum("stats_counts.e2e.drain"); got != 7 {
		t.Errorf("forwarded stats_counts.e2e.drain sums to %v, want 7", got)
	}
}

// TestE2EStatsdForwardOutage takes the forward's upstream away for a few
// flushes: nothing blocks, the failures are counted, and what was flushed
// meanwhile arrives once it is back.
func TestE2EStatsdForwardOutage(t *testing.T) {
	capture := newCapture(t)
	d, addr, _ := startStatsd(t, "--forward", capture.addr)
	waitFor(t, "first forwarded flush", func() bool { return capture.count() > 0 })
	capture.close()
	for i := range 3 {
		sendUDP(t, addr, []byte("e2e.fw:1|c"))
		time.Sleep(1100 * time.Millisecond)
		_ = i
	}
	waitFor(t, "the failure logged", func() bool { return strings.Contains(d.Logs(), "statsd forward failed") })
	// Meanwhile the local store has everything.
	waitFor(t, "render during the outage", func() bool { return d.renderSum(t, "stats_counts.e2e.fw") == 3 })
	capture.listen(capture.addr)
	waitFor(t, "forward after the outage", func() bool { return capture.sum("stats_counts.e2e.fw") == 3 })
	waitFor(t, "last_exception set", func() bool {
		return d.renderSum(t, "stats.statsd.graphiteStats.last_exception") > 0
	})
	d.stop()
	if os.Getenv("STATBOX_E2E_LOGS") != "" {
		t.Log(d.Logs())
	}
}
