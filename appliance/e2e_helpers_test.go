package appliance

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The end-to-end tests start the real binary as a child process on loopback
// ports it picks itself (":0", read back from its log), with a data directory
// of their own, and talk to it as senders and graphite clients would.

// e2eMissing skips the test for lack of something the machine does not give,
// or fails it when CI=true, where everything a test needs must be there.
func e2eMissing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// requirePython makes sure Debian's /usr/bin/python3 runs, with whisper
// importable when withWhisper.
func requirePython(t testing.TB, withWhisper bool) {
	t.Helper()
	script := "import pickle, socket, struct"
	if withWhisper {
		script += ", whisper"
	}
	if out, err := exec.Command("/usr/bin/python3", "-c", script).CombinedOutput(); err != nil {
		e2eMissing(t, "/usr/bin/python3 with %q: %v\n%s", script, err, out)
	}
	if withWhisper {
		if _, err := os.Stat("/usr/bin/whisper-fetch"); err != nil {
			e2eMissing(t, "Debian's whisper-fetch: %v (apt-get install python3-whisper)", err)
		}
	}
}

// e2eHost is the host segment of the self-metrics, computed as the contract
// says (os.Hostname with dots made underscores), not with the code under test.
func e2eHost(t testing.TB) string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		t.Fatalf("hostname: %q %v", h, err)
	}
	return strings.ReplaceAll(h, ".", "_")
}

// selfSchemas keeps the self-metrics at one point a second, so that with
// --self-interval 1s no report overwrites another and the sum of a counter's
// points is its total; everything else gets the built-in default.
const selfSchemas = `[statbox]
pattern = ^statbox\.
retentions = 1s:1h

[default]
pattern = .*
retentions = 10s:6h,1m:7d,10m:5y
`

// writeConfDir writes storage-schemas.conf into a new directory.
func writeConfDir(t testing.TB, schemas string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "storage-schemas.conf"), []byte(schemas), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// syncBuffer collects the daemon's log.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// e2eDaemon is a running `statbox run`.
type e2eDaemon struct {
	t      testing.TB
	cmd    *exec.Cmd
	Data   string
	HTTP   string // host:port, "" when off
	Carbon string // TCP and UDP
	Pickle string
	logs   *syncBuffer
	exited chan struct{}
	err    error // cmd.Wait's, once exited is closed
}

var (
	carbonAddrRE = regexp.MustCompile(`msg="carbon started" tcp=(\S+) udp=(\S+)`)
	pickleAddrRE = regexp.MustCompile(`msg="pickle started" tcp=(\S+)`)
	httpAddrRE   = regexp.MustCompile(`msg="http started" addr=(\S+)`)
)

