package pickle

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// carbonScript pickles a corpus of carbon payloads with Debian's python3 at
// protocols 0 to 5, adds the frames given on stdin ("label hex" lines), and
// hands each frame to Debian's graphite-carbon (MetricPickleReceiver.
// stringReceived, through the real metricReceived) to record what carbon
// would store: [name, int(timestamp), float(value).hex()], and whether it
// raised or logged the frame as an invalid pickle.
const carbonScript = `
import sys, json, binascii, pickle
from carbon import protocols, events
from carbon.util import get_unpickler

shared_entry = ('shared.entry', (1700000000, 1.0))
shared_point = (1700000001, 2.0)
objs = {
  'typical': [('servers.web%02d.cpu.user' % i, (1700000000 + 10 * i, i * 1.5)) for i in range(50)],
  'one': [('only.one', (1700000000, 42.0))],
  'empty': [],
  'big_batch': [('batch.m%d' % i, (1700000000 + i, float(i))) for i in range(2500)],
  'numbers': [('int.value', (1700000000, 7)), ('neg.value', (1700000000, -123456789)),
              ('big.int', (1700000000, 2**62)), ('neg.big', (1700000000, -2**63)),
              ('float.ts', (1700000000.99, 1.0)), ('neg.float.ts', (-2.5, 1.0)),
              ('neg.zero', (1700000000, -0.0)), ('tiny', (1700000000, 5e-324)),
              ('huge', (1700000000, 1.7976931348623157e308)), ('int.ts.big', (2**40, 1.0)),
              ('bool.value', (1700000000, True)), ('bool.ts', (False, 3.0)),
              ('small.ts', (255, 1.0)), ('medium.ts', (65535, 1.0)), ('neg.ts', (-70000, 1.0)),
              ('ts.2pow53', (2**53 + 1, 1.0))],
  'unicode': [('servers.h\u00e9.cpu', (1700000000, 1.0)), ('\u6307\u6807.\u5ef6\u8fdf', (1700000000, 2.0)),
              ('emoji.\U0001F600.x', (1700000000, 3.0)), ('line\nbreak', (1700000000, 4.0)),
              ('back\\slash', (1700000000, 5.0)), ('literal\\u0041', (1700000000, 6.0)),
              ('double\\\\u0041', (1700000000, 6.5)),
              ('nul\x00byte', (1700000000, 7.0)), ('cr\rsub\x1a', (1700000000, 8.0)),
              ('latin\xff\x80', (1700000000, 9.0))],
  'shared': [shared_entry, shared_entry, ('a', shared_point), ('b', shared_point), shared_entry],
  'lists': [['list.entry', [1700000000, 1.0]], ('tuple.list', [1700000000, 2]), ['list.tuple', (1700000000, 3)]],
  'mixed': [('ok.1', (1700000000, 1.0)), ('none.value', (1700000000, None)), ('none.ts', (None, 1.0)),
            ('three', (1, 2, 3)), ('one', (1,)), 'not.a.tuple', ('only.name',), (('nested', 1),),
            ('nan', (1700000000, float('nan'))), ('inf', (1700000000, float('inf'))),
            ('ninf', (1700000000, float('-inf'))), ('str.numbers', ('1700000000', ' 2.5 ')),
            ('str.bad', ('soon', 1.0)), ('str.inf', (1700000000, 'Infinity')),
            ('str.nan', (1700000000, 'nan')), ('str.exp', (1700000000, '1e999')),
            ('list.value', (1700000000, [1])), ('tuple.value', (1700000000, ())),
            ('ok.2', (1700000001, 2.0)), 42, None, ('str.underscore', (1700000000, '1_000')),
            ('str.hex', (1700000000, '0x10')), ('ok.3', [1700000002, 3.0])],
  'tuple_top': (('tuple.top', (1700000000, 1.0)), ('tuple.top2', (1700000000, 2.0))),
}

import carbon.log
listened = []
carbon.log.listener = listened.append
got = []
events.metricReceived.handlers = [lambda m, dp: got.append((m, dp))]
r = protocols.MetricPickleReceiver()
r.peerName = 'test'
r.unpickler = get_unpickler(insecure=False)

cases = []
for name, obj in objs.items():
  for proto in range(6):
    cases.append(('%s/p%d' % (name, proto), pickle.dumps(obj, protocol=proto)))
for line in sys.stdin:
  label, hx = line.split()
  cases.append((label, binascii.unhexlify(hx)))

out = []
for label, data in cases:
  del got[:]
  del listened[:]
  try:
    r.stringReceived(data)
    status = 'ok'
    if any(m.startswith('invalid pickle') for m in listened):
      status = 'invalid'
  except Exception as e:
    status = 'raised ' + type(e).__name__
  pts = [[m if isinstance(m, str) else m.decode('utf-8'), int(dp[0]), float(dp[1]).hex()] for m, dp in got]
  out.append({'label': label, 'hex': data.hex(), 'status': status, 'points': pts})
json.dump(out, sys.stdout)
`

