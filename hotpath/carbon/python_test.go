package carbon

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"statbox/storage/layout"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// The reference checks below run Debian's /usr/bin/python3: its str.split(),
// str.splitlines() and float() for the line syntax and hashlib for the file
// names, and, where Debian's graphite-carbon package is installed, carbon
// 1.1.7's own MetricLineReceiver, MetricDatagramReceiver and TaggedSeries.

// pyScript reads requests from stdin, one a line: a mode word and hex data,
// and answers each with one line.
const pyScript = `
import sys, struct, hashlib, unicodedata
carbon = None
try:
    from carbon import protocols, events
    from carbon.util import TaggedSeries
    carbon = True
except ImportError:
    pass

def h(s):
    return s.encode('utf-8', 'surrogatepass').hex()

def bits(f):
    return 'nan' if f != f else struct.pack('>d', f).hex()

if carbon:
    protocols.time.time = lambda: 1000000000.75
    outcome = []
    def received(metric, dp):
        try:
            outcome.append('P %s %d %s' % (h(TaggedSeries.parse(metric).path), int(dp[0]), bits(dp[1])))
        except Exception:
            outcome.append('R %s %d %s' % (h(metric), int(dp[0]), bits(dp[1])))
    events.metricReceived.handlers = [received]
    protocols.log.listener = lambda msg: outcome.append('I')
    line_rx = protocols.MetricLineReceiver()
    line_rx.peerName = 'test'
    line_rx.resetTimeout = lambda: None
    udp_rx = protocols.MetricDatagramReceiver()
    udp_rx.resetTimeout = lambda: None

for req in sys.stdin:
    mode, data = req.split()
    data = b'' if data == '-' else bytes.fromhex(data)
    if mode == 'ping':
        print('carbon' if carbon else 'python')
    elif mode == 'ws':
        print(' '.join('%x' % c for c in range(0x110000) if len(('a' + chr(c) + 'b').split()) == 2))
    elif mode == 'lines':
        print(' '.join('%x' % c for c in range(0x110000) if len(('a' + chr(c) + 'b').splitlines()) == 2))
    elif mode == 'digits':
        print(' '.join('%x:%d' % (c, unicodedata.decimal(chr(c))) for c in range(0x110000) if unicodedata.decimal(chr(c), -1) >= 0))
    elif mode == 'float':
        try:
            print(bits(float(data.decode('utf-8'))))
        except ValueError:
            print('ERR')
    elif mode == 'sha256':
        print(hashlib.sha256(data).hexdigest())
    elif mode == 'normalize':
        try:
            p = TaggedSeries.parse(data.decode('utf-8')).path
            print('OK %s %s' % (h(p), h(TaggedSeries.encode(p, '/', hash_only=True) + '.wsp')))
        except Exception:
            print('ERR')
    elif mode in ('line', 'datagram'):
        outcome = []
        try:
            if mode == 'line':
                line_rx.lineReceived(data)
            else:
                udp_rx.datagramReceived(data, ('127.0.0.1', 2003))
        except Exception as e:
            outcome.append('E ' + type(e).__name__)
        print('|'.join(outcome))
    sys.stdout.flush()
`

// reference is a running pyScript.
type reference struct {
	t      testing.TB
	cmd    *exec.Cmd
	in     *bufio.Writer
	out    *bufio.Scanner
	carbon bool
}

// startReference starts pyScript under /usr/bin/python3; carbon tells whether
// carbon's modules imported.
func startReference(t testing.TB) *reference {
	py := python3(t)
	cmd := exec.Command(py, "-c", pyScript)
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
		t.Fatalf("start %s: %v", py, err)
	}
	r := &reference{t: t, cmd: cmd, in: bufio.NewWriter(stdin), out: bufio.NewScanner(stdout)}
	r.out.Buffer(nil, 64<<20)
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	r.carbon = r.ask("ping", nil) == "carbon"
	return r
}

