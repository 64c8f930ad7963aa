package appliance

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"statbox/hotpath/carbon"
)

// TestE2EBadInput feeds the running daemon what senders should not send and
// checks, for each, that it is counted in the self-metrics
// (statbox.<host>.carbon.badLines.*, .dropped.badName, .pickle.badFrames,
// .pickle.badEntries, read back through /render), that nothing of it is
// stored, that the good points sent just before and after it (on the same
// connection where the protocol allows) all arrive, and that the daemon
// goes on serving new connections. Each case has a daemon of its own, so
// that its counts are its own.
func TestE2EBadInput(t *testing.T) {
	t.Parallel()
	bin := buildStatbox(t)
	conf := writeConfDir(t, selfSchemas)
	start := func(t *testing.T, data string) *e2eDaemon {
		if data == "" {
			data = filepath.Join(t.TempDir(), "data")
		}
		return startDaemon(t, bin, data, "--conf-dir", conf, "--self-interval", "1s")
	}
	t.Run("tcp-garbage", func(t *testing.T) { t.Parallel(); badTCPGarbage(t, start(t, "")) })
	t.Run("udp-garbage", func(t *testing.T) { t.Parallel(); badUDPGarbage(t, start(t, "")) })
	t.Run("10MB-line", func(t *testing.T) { t.Parallel(); badLongLine(t, start(t, "")) })
	t.Run("silent-client", func(t *testing.T) { t.Parallel(); badSilentClient(t, start(t, "")) })
	t.Run("10000-idle", func(t *testing.T) { t.Parallel(); badIdleConnections(t, start) })
	t.Run("pickle-bombs", func(t *testing.T) { t.Parallel(); badPickle(t, start(t, "")) })
	t.Run("escaping-names", func(t *testing.T) { t.Parallel(); badNames(t, start) })
}

// carbonCounters are the self-metrics of the plaintext receiver that a test
// checks, by their names under statbox.<host>.
var carbonCounters = []string{
	"carbon.points", "carbon.nanValues",
	"carbon.badLines.fields", "carbon.badLines.value", "carbon.badLines.timestamp",
	"carbon.badLines.name", "carbon.badLines.tags", "carbon.badLines.tooLong",
}

// checkCounters waits (5 s at most) until every counter in want has
// reached its value, then lets one more report pass and requires each to be
// exactly it.
// Counters of names not in want must be 0.
func checkCounters(t *testing.T, d *e2eDaemon, names []string, want map[string]float64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for _, name := range names {
		for want[name] > 0 && d.selfSum(t, name) < want[name] && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
		}
	}
	time.Sleep(1500 * time.Millisecond) // a report after every count is in
	var report []string
	for _, name := range names {
		got := d.selfSum(t, name)
		if got != want[name] {
			t.Errorf("self-metric %s = %v, want %v", name, got, want[name])
		}
		report = append(report, fmt.Sprintf("%s=%v", name, got))
	}
	t.Logf("self-metrics: %s", strings.Join(report, " "))
}

// oracle counts what statbox's own plaintext parser makes of some bytes, to
// know what the daemon must count for random noise.
type oracle struct {
	stats  carbon.Stats
	points int
}

func (o *oracle) Store([]byte, int64, float64) { o.points++ }

func (o *oracle) add(want map[string]float64) {
	want["carbon.points"] += float64(o.stats.Points.Load())
	want["carbon.nanValues"] += float64(o.stats.NaNValues.Load())
	want["carbon.badLines.fields"] += float64(o.stats.BadFields.Load())
	want["carbon.badLines.value"] += float64(o.stats.BadValue.Load())
	want["carbon.badLines.timestamp"] += float64(o.stats.BadTimestamp.Load())
	want["carbon.badLines.name"] += float64(o.stats.BadName.Load())
	want["carbon.badLines.tags"] += float64(o.stats.BadTags.Load())
	want["carbon.badLines.tooLong"] += float64(o.stats.LineTooLong.Load())
}