type carbonCase struct {
	Label  string  `json:"label"`
	Hex    string  `json:"hex"`
	Status string  `json:"status"`
	Points [][]any `json:"points"`
}

var carbonOnce struct {
	sync.Once
	cases map[string]carbonCase
	err   error
}

// runCarbon returns what Debian's carbon does with the corpus,
// python2Frames and differences, running it once for all tests.
func runCarbon(t *testing.T) map[string]carbonCase {
	t.Helper()
	py := python3(t)
	if err := runQuiet(py, "-c", "import carbon.protocols"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("graphite-carbon (Debian's package) is missing: %v", err)
		}
		t.Skipf("graphite-carbon (Debian's package) is missing: %v", err)
	}
	o := &carbonOnce
	o.Do(func() {
		var stdin strings.Builder
		for label, b := range python2Frames {
			stdin.WriteString(label + " " + hex.EncodeToString(b) + "\n")
		}
		for _, d := range differences {
			stdin.WriteString("diff/" + d.label + " " + hex.EncodeToString(d.frame) + "\n")
		}
		cmd := exec.Command(py, "-c", carbonScript)
		cmd.Stdin = strings.NewReader(stdin.String())
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			o.err = fmt.Errorf("carbon: %w", err)
			return
		}
		var cases []carbonCase
		if err := json.Unmarshal(out, &cases); err != nil {
			o.err = err
			return
		}
		o.cases = make(map[string]carbonCase, len(cases))
		for _, c := range cases {
			o.cases[c.Label] = c
		}
	})
	if o.err != nil {
		t.Fatal(o.err)
	}
	return o.cases
}

func (c carbonCase) points(t *testing.T) []point {
	t.Helper()
	ps := make([]point, 0, len(c.Points))
	for _, p := range c.Points {
		v, err := strconv.ParseFloat(p[2].(string), 64)
		if err != nil {
			t.Fatalf("%s: value %q: %v", c.Label, p[2], err)
		}
		ps = append(ps, point{p[0].(string), int64(p[1].(float64)), v})
	}
	return ps
}

func (c carbonCase) frame(t *testing.T) []byte {
	b, err := hex.DecodeString(c.Hex)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func samePoints(a, b []point) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].TS != b[i].TS ||
			math.Float64bits(a[i].Value) != math.Float64bits(b[i].Value) {
			return false
		}
	}
	return true
}

// Python 2 frames, made by hand as Python 2's pickle and other senders
// write them.
var python2Frames = map[string][]byte{
	// pickle.dumps(..., 0) in Python 2: str is STRING, long is LONG with
	// its 'L', True is "I01", unicode is raw-unicode-escape Latin-1.
	"py2/p0": []byte("(lp0\n" +
		"(S'py2.str'\np1\n(I1700000000\nF1.5\ntp2\ntp3\na" +
		"(S'py2.long'\np4\n(L1700000000L\nL42L\ntp5\ntp6\na" +
		"(Vh\xe9\\u20ac\\U0001f600\np7\n(I1700000000\nI01\ntp8\ntp9\na" +
		"(S'esc\\x41\\101\\t\\\\\\q'\np10\n(I1700000000\nI00\ntp11\ntp12\na" +
		"(S\"dq'uote\"\np13\n(I1700000000\nI-5\ntp14\ntp15\na" +
		"g3\na."),
	// pickle.dumps(..., 2) in Python 2: SHORT_BINSTRING, BINSTRING, LONG1.
	"py2/p2": []byte("\x80\x02]q\x00(" +
		"U\x09py2.shortq\x01J\x00\xf1\x53\x65G?\xf8\x00\x00\x00\x00\x00\x00\x86q\x02\x86q\x03" +
		"T\x08\x00\x00\x00py2.bins\x8a\x04\x00\xf1\x53\x65\x8a\x01\x2a\x86\x86" +
		"h\x03e."),
	// Protocol 1: EMPTY_TUPLE, TUPLE, BININT2, LONG_BINPUT, LONG_BINGET.
	"py2/p1": []byte("]r\x00\x00\x00\x00((U\x02p1(J\x00\xf1\x53\x65M\x01\x01tr\x01\x00\x00\x00t(U\x02p2j\x01\x00\x00\x00t)e."),
	// og-rek (carbon-relay-ng) without PROTO: lists of lists, APPENDS.
	"ogrek": []byte("](](U\x05ogrek](J\x00\xf1\x53\x65G@\x00\x00\x00\x00\x00\x00\x00eee."),
	// LIST from a mark, TUPLE from a mark.
	"list-opcode": []byte("((S'via.LIST'\n(I1700000000\nF3.0\nttl."),
	// Protocol 4 framing by hand: FRAME, SHORT_BINUNICODE, MEMOIZE.
	"p4-frame": []byte("\x80\x04\x95\x17\x00\x00\x00\x00\x00\x00\x00]\x94\x8c\x05p4.fr\x94J\x00\xf1\x53\x65K\x07\x86\x94\x86\x94a."),
	// Refused by both: stack underflow, truncated FRAME, GLOBAL.
	"bad/underflow": []byte("](U\x01aK\x01\x86ae."),
	"bad/frame":     []byte("\x80\x04\x95\x20\x00\x00\x00\x00\x00\x00\x00]."),
	"bad/global":    []byte("](U\x01aK\x01K\x02\x86\x86ccopy_reg\n_reconstructor\ne."),
	// Trailing bytes after STOP are ignored.
	"trailing": []byte("](U\x01tJ\x00\xf1\x53\x65K\x01\x86\x86e.garbage"),
}