// ask sends one request and returns the answer.
func (r *reference) ask(mode string, data []byte) string {
	r.t.Helper()
	arg := hex.EncodeToString(data)
	if arg == "" {
		arg = "-"
	}
	fmt.Fprintf(r.in, "%s %s\n", mode, arg)
	if err := r.in.Flush(); err != nil {
		r.t.Fatalf("python: %v", err)
	}
	if !r.out.Scan() {
		r.t.Fatalf("python stopped: %v", r.out.Err())
	}
	return r.out.Text()
}

// needCarbon skips the test unless carbon's modules are installed (Debian's
// graphite-carbon package, which `make deps` does not install yet).
func (r *reference) needCarbon() {
	r.t.Helper()
	if !r.carbon {
		r.t.Skip("carbon's modules are not installed (apt-get install graphite-carbon)")
	}
}

func hexSet(t *testing.T, s string) map[rune]bool {
	m := map[rune]bool{}
	for _, f := range strings.Fields(s) {
		v, err := strconv.ParseUint(f, 16, 32)
		if err != nil {
			t.Fatal(err)
		}
		m[rune(v)] = true
	}
	return m
}

// TestPythonWhitespace: the field separators and UDP line breaks are exactly
// Python's.
func TestPythonWhitespace(t *testing.T) {
	ref := startReference(t)
	ws := hexSet(t, ref.ask("ws", nil))
	breaks := hexSet(t, ref.ask("lines", nil))
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if r >= 0xd800 && r <= 0xdfff {
			continue
		}
		ours := isSpaceRune(r)
		if r < 0x80 {
			ours = class[r] == kSpace
		}
		if ours != ws[r] {
			t.Errorf("U+%04X: whitespace %v, Python %v", r, ours, ws[r])
		}
	}
	for r := range ws {
		p, rec, st := newTestParser()
		p.Packet([]byte("a 1 2" + string(r) + "b 1 2"))
		isBreak := len(rec.points) == 2
		if isBreak != breaks[r] {
			t.Errorf("U+%04X: line break %v, Python %v (%v, %+v)", r, isBreak, breaks[r], rec.points, snapshot(st))
		}
	}
	for r := range breaks {
		if !ws[r] {
			t.Errorf("U+%04X breaks lines in Python but is not whitespace", r)
		}
	}
}

// TestPythonDigits: every Unicode decimal digit Python knows reads as its value.
func TestPythonDigits(t *testing.T) {
	ref := startReference(t)
	py := map[rune]int{}
	for _, f := range strings.Fields(ref.ask("digits", nil)) {
		c, v, _ := strings.Cut(f, ":")
		r, _ := strconv.ParseUint(c, 16, 32)
		d, _ := strconv.Atoi(v)
		py[rune(r)] = d
	}
	for r, d := range py {
		if got := decimalDigit(r); got != d {
			t.Errorf("U+%04X: digit %d, Python %d", r, got, d)
		}
	}
	var newer []string
	for r := rune(0x80); r <= unicode.MaxRune; r++ {
		if _, ok := py[r]; !ok && decimalDigit(r) >= 0 {
			newer = append(newer, fmt.Sprintf("U+%04X", r))
		}
	}
	// Go's Unicode tables may be newer than Python's: those digits are ours alone.
	t.Logf("Unicode %s digits unknown to this Python: %d", unicode.Version, len(newer))
}