// noise returns n random bytes (NUL, newlines, high bytes and all) from
// seed, drawn again with the next seed until statbox's parser finds no
// point in them (as TCP lines or as one datagram), so that any point the
// daemon stores from them is a bug. It returns what the parser counts.
func noise(t *testing.T, seed uint64, n int, datagram bool) ([]byte, *oracle) {
	t.Helper()
	for s := seed; s < seed+100; s++ {
		r := rand.New(rand.NewPCG(s, 0x5eed))
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		o := &oracle{}
		p := carbon.NewParser(o, &o.stats)
		if datagram {
			p.Packet(b)
		} else {
			// As the daemon will see it: the noise, then the "\n" that ends
			// its last line.
			carbon.NewStream(p).Feed(append(slices.Clone(b), '\n'))
		}
		if o.points == 0 && o.stats.BadLines() > 0 {
			return b, o
		}
	}
	t.Fatal("no seed gave noise without a valid line")
	return nil, nil
}

// goodPoints hands out good points with names of their own.
type goodPoints struct {
	prefix string
	ts     int64
	n      int
	all    []expectPoint
}

func (g *goodPoints) next() expectPoint {
	g.n++
	p := expectPoint{fmt.Sprintf("%s.g%d", g.prefix, g.n), g.ts, float64(g.n) + 0.5}
	g.all = append(g.all, p)
	return p
}

// garbageLines are bad plaintext lines, each counted once as the name says.
var garbageLines = []struct{ line, counter string }{
	{"this line has far too many fields\n", "carbon.badLines.fields"},
	{"\n", "carbon.badLines.fields"},
	{" \t \r\n", "carbon.badLines.fields"},
	{"e2e.only.two 1\n", "carbon.badLines.fields"},
	{"e2e.bad.value notanumber 1700000000\n", "carbon.badLines.value"},
	{"e2e.bad.value 0x10 1700000000\n", "carbon.badLines.value"},
	{"e2e.bad.ts 1 yesterday\n", "carbon.badLines.timestamp"},
	{"e2e.bad.ts 1 inf\n", "carbon.badLines.timestamp"},
	{"e2e.bad.ts 1 1e30\n", "carbon.badLines.timestamp"},
	{"e2e.bad..name 1 1700000000\n", "carbon.badLines.name"},
	{"e2e.bad.\x7fname 1 1700000000\n", "carbon.badLines.name"},
	{"e2e.bad.\xff\xfename 1 1700000000\n", "carbon.badLines.name"},
	{"e2e.bad;tag 1 1700000000\n", "carbon.badLines.tags"},
	{"e2e.bad;a=~b 1 1700000000\n", "carbon.badLines.tags"},
	{"e2e.bad.nan nan 1700000000\n", "carbon.nanValues"},
}

func garbage(want map[string]float64) []byte {
	var b []byte
	for _, g := range garbageLines {
		b = append(b, g.line...)
		want[g.counter]++
	}
	return b
}

func badTCPGarbage(t *testing.T, d *e2eDaemon) {
	g := &goodPoints{prefix: "e2e.tcpbad", ts: baseTime()}
	want := map[string]float64{}
	c := dial(t, d.Carbon)
	mustWrite(t, c, []byte(g.next().line()))
	mustWrite(t, c, garbage(want))
	mustWrite(t, c, []byte(g.next().line()))
	for i := uint64(0); i < 4; i++ {
		b, o := noise(t, 100*i, 64<<10, false)
		o.add(want)
		mustWrite(t, c, b)
		mustWrite(t, c, []byte("\n"+g.next().line()))
	}
	d.waitPoints(t, 10*time.Second, g.all...)
	// The connection still works, and so do new ones.
	mustWrite(t, c, []byte(g.next().line()))
	mustWrite(t, dial(t, d.Carbon), []byte(g.next().line()))
	d.waitPoints(t, 10*time.Second, g.all...)
	want["carbon.points"] += float64(len(g.all))
	checkCounters(t, d, carbonCounters, want)
	d.stop()
	assertOnlyFiles(t, d, "e2e/tcpbad/")
}