// TestCarbonCompat decodes python3's pickles of carbon payloads at every
// protocol, and Python 2 style frames, and requires exactly the points
// Debian's graphite-carbon stores from them.
func TestCarbonCompat(t *testing.T) {
	cases := runCarbon(t)
	d := NewDecoder(nil) // one decoder for all: arenas are reused
	n, points := 0, 0
	for label, c := range cases {
		if strings.HasPrefix(label, "diff/") {
			continue
		}
		n++
		points += len(c.Points)
		want := c.points(t)
		var r recorder
		err := d.Decode(c.frame(t), &r)
		switch {
		case c.Status == "invalid" && err == nil:
			t.Errorf("%s: carbon refuses the frame, we take it", label)
		case c.Status == "ok" && err != nil:
			t.Errorf("%s: carbon takes the frame, we refuse it: %v", label, err)
		case c.Status != "ok" && c.Status != "invalid":
			t.Errorf("%s: carbon %s; the corpus should only hold frames carbon handles", label, c.Status)
		}
		if !samePoints(r.points, want) {
			t.Errorf("%s: got %d points, carbon %d\n got %v\nwant %v", label, len(r.points), len(want), head(r.points), head(want))
		}
	}
	if n < 60 || points < 10000 {
		t.Fatalf("only %d cases, %d points", n, points)
	}
	t.Logf("%d frames, %d points as carbon stores them", n, points)
}

func head(ps []point) []point {
	if len(ps) > 12 {
		return ps[:12]
	}
	return ps
}

// differences are the frames where we deliberately differ from carbon.
var differences = []struct {
	label        string
	frame        []byte
	carbonStatus string // "ok", "invalid" (logged and dropped) or "raised X"
	carbonPoints int
	ours         []point
	reject       bool // we reject the frame, with cause
	cause        Cause
}{
	// Python 3 bytes names (protocol 3+): carbon calls bytes.encode and
	// raises, losing the rest of the frame.
	{"bytes-name", []byte("\x80\x03](C\x03b.nJ\x00\xf1\x53\x65K\x01\x86\x86X\x02\x00\x00\x00okJ\x00\xf1\x53\x65K\x02\x86\x86e."),
		"raised AttributeError", 0, []point{{"b.n", 1700000000, 1}, {"ok", 1700000000, 2}}, false, 0},
	// A name that is no str: carbon raises; we skip the entry.
	{"int-name", []byte("\x80\x02](K\x05J\x00\xf1\x53\x65K\x01\x86\x86X\x02\x00\x00\x00okJ\x00\xf1\x53\x65K\x02\x86\x86e."),
		"raised AttributeError", 0, []point{{"ok", 1700000000, 2}}, false, 0},
	// A Python 2 str that is not UTF-8: carbon's unpickler fails the
	// frame; we pass the bytes on (the sink checks names).
	{"latin1-str", []byte("](U\x04h\xe9.xJ\x00\xf1\x53\x65K\x01\x86\x86e."),
		"invalid", 0, []point{{"h\xe9.x", 1700000000, 1}}, false, 0},
	// An infinite timestamp: carbon's int() raises, losing the rest of
	// the frame; we skip the entry.
	{"inf-timestamp", []byte("](U\x01aG\x7f\xf0\x00\x00\x00\x00\x00\x00K\x01\x86\x86U\x01bJ\x00\xf1\x53\x65K\x02\x86\x86e."),
		"raised OverflowError", 0, []point{{"b", 1700000000, 2}}, false, 0},
	// An int beyond 64 bits as value: carbon stores float(it); we skip.
	{"long-value", []byte("](U\x01aJ\x00\xf1\x53\x65\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01\x86\x86e."),
		"ok", 1, nil, false, 0},
	// A dict anywhere: carbon takes the frame; we reject it.
	{"dict", []byte("](U\x01aJ\x00\xf1\x53\x65K\x01\x86\x86}e."),
		"ok", 1, nil, true, CauseOpcode},
	// Python 3 bytes at protocol 2 pickle as _codecs.encode: both
	// refuse the GLOBAL and the whole frame.
	{"bytes-p2", []byte("\x80\x02]q\x00(c_codecs\nencode\nq\x01X\x01\x00\x00\x00aq\x02X\x06\x00\x00\x00latin1q\x03\x86q\x04Rq\x05J\x00\xf1\x53\x65K\x01\x86q\x06\x86q\x07a."),
		"invalid", 0, nil, true, CauseOpcode},
}