// startDaemon runs bin with every listener on a loopback port of its own
// choosing, statsd, admin and host collection off, the host's sysctls left
// alone, then extra (later flags win), and waits until /health is green.
func startDaemon(t testing.TB, bin, data string, extra ...string) *e2eDaemon {
	t.Helper()
	args := []string{"run", "--data", data,
		"--http", "127.0.0.1:0", "--carbon", "127.0.0.1:0", "--pickle", "127.0.0.1:0",
		"--statsd", "off", "--admin", "off", "--collect=false",
		"--max-map-count", "0"} // as root statbox would raise the host's vm.max_map_count
	args = append(args, extra...)
	d := &e2eDaemon{t: t, Data: data, logs: &syncBuffer{}, exited: make(chan struct{})}
	d.cmd = exec.Command(bin, args...)
	d.cmd.Stderr = d.logs
	d.cmd.Stdout = d.logs
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		d.err = d.cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-d.exited:
		default:
			d.cmd.Process.Kill()
			<-d.exited
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		logs := d.logs.String()
		if m := httpAddrRE.FindStringSubmatch(logs); m != nil {
			d.HTTP = m[1]
		}
		if m := carbonAddrRE.FindStringSubmatch(logs); m != nil {
			d.Carbon = m[1]
			if m[2] != m[1] {
				t.Fatalf("carbon TCP %s and UDP %s are not one address", m[1], m[2])
			}
		}
		if m := pickleAddrRE.FindStringSubmatch(logs); m != nil {
			d.Pickle = m[1]
		}
		if d.HTTP != "" && d.healthy() {
			return d
		}
		select {
		case <-d.exited:
			t.Fatalf("statbox exited before it was healthy: %v\n%s", d.err, d.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("statbox not healthy after 20 s\n%s", d.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var e2eClient = &http.Client{Timeout: 10 * time.Second}

func (d *e2eDaemon) healthy() bool {
	resp, err := e2eClient.Get("http://" + d.HTTP + "/health")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// warnings are the WARN and ERROR lines of the log so far.
func (d *e2eDaemon) warnings() string {
	var w []string
	for _, l := range strings.Split(d.Logs(), "\n") {
		if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
			w = append(w, l)
		}
	}
	return strings.Join(w, "\n")
}

// Logs is what the daemon has written to stderr so far.
func (d *e2eDaemon) Logs() string { return d.logs.String() }

// signal sends sig and fails the test if the process is gone.
func (d *e2eDaemon) signal(sig syscall.Signal) {
	d.t.Helper()
	if err := d.cmd.Process.Signal(sig); err != nil {
		d.t.Fatalf("signal %v: %v", sig, err)
	}
}

// waitExit waits up to timeout for the process to end and fails the test
// unless it exited 0.
func (d *e2eDaemon) waitExit(timeout time.Duration) {
	d.t.Helper()
	select {
	case <-d.exited:
	case <-time.After(timeout):
		d.t.Fatalf("statbox still running %v after SIGTERM\n%s", timeout, d.Logs())
	}
	if d.err != nil {
		d.t.Fatalf("statbox exit: %v\n%s", d.err, d.Logs())
	}
}

// stop is SIGTERM and a clean exit within 60 s.
func (d *e2eDaemon) stop() {
	d.t.Helper()
	d.signal(syscall.SIGTERM)
	d.waitExit(60 * time.Second)
}

// waitLog waits until the log holds s.
func (d *e2eDaemon) waitLog(s string, timeout time.Duration) {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(d.Logs(), s) {
		if time.Now().After(deadline) {
			d.t.Fatalf("log lacks %q after %v:\n%s", s, timeout, d.Logs())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// dial opens a TCP connection with a deadline on everything it does.
func dial(t testing.TB, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	c.SetDeadline(time.Now().Add(60 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

func mustWrite(t testing.TB, c net.Conn, b []byte) {
	t.Helper()
	if _, err := c.Write(b); err != nil {
		t.Fatalf("write to %s: %v", c.RemoteAddr(), err)
	}
}

// sendUDP sends each datagram on one socket.
func sendUDP(t testing.TB, addr string, datagrams ...[]byte) {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	for _, d := range datagrams {
		if _, err := c.Write(d); err != nil {
			t.Fatalf("udp write: %v", err)
		}
	}
}

// pickleFrame puts carbon's 4-byte big-endian length in front of a pickle.
func pickleFrame(p []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(p))), p...)
}

// renderPoint is one datapoint of /render's JSON; Null for JSON null.
type renderPoint struct {
	Value float64
	Null  bool
	TS    int64
}

// renderSeries is one series of /render's JSON.
type renderSeries struct {
	Target string
	Tags   map[string]string
	Points []renderPoint
}

// render asks /render?format=json for targets between from and until
// (graphite time strings) and decodes the answer strictly: every series must
// have exactly target, tags and datapoints, and each datapoint be [value, ts].
func (d *e2eDaemon) render(t testing.TB, from, until string, targets ...string) ([]renderSeries, string) {
	t.Helper()
	q := url.Values{"target": targets, "format": {"json"}}
	if from != "" {
		q.Set("from", from)
	}
	if until != "" {
		q.Set("until", until)
	}
	resp, err := e2eClient.Get("http://" + d.HTTP + "/render?" + q.Encode())
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("render %v: %s: %s", targets, resp.Status, body.String())
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("render Content-Type %q, want application/json", ct)
	}
	dec := json.NewDecoder(bytes.NewReader(body.Bytes()))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	var raw []struct {
		Target     *string           `json:"target"`
		Tags       map[string]string `json:"tags"`
		Datapoints [][]any           `json:"datapoints"`
	}
	if err := dec.Decode(&raw); err != nil {
		t.Fatalf("render answer is not graphite-web's JSON: %v\n%s", err, body.String())
	}
	out := make([]renderSeries, 0, len(raw))
	for _, r := range raw {
		if r.Target == nil || r.Tags == nil || r.Datapoints == nil {
			t.Fatalf("render series lacks target, tags or datapoints:\n%s", body.String())
		}
		s := renderSeries{Target: *r.Target, Tags: r.Tags}
		for _, dp := range r.Datapoints {
			if len(dp) != 2 {
				t.Fatalf("datapoint %v is not [value, ts]", dp)
			}
			tsn, ok := dp[1].(json.Number)
			if !ok {
				t.Fatalf("datapoint %v: timestamp is not a number", dp)
			}
			ts, err := strconv.ParseInt(string(tsn), 10, 64)
			if err != nil {
				t.Fatalf("datapoint %v: timestamp %v", dp, err)
			}
			p := renderPoint{TS: ts}
			switch v := dp[0].(type) {
			case nil:
				p.Null = true
			case json.Number:
				switch string(v) {
				case "1e9999":
					p.Value = math.Inf(1)
				case "-1e9999":
					p.Value = math.Inf(-1)
				default:
					if p.Value, err = strconv.ParseFloat(string(v), 64); err != nil {
						t.Fatalf("datapoint %v: value %v", dp, err)
					}
				}
			default:
				t.Fatalf("datapoint %v: value is neither number nor null", dp)
			}
			s.Points = append(s.Points, p)
		}
		out = append(out, s)
	}
	return out, body.String()
}

// selfSum is the sum of the points of statbox.<host>.<name> over the last
// 50 minutes: a counter's total since start when it is kept at one point a
// second (selfSchemas).
func (d *e2eDaemon) selfSum(t testing.TB, name string) float64 {
	t.Helper()
	target := "statbox." + e2eHost(t) + "." + name
	series, _ := d.render(t, "-50min", "now", target)
	sum := 0.0
	for _, s := range series {
		for _, p := range s.Points {
			if !p.Null {
				sum += p.Value
			}
		}
	}
	return sum
}

// waitSelf waits until the self-metric counter name has reached want and
// returns what it holds then (more than want means more was counted).
func (d *e2eDaemon) waitSelf(t testing.TB, name string, want float64, timeout time.Duration) float64 {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := d.selfSum(t, name)
		if got >= want {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("self-metric %s = %v after %v, want %v", name, got, timeout, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// expectPoint is a point a test sent and wants to read back.
type expectPoint struct {
	Name  string // as sent; the target is its normal form
	TS    int64
	Value float64
}

func (p expectPoint) String() string { return fmt.Sprintf("%s %v %d", p.Name, p.Value, p.TS) }

// line is p in the plaintext protocol.
func (p expectPoint) line() string {
	return fmt.Sprintf("%s %s %d\n", p.Name, strconv.FormatFloat(p.Value, 'g', -1, 64), p.TS)
}

// waitPoints waits until /render shows every point, each under target(p),
// and fails the test with what is missing otherwise.
func (d *e2eDaemon) waitPoints(t testing.TB, timeout time.Duration, pts ...expectPoint) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		missing := d.missingPoints(t, pts)
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v /render lacks %d of %d points: %v\nthe daemon's warnings:\n%s",
				timeout, len(missing), len(pts), missing, d.warnings())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// missingPoints returns the points /render does not show (yet). Points are
// looked up by exact timestamp, so they must sit on the first archive's
// 10 s boundaries, within its 6 hours.
func (d *e2eDaemon) missingPoints(t testing.TB, pts []expectPoint) []expectPoint {
	t.Helper()
	byTarget := map[string][]expectPoint{}
	var targets []string
	lo, hi := int64(math.MaxInt64), int64(0)
	for _, p := range pts {
		if byTarget[p.Name] == nil {
			targets = append(targets, p.Name)
		}
		byTarget[p.Name] = append(byTarget[p.Name], p)
		lo, hi = min(lo, p.TS), max(hi, p.TS)
	}
	var missing []expectPoint
	for len(targets) > 0 {
		batch := targets[:min(len(targets), 50)]
		targets = targets[len(batch):]
		series, _ := d.render(t, strconv.FormatInt(lo-10, 10), strconv.FormatInt(hi+10, 10), batch...)
		got := map[string]map[int64]renderPoint{}
		for _, s := range series {
			m := map[int64]renderPoint{}
			for _, p := range s.Points {
				m[p.TS] = p
			}
			got[s.Target] = m
		}
		for _, name := range batch {
			for _, p := range byTarget[name] {
				if g, ok := got[name][p.TS]; !ok || g.Null || g.Value != p.Value {
					missing = append(missing, p)
				}
			}
		}
	}
	return missing
}

// baseTime is a timestamp on a 10 s boundary a few minutes ago: inside the
// default schema's first archive (10s:6h) with room after it.
func baseTime() int64 {
	now := time.Now().Unix()
	return now - now%10 - 300
}