func badUDPGarbage(t *testing.T, d *e2eDaemon) {
	g := &goodPoints{prefix: "e2e.udpbad", ts: baseTime()}
	want := map[string]float64{}
	sendUDP(t, d.Carbon, []byte(g.next().line()), garbage(want), []byte(g.next().line()))
	for i := uint64(0); i < 20; i++ {
		b, o := noise(t, 1000+100*i, 1400, true)
		o.add(want)
		sendUDP(t, d.Carbon, b, []byte(g.next().line()))
	}
	// Noise between two good lines of one datagram: only the noise is lost.
	for i := uint64(0); i < 5; i++ {
		b, _ := noise(t, 5000+100*i, 1000, true)
		dg := []byte(g.next().line())
		dg = append(dg, b...)
		dg = append(dg, '\n')
		dg = append(dg, strings.TrimSuffix(g.next().line(), "\n")...)
		o := &oracle{}
		carbon.NewParser(o, &o.stats).Packet(dg)
		if o.points != 2 {
			t.Fatalf("oracle: %d points in a datagram of two good lines around noise", o.points)
		}
		o.stats.Points.Store(0) // the good points are counted below
		o.add(want)
		sendUDP(t, d.Carbon, dg)
	}
	d.waitPoints(t, 10*time.Second, g.all...)
	want["carbon.points"] += float64(len(g.all))
	checkCounters(t, d, carbonCounters, want)
	d.stop()
	assertOnlyFiles(t, d, "e2e/udpbad/")
}

func badLongLine(t *testing.T, d *e2eDaemon) {
	g := &goodPoints{prefix: "e2e.long", ts: baseTime()}
	c := dial(t, d.Carbon)
	mustWrite(t, c, []byte(g.next().line()))
	// 10 MB that start like a line and never end, then its "\n".
	long := []byte("e2e.long.line 1 ")
	long = append(long, strings.Repeat("7", 10<<20)...)
	mustWrite(t, c, long)
	mustWrite(t, c, []byte("\n"+g.next().line()))
	d.waitPoints(t, 20*time.Second, g.all...)
	mustWrite(t, c, []byte(g.next().line()))
	mustWrite(t, dial(t, d.Carbon), []byte(g.next().line()))
	d.waitPoints(t, 10*time.Second, g.all...)
	checkCounters(t, d, carbonCounters, map[string]float64{
		"carbon.points":           float64(len(g.all)),
		"carbon.badLines.tooLong": 1,
	})
	d.stop()
	assertOnlyFiles(t, d, "e2e/long/g")
}

func badSilentClient(t *testing.T, d *e2eDaemon) {
	g := &goodPoints{prefix: "e2e.silent", ts: baseTime()}
	silent := dial(t, d.Carbon)    // connects and never sends
	slow := dial(t, d.Carbon)      // sends half a line and stalls
	slowPt := g.next()             // what it will have sent in the end
	half := len(slowPt.line()) / 2 // mid-value
	mustWrite(t, slow, []byte(slowPt.line()[:half]))
	busy := dial(t, d.Carbon)
	for i := 0; i < 5; i++ {
		// Shown while the other two still hold their connections open.
		p := g.next()
		mustWrite(t, busy, []byte(p.line()))
		d.waitPoints(t, 5*time.Second, p)
	}
	mustWrite(t, slow, []byte(slowPt.line()[half:]))
	silent.Close()
	mustWrite(t, dial(t, d.Carbon), []byte(g.next().line()))
	d.waitPoints(t, 10*time.Second, g.all...)
	checkCounters(t, d, carbonCounters, map[string]float64{"carbon.points": float64(len(g.all))})
}