// floatCorpus returns number literals: hand-picked ones and random strings
// over the characters that matter to float().
func floatCorpus(n int) []string {
	c := []string{"0", "-0", "+0", "1", "-1", "12.5", "1e3", "1E+05", "1e-5", ".5", "5.", ".", "", "e5", "1e",
		"1e+", "--1", "+-1", "1.2.3", "inf", "-inf", "+Infinity", "iNfInItY", "infinit", "nan", "-NaN", "+nan",
		"nan(1)", "0x10", "1_000", "1__0", "_1", "1_", "1_.5", "1._5", "1e_5", "1e1_0", "0_0.0_0e0_0", "١٢",
		"1e١", "١_٢", "１.５", "1.7976931348623157e308", "1.7976931348623159e308", "1e309", "1e308",
		"4.9e-324", "2.4703282292062328e-324", "2.4703282292062327e-324", "1e-400", "1e400",
		"123456789012345678901234567890", "0.1", "0.30000000000000004", "9007199254740993",
		"9007199254740992.5", "1e22", "1e23", "8.98846567431158e307", "000000000000000000000000001",
		"0.000000000000000000000000001e27", "1e99999999999999999999", "-1e-99999999999999999999",
		"0e99999999999999999999", "1\x00", "\x7f", "½", "²", "\U0001d7ce\U0001d7d8"}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"0", "1", "5", "9", ".", "e", "E", "+", "-", "_", "i", "n", "f", "a", "٣", "５", "x"}
	for range n {
		var b strings.Builder
		for range 1 + rng.IntN(8) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		c = append(c, b.String())
	}
	return c
}

// TestPythonFloat: numbers read exactly as float() reads them, bit for bit.
func TestPythonFloat(t *testing.T) {
	ref := startReference(t)
	var scratch []byte
	for _, s := range floatCorpus(20000) {
		want := ref.ask("float", []byte(s))
		f, ok := parseFloat([]byte(s), &scratch)
		got := "ERR"
		if ok {
			got = fmt.Sprintf("%016x", math.Float64bits(f))
			if f != f {
				got = "nan"
			}
		}
		if got != want {
			t.Errorf("float(%q): %s, Python %s", s, got, want)
		}
	}
}

// TestPythonWhisperPath: the hashed file names are hashlib's SHA-256 of the name.
func TestPythonWhisperPath(t *testing.T) {
	ref := startReference(t)
	names := []string{"a;b=c", "servers.web01.cpu;dc=ams;role=web", "métrique;unité=°C"}
	for _, c := range whisperPathCases {
		names = append(names, c.name)
	}
	for _, n := range names {
		if !strings.Contains(n, ";") {
			continue
		}
		sum := ref.ask("sha256", []byte(n))
		want := "_tagged/" + sum[:3] + "/" + sum[3:6] + "/" + sum + ".wsp"
		if got := string(layout.AppendPath(nil, []byte(n))); got != want {
			t.Errorf("%q: %s, hashlib gives %s", n, got, want)
		}
	}
}

