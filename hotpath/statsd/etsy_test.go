package statsd

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"statbox/hotpath/carbon"
)

var inf = math.Inf(1)

// etsyDir is where `make deps-statsd` installs etsy statsd 0.9.0.
func etsyDir(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs("../../.deps/statsd/node_modules/statsd")
	if err != nil {
		t.Fatal(err)
	}
	missing := func(what string) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing: run make deps-statsd", what)
		}
		t.Skipf("%s is missing: run make deps-statsd", what)
	}
	if _, err := os.Stat(filepath.Join(dir, "stats.js")); err != nil {
		missing(dir)
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing("node")
	}
	return dir
}

// etsy is a running etsy statsd whose graphite backend writes to a
// loopback capture: each flush arrives on flushes as one payload.
type etsy struct {
	udp     *net.UDPAddr
	admin   string
	flushes chan string
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB, network string) int {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startEtsy runs etsy statsd with the config object's extra lines.
func startEtsy(t *testing.T, intervalMS int, extra string) *etsy {
	dir := etsyDir(t)
	capture, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { capture.Close() })
	e := &etsy{flushes: make(chan string, 16)}
	go func() {
		for {
			c, err := capture.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(30 * time.Second))
				b, _ := io.ReadAll(c)
				e.flushes <- string(b)
			}()
		}
	}()
	port, mgmt := freePort(t, "udp"), freePort(t, "tcp")
	e.udp = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	e.admin = fmt.Sprintf("127.0.0.1:%d", mgmt)
	conf := filepath.Join(t.TempDir(), "config.js")
	js := fmt.Sprintf(`{
  port: %d, address: "127.0.0.1", mgmt_port: %d, mgmt_address: "127.0.0.1",
  flushInterval: %d, backends: ["./backends/graphite"],
  graphiteHost: "127.0.0.1", graphitePort: %d,
  %s
}`, port, mgmt, intervalMS, capture.Addr().(*net.TCPAddr).Port, extra)
	if err := os.WriteFile(conf, []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "stats.js", conf)
	cmd.Dir = dir
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("etsy statsd said:\n%s", logs.String())
		}
	})
	return e
}

// next waits for etsy's next flush.
func (e *etsy) next(t *testing.T) string {
	t.Helper()
	select {
	case f := <-e.flushes:
		return f
	case <-time.After(20 * time.Second):
		t.Fatal("etsy statsd sent no flush in 20 s")
	}
	return ""
}