// badIdleConnections holds 10,000 idle connections to the daemon and
// requires a point on a new connection, and on a few of the idle ones, to
// show within 2 s.
func badIdleConnections(t *testing.T, start func(*testing.T, string) *e2eDaemon) {
	const idle = 10000
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	// This process holds the clients; the daemon, which inherits the limit
	// (and raises its soft limit to the hard one, as Go does), the servers.
	if need := uint64(idle + 2000); lim.Cur < need {
		raised := unix.Rlimit{Cur: min(need, lim.Max), Max: lim.Max}
		if raised.Cur < need || unix.Setrlimit(unix.RLIMIT_NOFILE, &raised) != nil {
			e2eMissing(t, "need RLIMIT_NOFILE %d for %d idle connections, have %d (hard %d)", need, idle, lim.Cur, lim.Max)
		}
		t.Cleanup(func() { unix.Setrlimit(unix.RLIMIT_NOFILE, &lim) })
	}
	d := start(t, "")
	host := e2eHost(t)
	host = "statbox." + host + "."
	g := &goodPoints{prefix: "e2e.idle", ts: baseTime()}

	conns := make([]net.Conn, idle)
	var mu sync.Mutex
	var dialErr error
	var wg sync.WaitGroup
	opened := time.Now()
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < idle; i += 4 {
				c, err := net.DialTimeout("tcp", d.Carbon, 10*time.Second)
				if err != nil {
					mu.Lock()
					dialErr = fmt.Errorf("connection %d: %w", i, err)
					mu.Unlock()
					return
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	})
	if dialErr != nil {
		t.Fatalf("opening %d connections: %v", idle, dialErr)
	}
	// The daemon has them all: its own gauge says so.
	deadline := time.Now().Add(30 * time.Second)
	for {
		series, _ := d.render(t, "-5min", "now", host+"carbon.tcp.open")
		open := -1.0
		for _, s := range series {
			for _, p := range s.Points {
				if !p.Null {
					open = p.Value
				}
			}
		}
		if open >= idle {
			t.Logf("%d idle connections open in the daemon %v after the first connect", int(open), time.Since(opened))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("statbox.<host>.carbon.tcp.open = %v after 30 s, want %d", open, idle)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var slowest time.Duration
	for i := 0; i < 5; i++ {
		p := g.next()
		sent := time.Now()
		mustWrite(t, dial(t, d.Carbon), []byte(p.line()))
		d.waitPoints(t, 5*time.Second, p)
		slowest = max(slowest, time.Since(sent))
	}
	for _, i := range []int{0, idle / 2, idle - 1} {
		p := g.next()
		sent := time.Now()
		conns[i].SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := conns[i].Write([]byte(p.line())); err != nil {
			t.Fatalf("write on idle connection %d: %v", i, err)
		}
		d.waitPoints(t, 5*time.Second, p)
		slowest = max(slowest, time.Since(sent))
	}
	t.Logf("slowest point beside %d idle connections: %v", idle, slowest)
	if slowest > 2*time.Second {
		t.Errorf("a point beside %d idle connections took %v to show", idle, slowest)
	}
	checkCounters(t, d, carbonCounters, map[string]float64{"carbon.points": float64(len(g.all))})
	d.stop()
}

// encodePickle pickles points as pickle.dumps(list, protocol=2) does, with
// str names, int timestamps and float values.
func encodePickle(pts []expectPoint) []byte {
	b := []byte{0x80, 2, ']', '('}
	for _, p := range pts {
		b = append(b, 'X')
		b = binary.LittleEndian.AppendUint32(b, uint32(len(p.Name)))
		b = append(b, p.Name...)
		b = append(b, 'J')
		b = binary.LittleEndian.AppendUint32(b, uint32(int32(p.TS)))
		b = append(b, 'G')
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(p.Value))
		b = append(b, 0x86, 0x86) // TUPLE2 (ts, value), TUPLE2 (name, ...)
	}
	return append(b, 'e', '.')
}

func badPickle(t *testing.T, d *e2eDaemon) {
	g := &goodPoints{prefix: "e2e.pickled", ts: baseTime()}
	marker := filepath.Join(t.TempDir(), "pwned")
	cmd := "touch " + marker
	var frames []struct {
		name    string
		frame   []byte
		counter string
		n       float64
	}
	add := func(name string, p []byte, counter string, n float64) {
		frames = append(frames, struct {
			name    string
			frame   []byte
			counter string
			n       float64
		}{name, pickleFrame(p), counter, n})
	}
	// 100,000 nested MARKs.
	add("deep marks", append(append([]byte{0x80, 2}, strings.Repeat("(", 100000)...), '.'), "pickle.badFrames", 1)
	// 200,000 nested lists, built with EMPTY_LIST and APPEND: one entry, a list.
	deep := append([]byte{0x80, 2}, strings.Repeat("]", 200000)...)
	deep = append(append(deep, strings.Repeat("a", 200000-1)...), '.')
	add("deep lists", deep, "pickle.badEntries", 1)
	// Billion laughs: L0 = [], Li = [Li-1, Li-1] through the memo, 2000
	// levels (2**2000 leaves if expanded); the result's two entries are lists.
	laughs := []byte{0x80, 2, ']', 'r', 0, 0, 0, 0}
	for i := uint32(1); i <= 2000; i++ {
		laughs = append(laughs, ']', 'r')
		laughs = binary.LittleEndian.AppendUint32(laughs, i)
		laughs = append(laughs, '(', 'j')
		laughs = binary.LittleEndian.AppendUint32(laughs, i-1)
		laughs = append(laughs, 'j')
		laughs = binary.LittleEndian.AppendUint32(laughs, i-1)
		laughs = append(laughs, 'e')
	}
	laughs = append(laughs, '.')
	add("billion laughs", laughs, "pickle.badEntries", 2)
	// os.system("touch marker"): protocol 0 GLOBAL/REDUCE, protocol 2 as
	// pickle.dumps writes a __reduce__, protocol 4 STACK_GLOBAL.
	add("GLOBAL REDUCE proto 0", []byte("cos\nsystem\n(S'"+cmd+"'\ntR."), "pickle.badFrames", 1)
	p2 := []byte("\x80\x02cposix\nsystem\nq\x00X")
	p2 = binary.LittleEndian.AppendUint32(p2, uint32(len(cmd)))
	p2 = append(append(p2, cmd...), "q\x01\x85q\x02Rq\x03."...)
	add("GLOBAL REDUCE proto 2", p2, "pickle.badFrames", 1)
	p4 := []byte("\x80\x04\x8c\x05posix\x94\x8c\x06system\x94\x93\x94\x8c")
	p4 = append(append(p4, byte(len(cmd))), cmd...)
	p4 = append(p4, "\x94\x85\x94R\x94."...)
	add("STACK_GLOBAL REDUCE proto 4", p4, "pickle.badFrames", 1)
	// A good entry, then the exploit, in one list: the whole frame is refused.
	hidden := expectPoint{"e2e.pickled.hidden", g.ts, 99}
	mixed := encodePickle([]expectPoint{hidden})
	mixed = mixed[:len(mixed)-2] // before APPENDS, STOP
	mixed = append(mixed, "cposix\nsystem\nX"...)
	mixed = binary.LittleEndian.AppendUint32(mixed, uint32(len(cmd)))
	mixed = append(append(mixed, cmd...), "\x85Re."...)
	add("exploit inside a good list", mixed, "pickle.badFrames", 1)

	want := map[string]float64{}
	c := dial(t, d.Pickle)
	mustWrite(t, c, pickleFrame(encodePickle([]expectPoint{g.next()})))
	for _, f := range frames {
		sent := time.Now()
		mustWrite(t, c, f.frame)
		want[f.counter] += f.n
		// The same connection goes on, and a new one works.
		mustWrite(t, c, pickleFrame(encodePickle([]expectPoint{g.next()})))
		mustWrite(t, dial(t, d.Pickle), pickleFrame(encodePickle([]expectPoint{g.next()})))
		d.waitPoints(t, 10*time.Second, g.all...)
		t.Logf("%s (%d bytes): good points after it shown %v after it was sent", f.name, len(f.frame), time.Since(sent))
	}
	// A length over carbon's 1 MiB cap: the connection is closed.
	mustWrite(t, c, []byte{0xff, 0xff, 0xff, 0xff})
	want["pickle.badFrames"]++
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := c.Read(make([]byte, 1)); err == nil || os.IsTimeout(err) {
		t.Errorf("connection not closed after a 4 GiB length prefix: read %d, %v", n, err)
	}
	mustWrite(t, dial(t, d.Pickle), pickleFrame(encodePickle([]expectPoint{g.next(), g.next()})))
	d.waitPoints(t, 10*time.Second, g.all...)
	want["pickle.points"] = float64(len(g.all))
	checkCounters(t, d, []string{"pickle.points", "pickle.badFrames", "pickle.badEntries", "dropped.badName"}, want)

	if _, err := os.Stat(marker); err == nil {
		t.Errorf("%s exists: a pickle ran code", marker)
	}
	if m := d.missingPoints(t, []expectPoint{hidden}); len(m) == 0 {
		t.Errorf("%v, from a refused frame, was stored", hidden)
	}
	d.stop()
	assertOnlyFiles(t, d, "e2e/pickled/g")
}

// escapingNames are names that would put a file outside DATA/whisper, or
// elsewhere than their own, if taken as a path.
var escapingNames = []string{"../../etc/x", "a/../../b", "a..b", "/abs", "a\x00b", "../../../../../../../../tmp/e2e-escape"}

// badNames sends escapingNames by TCP, UDP and pickle, and requires each
// refused and counted, and no file anywhere but the good points' and the
// self-metrics'.
func badNames(t *testing.T, start func(*testing.T, string) *e2eDaemon) {
	root := t.TempDir()
	data := filepath.Join(root, "one", "two", "three", "data")
	outside := []string{"/abs.wsp", "/etc/x.wsp", "/b.wsp", "/tmp/e2e-escape.wsp", "/abs", "/etc/x", "/b"}
	existed := map[string]bool{}
	for _, p := range outside {
		if _, err := os.Lstat(p); err == nil {
			existed[p] = true
		}
	}
	d := start(t, data)
	g := &goodPoints{prefix: "e2e.names", ts: baseTime()}
	ts := strconv.FormatInt(g.ts, 10)

	c := dial(t, d.Carbon)
	var pts []expectPoint
	for _, name := range escapingNames {
		mustWrite(t, c, []byte(g.next().line()+name+" 1 "+ts+"\n"+g.next().line()))
		sendUDP(t, d.Carbon, []byte(g.next().line()+name+" 1 "+ts+"\n"+g.next().line()))
		pts = append(pts, g.next(), expectPoint{name, g.ts, 1}, g.next())
	}
	mustWrite(t, dial(t, d.Pickle), pickleFrame(encodePickle(pts)))
	d.waitPoints(t, 10*time.Second, g.all...)
	n := float64(len(escapingNames))
	checkCounters(t, d, append(carbonCounters, "dropped.badName", "pickle.points"), map[string]float64{
		"carbon.points": n * 4, "carbon.badLines.name": 2 * n,
		"pickle.points":   3 * n, // the pickle receiver passes names on; the cache refuses them
		"dropped.badName": n,
	})
	d.stop()

	// No file outside DATA, no whisper file outside DATA/whisper, and in
	// DATA/whisper only the good points' and the self-metrics' files.
	whisperDir := filepath.Join(data, "whisper")
	filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			t.Error(err)
			return nil
		}
		if e.IsDir() {
			return nil
		}
		inData := strings.HasPrefix(path, data+string(filepath.Separator))
		rel, err := filepath.Rel(whisperDir, path)
		inWhisper := err == nil && !strings.HasPrefix(rel, "..")
		switch {
		case !inData, !inWhisper && strings.HasSuffix(path, ".wsp"):
			t.Errorf("file outside DATA/whisper: %q", path)
		case inWhisper && !strings.HasPrefix(rel, "e2e/names/g") && !strings.HasPrefix(rel, "statbox/"):
			t.Errorf("unexpected file in DATA/whisper: %q", rel)
		}
		return nil
	})
	for _, p := range outside {
		if _, err := os.Lstat(p); err == nil && !existed[p] {
			t.Errorf("%s appeared", p)
			os.Remove(p)
		}
	}
}

// assertOnlyFiles requires every whisper file other than the self-metrics'
// to have a path (relative to DATA/whisper) starting with prefix.
func assertOnlyFiles(t *testing.T, d *e2eDaemon, prefix string) {
	t.Helper()
	dir := filepath.Join(d.Data, "whisper")
	filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		if !strings.HasPrefix(rel, prefix) && !strings.HasPrefix(rel, "statbox/") {
			t.Errorf("unexpected file %q", rel)
		}
		return nil
	})
}