// TestCarbonDifferences pins where we deliberately differ from carbon, and
// checks with Debian's carbon that carbon does what PROTOCOL.md says.
func TestCarbonDifferences(t *testing.T) {
	cases := runCarbon(t)
	for _, tt := range differences {
		c := cases["diff/"+tt.label]
		if c.Status != tt.carbonStatus || len(c.Points) != tt.carbonPoints {
			t.Errorf("%s: carbon %s with %d points, PROTOCOL.md says %s with %d", tt.label, c.Status, len(c.Points), tt.carbonStatus, tt.carbonPoints)
		}
		var r recorder
		err := NewDecoder(nil).Decode(tt.frame, &r)
		if tt.reject {
			if e, ok := err.(*Error); !ok || e.Cause != tt.cause {
				t.Errorf("%s: got %v, want cause %v", tt.label, err, tt.cause)
			}
		} else if err != nil {
			t.Errorf("%s: %v", tt.label, err)
		}
		if !samePoints(r.points, tt.ours) {
			t.Errorf("%s: got %v, want %v", tt.label, r.points, tt.ours)
		}
	}
}

// TestTimestampNow: a timestamp that truncates to -1 means "now", as in
// carbon's metricReceived.
func TestTimestampNow(t *testing.T) {
	d := NewDecoder(nil)
	d.Now = func() int64 { return 1234 }
	var r recorder
	f := []byte("](U\x01aJ\xff\xff\xff\xffK\x01\x86\x86U\x01bG\xbf\xf8\x00\x00\x00\x00\x00\x00K\x02\x86\x86U\x01cJ\xfe\xff\xff\xffK\x03\x86\x86e.")
	if err := d.Decode(f, &r); err != nil {
		t.Fatal(err)
	}
	want := []point{{"a", 1234, 1}, {"b", 1234, 2}, {"c", -2, 3}}
	if !samePoints(r.points, want) {
		t.Fatalf("got %v, want %v", r.points, want)
	}
	// Without Now, the wall clock.
	r.points = nil
	before := time.Now().Unix()
	if err := NewDecoder(nil).Decode(f, &r); err != nil {
		t.Fatal(err)
	}
	if ts := r.points[0].TS; ts < before || ts > time.Now().Unix() {
		t.Fatalf("timestamp %d is not now", ts)
	}
}

// TestGoEncoderMatchesPython checks the benchmark's and fuzz seeds' encoder
// against python3's own pickle.dumps(..., protocol=2).
func TestGoEncoderMatchesPython(t *testing.T) {
	for _, n := range []int{1, 2, 500, 2001} {
		ps := typicalPoints(n)
		script := `
import pickle, sys
n = int(sys.argv[1])
ps = [('servers.web%03d.cpu.total.user' % i, (1700000000 + (i // 50) * 10, float(i) * 1.25)) for i in range(n)]
sys.stdout.buffer.write(pickle.dumps(ps, protocol=2))`
		cmd := []string{"-c", script, strconv.Itoa(n)}
		out, err := execOutput(python3(t), cmd...)
		if err != nil {
			t.Fatal(err)
		}
		if got := encodeProto2(ps, true); string(got) != string(out) {
			t.Fatalf("n=%d: encodeProto2 differs from python3:\n go %q\npy  %q", n, got[:min(len(got), 80)], out[:min(len(out), 80)])
		}
	}
}