// send writes each packet as one datagram.
func (e *etsy) send(t *testing.T, packets []string) {
	t.Helper()
	c, err := net.DialUDP("udp", nil, e.udp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, p := range packets {
		if _, err := c.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
}

// parseFlush reads "name value timestamp" lines into name → value, names
// in carbon's normal form (etsy leaves tags in the order they came).
func parseFlush(t *testing.T, text string) map[string]string {
	t.Helper()
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 {
			t.Fatalf("flush line %q", sc.Text())
		}
		name := f[0]
		if n, err := carbon.AppendName(nil, []byte(name)); err == nil {
			name = string(n)
		}
		m[name] = f[1]
	}
	return m
}

// volatile reports whether a name's value depends on timing: compared by name only.
func volatile(name string) bool {
	for _, s := range []string{"processing_time", "calculationtime", "graphiteStats.", "timestamp_lag"} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

func diffFlush(t *testing.T, label string, want, got map[string]string) {
	t.Helper()
	var names []string
	for n := range want {
		names = append(names, n)
	}
	for n := range got {
		if _, ok := want[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	bad := 0
	for _, n := range names {
		w, wok := want[n]
		g, gok := got[n]
		switch {
		case !wok:
			t.Errorf("%s: statbox wrote %s %s, etsy did not", label, n, g)
		case !gok:
			t.Errorf("%s: etsy wrote %s %s, statbox did not", label, n, w)
		case w != g && !volatile(n):
			t.Errorf("%s: %s: etsy %s, statbox %s", label, n, w, g)
		default:
			continue
		}
		if bad++; bad > 40 {
			t.Fatalf("%s: too many differences", label)
		}
	}
}

// corpusPacket is one datagram of the conformance corpus; etsy gets Etsy
// when set (DogStatsD's h and d, which statbox takes as timers, go to etsy
// as ms).
type corpusPacket struct{ Ours, Etsy string }

func p(s string) corpusPacket           { return corpusPacket{s, s} }
func pe(ours, etsy string) corpusPacket { return corpusPacket{ours, etsy} }

// corpus covers every type, sample rates, gauge deltas, tags, sanitizing
// and the bad lines etsy and statbox both refuse.
var corpus = []corpusPacket{
	p("gorets:1|c"), p("gorets:1|c|@0.1"), p("gorets:-3|c"), p("gorets:2.5|c|@0.25"),
	p("float:0.1|c:0.2|c:0.7|c"), p("exp:1e3|c"), p("ws: 5 |c"), p("big:12345678901234567|c"),
	p("multi:1|c:2|c:3|ms"),
	p("a.b.c:2|c\nd.e:5|g\n\nf:3|ms\n"),
	p("crlf:1|c\r\ncrlf:2|c|@0.5\r\n"),
	p("glork:320|ms"), p("glork:100|ms|@0.5"), p("glork:0|ms"),
	p("one:7|ms"),
	p("many:1|ms:2|ms:3|ms:4|ms:5|ms:6|ms:7|ms:8|ms:9|ms:10|ms:11|ms:12|ms:13|ms:14|ms:15|ms:16|ms:17|ms:18|ms:19|ms:20|ms"),
	p("frac:0.5|ms:1.25|ms:3.75|ms:100.125|ms"),
	p("two:3|ms:1|ms"),
	p("hist.a:0.5|ms:5|ms:50|ms:5000|ms"), p("x.histo:1|ms:10|ms"),
	pe("dist:5|d:15|d", "dist:5|ms:15|ms"), pe("hh:2|h", "hh:2|ms"),
	p("gaugor:333|g"), p("gaugor:-10|g"), p("gaugor:+4|g"), p("newgauge:+5|g"), p("neg:-5|g"),
	p("gfloat:1.5|g"), p("grate:7|g|@0.5"), p("gabs:3|g:+2|g:8|g:-1|g"),
	p("uniques:765|s"), p("uniques:765|s"), p("uniques:766|s"), p("uniques:|s"), p("uniques:abc|s"),
	p("my key/with spaces:1|c"), p("we$ird*chars!:1|c"), p("tabs\t\tand  spaces:1|c"),
	p("ünïcode:1|c"), p("nbsp\u00a0x:1|c"), p("a \u00e9 b:1|c"), p("semi=ok:1|c"),
	p("tagged:1|c|#env:prod,host:a"), p("tagged:2|c|#env:prod,host:a"),
	p("tagtimer:5|ms|#b:2,a:1"), p("taggauge:1|g|#x;y:z"), p("tagset:q|s|#k:v"),
	p("graphite;dc=x;app=y:1|c"),
	p("nocolon"), p("novalue:|c"), p("badtype:1"), p("badnum:abc|c"), p("badrate:1|c|@abc"),
	p("badrate2:1|c|@-0.5"), p("negtimer:-1|ms"), p("badgauge:xyz|g"), p("emptyrate:1|c|"),
	p("good:1|c:oops|c:2|c"),
}

// lines counts the corpus's non-empty lines, as metrics_received counts them.
func corpusLines(ps []corpusPacket) int {
	n := 0
	for _, c := range ps {
		for _, l := range strings.Split(c.Etsy, "\n") {
			if l != "" {
				n++
			}
		}
	}
	return n
}

// ourFlushes runs the corpus through an Aggregator as etsy saw it: an empty
// first flush, the corpus, a flush, an idle flush.
func ourFlushes(t *testing.T, opts Options) []map[string]string {
	var out []string
	opts.Store = func([]byte, int64, float64) {}
	opts.Forward = func(b []byte) { out = append(out, string(b)) }
	t0 := time.Unix(1_700_000_000, 0)
	a, err := NewAggregator(opts, t0)
	if err != nil {
		t.Fatal(err)
	}
	s := a.NewShard(nil)
	a.Flush(t0.Add(opts.FlushInterval))
	for _, c := range corpus {
		s.Packet([]byte(c.Ours))
	}
	a.Flush(t0.Add(2 * opts.FlushInterval))
	a.Flush(t0.Add(3 * opts.FlushInterval))
	var m []map[string]string
	for _, o := range out[1:] {
		m = append(m, parseFlush(t, o))
	}
	return m
}

func compareWithEtsy(t *testing.T, opts Options, etsyConf string) {
	const ms = 2000
	opts.FlushInterval = ms * time.Millisecond
	e := startEtsy(t, ms, etsyConf)
	e.next(t) // the first flush: the corpus goes right after it, into one interval
	var etsyPackets []string
	for _, c := range corpus {
		etsyPackets = append(etsyPackets, c.Etsy)
	}
	e.send(t, etsyPackets)
	withCorpus, idle := parseFlush(t, e.next(t)), parseFlush(t, e.next(t))
	want := fmt.Sprint(corpusLines(corpus))
	received := opts.PrefixStats + ".metrics_received"
	for _, k := range []string{"stats_counts." + received, "stats.counters." + received + ".count", "pfx.cnt." + received + ".count"} {
		if v, ok := withCorpus[k]; ok && v != want {
			t.Fatalf("etsy counted %s lines in the corpus's interval, want %s: the corpus was split across flushes or lost", v, want)
		}
	}
	ours := ourFlushes(t, opts)
	diffFlush(t, "flush with the corpus", withCorpus, ours[0])
	diffFlush(t, "idle flush", idle, ours[1])
}

// TestEtsyLegacy compares flushes with etsy statsd 0.9.0's in its default
// (legacy) namespace, with several percent thresholds and a histogram.
func TestEtsyLegacy(t *testing.T) {
	opts := DefaultOptions()
	opts.PercentThreshold = []float64{90, 50, -10, 99.9, -95}
	opts.Histograms = []Histogram{{Metric: "hist", Bins: []float64{1, 10, 100.5, inf}}, {Metric: "histo", Bins: []float64{5}}}
	compareWithEtsy(t, opts, `percentThreshold: [90, 50, -10, 99.9, -95],
  histogram: [{metric: "hist", bins: [1, 10, 100.5, "inf"]}, {metric: "histo", bins: [5]}],`)
}

// TestEtsyNamespaced compares with etsy's non-legacy namespace, custom
// prefixes and deleteIdleStats.
func TestEtsyNamespaced(t *testing.T) {
	opts := DefaultOptions()
	opts.LegacyNamespace = false
	opts.GlobalPrefix, opts.PrefixCounter, opts.PrefixTimer, opts.PrefixStats = "pfx", "cnt", "", "mystats"
	opts.DeleteCounters, opts.DeleteTimers, opts.DeleteGauges, opts.DeleteSets = true, true, true, true
	compareWithEtsy(t, opts, `prefixStats: "mystats", deleteIdleStats: true,
  graphite: {legacyNamespace: false, globalPrefix: "pfx", prefixCounter: "cnt", prefixTimer: ""},`)
}

// TestEtsyAdmin compares the admin interface's answers with etsy's after
// the same packets, within one interval.
func TestEtsyAdmin(t *testing.T) {
	e := startEtsy(t, 60_000, "")
	packets := []string{"a.b:1|c", "x:5|ms:7|ms", "g:3|g", "bad", "g:+2|g", "long.name.of.a.timer:1|ms:2|ms:3|ms"}
	ask := func(addr, cmd string) string {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write([]byte(cmd + "\n"))
		var b strings.Builder
		buf := make([]byte, 4096)
		for !strings.HasSuffix(b.String(), "\n\n") && !strings.HasPrefix(b.String(), "health") && b.String() != "ERROR\n" {
			n, err := c.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return b.String()
	}
	// Wait until etsy's admin port answers, then send.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err := net.Dial("tcp", e.admin); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("etsy's admin port never opened")
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.send(t, packets)
	time.Sleep(300 * time.Millisecond)

	opts := DefaultOptions()
	opts.Store = func([]byte, int64, float64) {}
	a, _ := NewAggregator(opts, timeZero)
	s := a.NewShard(nil)
	for _, p := range packets {
		s.Packet([]byte(p))
	}
	for _, cmd := range []string{"counters", "timers", "gauges", "health", "health down", "nonsense"} {
		want := ask(e.admin, cmd)
		var b strings.Builder
		a.Command(&b, strings.Fields(cmd)[0], strings.Fields(cmd)[1:])
		if got := b.String(); got != want {
			t.Errorf("%s: statbox %q, etsy %q", cmd, got, want)
		}
	}
}