// nameCorpus returns metric names for the carbon comparisons: the table cases
// and random ones built from the pieces that matter to TaggedSeries.parse.
func nameCorpus(n int, seed uint64) []string {
	var c []string
	for _, x := range normalizeCases {
		c = append(c, x.name)
	}
	rng := rand.New(rand.NewPCG(seed, 3))
	pieces := []string{"a", "b", "name", "x.y", "~", ";", "=", ";k=v", ";a=1", ";b=2", ";name=n", "!", "^",
		"{", "}", `"`, `\`, `\"`, `\\`, ",", ":,", `{a="1"}`, `b="2"`, "é", "/", ".."}
	for range n {
		var b strings.Builder
		for range 1 + rng.IntN(7) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		if rng.IntN(3) == 0 {
			b.WriteString(`"}`)
		}
		c = append(c, b.String())
	}
	return c
}

// TestCarbonTaggedSeries compares AppendNormalized and AppendWhisperPath with
// carbon's TaggedSeries.parse(name).path and TaggedSeries.encode.
func TestCarbonTaggedSeries(t *testing.T) {
	ref := startReference(t)
	ref.needCarbon()
	for _, name := range nameCorpus(20000, 1) {
		want := ref.ask("normalize", []byte(name))
		got, err := AppendNormalized(nil, []byte(name))
		if err != nil {
			if want != "ERR" && !openMetricsWithSemicolon(name) {
				t.Errorf("%q: %v, carbon %s", name, err, decodeAnswer(want))
			}
			continue
		}
		f := strings.Fields(want)
		if len(f) != 3 {
			t.Errorf("%q: %q, carbon raises", name, got)
			continue
		}
		if norm, _ := hex.DecodeString(f[1]); string(norm) != string(got) {
			t.Errorf("%q: %q, carbon %q", name, got, norm)
		}
		if path, _ := hex.DecodeString(f[2]); string(path) != string(layout.AppendPath(nil, got)) {
			t.Errorf("%q: path %q, carbon %q", name, layout.AppendPath(nil, got), path)
		}
	}
}

// openMetricsWithSemicolon tells the one case where AppendNormalized refuses
// what carbon accepts: an OpenMetrics name whose metric holds ';'.
func openMetricsWithSemicolon(name string) bool {
	i := strings.IndexByte(name, '{')
	return i >= 0 && strings.HasSuffix(name, `"}`) && strings.Contains(name[:i], ";")
}

func decodeAnswer(a string) string {
	f := strings.Fields(a)
	for i := 1; i < len(f); i++ {
		if b, err := hex.DecodeString(f[i]); err == nil {
			f[i] = strconv.Quote(string(b))
		}
	}
	return strings.Join(f, " ")
}

// lineCorpus returns lines for the carbon comparisons: the table cases and
// random lines of plausible and implausible fields and separators.
func lineCorpus(n int, seed uint64) []string {
	var c []string
	for _, x := range lineCases {
		c = append(c, x.line)
	}
	rng := rand.New(rand.NewPCG(seed, 4))
	names := nameCorpus(200, seed)
	names = append(names, "a.b.c", "servers.web01.cpu", "a..b", ".a", "a/b", "a\x00b", "\xff", "~x", "a;b=c;a=d")
	values := floatCorpus(200)
	stamps := []string{"-1", "-1.5", "-0.5", "0", "1700000000", "1700000000.9", "1.7e9", "nan", "inf", "-inf",
		"1e300", "9223372036854775807", "1234567890123456789", "x", "١٧", "1_0", "-1e0"}
	seps := []string{" ", "  ", "\t", "\r", "\x1c", "\x1f", "\v", "\u00a0", "\u3000", "\u2028", "\u200b", ""}
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	for range n {
		var b strings.Builder
		b.WriteString(pick(seps))
		b.WriteString(pick(names))
		b.WriteString(pick(seps[:len(seps)-1]))
		b.WriteString(pick(values))
		switch rng.IntN(10) {
		case 0: // two fields
		case 1: // four fields
			b.WriteString(" " + pick(stamps) + " " + pick(stamps))
		default:
			b.WriteString(pick(seps[:len(seps)-1]))
			b.WriteString(pick(stamps))
		}
		b.WriteString(pick(seps))
		if rng.IntN(50) == 0 {
			b.WriteByte(byte(rng.IntN(256)))
		}
		c = append(c, strings.ReplaceAll(b.String(), "\n", " "))
	}
	return c
}

// refPoint parses a "P|R name ts bits" answer: raw tells R (carbon failed to
// normalise the name), and inRange whether the timestamp fits an int64.
func refPoint(t *testing.T, a string) (pt point, raw, inRange bool) {
	f := strings.Fields(a)
	if len(f) != 4 {
		t.Fatalf("answer %q", a)
	}
	name, _ := hex.DecodeString(f[1])
	ts, err := strconv.ParseInt(f[2], 10, 64)
	if ts == 1000000000 { // carbon's clock, for timestamp -1
		ts = testNow
	}
	bits, _ := strconv.ParseUint(f[3], 16, 64)
	return point{string(name), ts, math.Float64frombits(bits)}, f[0] == "R", err == nil
}

// firstField returns a line's first field as str.split() finds it.
func firstField(line string) string {
	b := []byte(line)
	start := skipSpace(b, 0)
	return string(b[start:fieldEnd(b, start)])
}

// TestCarbonLineReceiver runs every line through carbon's
// MetricLineReceiver.lineReceived (followed by the cache's name
// normalisation) and through ParseLine, and compares what each makes of it.
func TestCarbonLineReceiver(t *testing.T) {
	ref := startReference(t)
	ref.needCarbon()
	p, r, _ := newTestParser()
	for _, line := range lineCorpus(20000, 1) {
		want := ref.ask("line", []byte(line))
		r.points = r.points[:0]
		err := p.ParseLine([]byte(line))
		if !agrees(t, line, want, err, r.points) {
			t.Errorf("%q: ours %v %v, carbon %s", line, err, r.points, decodeAnswer(want))
		}
	}
}

// agrees tells whether our verdict on a line matches carbon's answer, or
// differs only where we mean to (PROTOCOL.md, "Where statbox differs").
func agrees(t *testing.T, line, want string, err error, got []point) bool {
	switch {
	case want == "I": // carbon logs an invalid line
		return err == ErrBadFields || err == ErrBadValue || err == ErrBadTimestamp
	case want == "":
		return err == ErrNaNValue
	case want == "E UnicodeDecodeError": // carbon drops the connection
		return err != nil
	case want == "E ValueError", want == "E OverflowError": // int() of a NaN or infinite timestamp
		return err == ErrBadTimestamp
	case strings.HasPrefix(want, "P "), strings.HasPrefix(want, "R "):
		pt, raw, inRange := refPoint(t, want)
		if !inRange { // carbon passes it on; whisper refuses it
			return err == ErrBadTimestamp
		}
		switch err {
		case nil:
			return len(got) == 1 && got[0].same(pt)
		case ErrBadName: // our name rules
			return CheckName([]byte(pt.Name)) != nil
		case ErrBadTags: // carbon keeps malformed tagged names as they are
			return raw && strings.Contains(pt.Name, ";") || openMetricsWithSemicolon(firstField(line))
		}
	}
	return false
}

// TestCarbonDatagramReceiver compares Packet with carbon's
// MetricDatagramReceiver.datagramReceived on datagrams of random lines.
func TestCarbonDatagramReceiver(t *testing.T) {
	ref := startReference(t)
	ref.needCarbon()
	lines := lineCorpus(4000, 2)
	breaks := []string{"\n", "\r\n", "\r", "\v", "\f", "\x1c", "\x1d", "\x1e", "\u0085", "\u2028", "\u2029", "\n\n"}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 2000 {
		var b bytes.Buffer
		n := 1 + rng.IntN(6)
		for i := range n {
			b.WriteString(lines[rng.IntN(len(lines))])
			if i < n-1 || rng.IntN(2) == 0 {
				b.WriteString(breaks[rng.IntN(len(breaks))])
			}
		}
		want := ref.ask("datagram", b.Bytes())
		p, r, st := newTestParser()
		p.Packet(b.Bytes())
		if strings.Contains(want, "E ") {
			continue // carbon drops the rest of the datagram, or all of it
		}
		// Carbon's points in order, without those our name rules refuse.
		var wantPts []point
		invalid := 0
		for _, a := range strings.Split(want, "|") {
			switch {
			case a == "I":
				invalid++
			case a != "":
				pt, raw, inRange := refPoint(t, a)
				if !inRange {
					invalid++ // our BadTimestamp
					continue
				}
				if CheckName([]byte(pt.Name)) != nil || raw && strings.Contains(pt.Name, ";") || !normalForm(pt.Name) {
					continue
				}
				wantPts = append(wantPts, pt)
			}
		}
		sc := snapshot(st)
		badNumbers := sc.BadFields + sc.BadValue + sc.BadTimestamp
		if ours := r.points; !equalPoints(ours, wantPts) || badNumbers != uint64(invalid) {
			t.Errorf("%q:\nours   %v %+v\ncarbon %v (%d invalid)", b.String(), ours, sc, wantPts, invalid)
		}
	}
}

// normalForm tells whether carbon stored name in normal form: it does not
// for an OpenMetrics name whose metric holds ';', which we refuse.
func normalForm(name string) bool {
	n, err := AppendNormalized(nil, []byte(name))
	return err != nil || string(n) == name
}

func equalPoints(a, b []point) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].same(b[i]) {
			return false
		}
	}
	return true
}
