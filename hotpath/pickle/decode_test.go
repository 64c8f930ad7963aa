package pickle

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// accepted is the opcode subset of PROTOCOL.md.
var accepted = []byte{
	opMark, opStop, opInt, opLong, opString, opUnicode, opFloat, opNone,
	opAppend, opList, opTuple, opPut, opGet,
	opBinInt, opBinInt1, opBinInt2, opBinString, opShortBinString,
	opBinUnicode, opBinFloat, opEmptyList, opAppends, opEmptyTuple,
	opBinPut, opLongBinPut, opBinGet, opLongBinGet,
	opProto, opTuple1, opTuple2, opTuple3, opNewTrue, opNewFalse, opLong1, opLong4,
	opBinBytes, opShortBinBytes,
	opShortBinUnicode, opBinUnicode8, opBinBytes8, opMemoize, opFrame,
}

func decodeErr(t *testing.T, f []byte) (*Error, []point) {
	t.Helper()
	var r recorder
	err := NewDecoder(nil).Decode(f, &r)
	if err == nil {
		return nil, r.points
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is no *Error", err)
	}
	if len(r.points) != 0 {
		t.Fatalf("%v, yet %d points delivered", err, len(r.points))
	}
	return e, nil
}

// TestOpcodeWhitelist: every byte outside the subset rejects the frame
// where it stands, as the first opcode and inside a valid frame.
func TestOpcodeWhitelist(t *testing.T) {
	ok := map[byte]bool{}
	for _, op := range accepted {
		ok[op] = true
	}
	good := encodeProto2(typicalPoints(3), true)
	for i := 0; i < 256; i++ {
		op := byte(i)
		first := append([]byte{op}, bytes.Repeat([]byte{0}, 16)...)
		e, _ := decodeErr(t, first)
		if rejected := e != nil && e.Cause == CauseOpcode && e.Offset == 0; rejected == ok[op] {
			t.Errorf("opcode 0x%02x (%s): got %v", op, opNames[op], e)
		}
		if ok[op] {
			continue
		}
		// The same opcode just before STOP of a good frame: nothing of the
		// frame is delivered.
		f := append(append(bytes.Clone(good[:len(good)-1]), op), opStop)
		e, _ = decodeErr(t, f)
		if e == nil || e.Cause != CauseOpcode || e.Offset != len(good)-1 || e.Opcode != op {
			t.Errorf("opcode 0x%02x inside a frame: got %v", op, e)
		}
	}
}

// TestExploitRejected: the classic os.system payloads, hand-made and pickled
// by python3 at every protocol inside a carbon list, are rejected whole and
// run nothing.
func TestExploitRejected(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "pwned")
	frames := map[string][]byte{
		"GLOBAL+REDUCE": []byte("cos\nsystem\n(S'touch " + marker + "'\ntR."),
		"in-list":       []byte("](U\x01aK\x01K\x02\x86\x86cos\nsystem\n(S'touch " + marker + "'\ntRe."),
		"STACK_GLOBAL":  []byte("\x80\x04\x8c\x02os\x8c\x06system\x93\x8c\x05touch\x85R."),
		"INST":          []byte("(S'touch " + marker + "'\nios\nsystem\n."),
		"OBJ":           []byte("(cos\nsystem\nS'touch " + marker + "'\no."),
		"BUILD":         []byte("]Nb."),
		"NEWOBJ":        []byte("\x80\x02cbuiltins\nobject\n)\x81."),
		"EXT1":          []byte("\x80\x02\x82\x01."),
		"PERSID":        []byte("P0\n."),
	}
	if _, err := os.Stat("/usr/bin/python3"); err == nil || os.Getenv("CI") == "true" {
		script := `
import os, pickle, sys
class Evil:
    def __reduce__(self):
        return (os.system, ('touch ' + sys.argv[1],))
for p in range(6):
    sys.stdout.write(pickle.dumps([('ok.name', (1700000000, 1.0)), Evil()], protocol=p).hex() + '\n')`
		out, err := execOutput(python3(t), "-c", script, marker)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Fields(string(out)) {
			b, err := hex.DecodeString(line)
			if err != nil {
				t.Fatal(err)
			}
			frames["python3/p"+string(rune('0'+i))] = b
		}
	}
	d := NewDecoder(nil)
	for name, f := range frames {
		var r recorder
		err := d.Decode(f, &r)
		var e *Error
		if !errors.As(err, &e) || e.Cause != CauseOpcode {
			t.Errorf("%s: got %v, want an opcode rejection", name, err)
		}
		if len(r.points) != 0 {
			t.Errorf("%s: delivered %v", name, r.points)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the payload ran")
	}
	if got := d.Stats().BadFrames[CauseOpcode].Load(); got != uint64(len(frames)) {
		t.Fatalf("counted %d opcode rejections of %d", got, len(frames))
	}
}

func TestMalformed(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		cause Cause
	}{
		{"empty", "", CauseTruncated},
		{"no STOP", "]", CauseTruncated},
		{"STOP on empty stack", ".", CauseMalformed},
		{"STOP inside a mark", "](.", CauseMalformed},
		{"APPEND underflow", "]a.", CauseMalformed},
		{"APPEND across a mark", "](Na.", CauseMalformed},
		{"APPEND to a tuple", ")Na.", CauseMalformed},
		{"APPENDS without mark", "]Ne.", CauseMalformed},
		{"APPENDS without list", "(Ne.", CauseMalformed},
		{"APPENDS to a tuple", ")(Ne.", CauseMalformed},
		{"TUPLE without mark", "Nt.", CauseMalformed},
		{"LIST without mark", "Nl.", CauseMalformed},
		{"TUPLE2 underflow", "N\x86.", CauseMalformed},
		{"TUPLE3 across a mark", "NN(N\x87.", CauseMalformed},
		{"PUT on empty stack", "p0\nN.", CauseMalformed},
		{"PUT negative", "Np-1\n.", CauseMalformed},
		{"PUT not a number", "Npx\n.", CauseMalformed},
		{"GET unset", "Nh\x05.", CauseMalformed},
		{"GET beyond memo", "Nq\x00j\x00\x00\x01\x00.", CauseMalformed},
		{"PROTO 6", "\x80\x06].", CauseMalformed},
		{"STRING unquoted", "S'abc\n.", CauseMalformed},
		{"STRING mixed quotes", "S'abc\"\n.", CauseMalformed},
		{"STRING bad \\x", "S'a\\x4'\n.", CauseMalformed},
		{"STRING trailing backslash", "S'a\\'\n.", CauseMalformed},
		{"UNICODE short \\u", "Va\\u12\n.", CauseMalformed},
		{"UNICODE bad hex", "Va\\u12g4\n.", CauseMalformed},
		{"UNICODE beyond U+10FFFF", "Va\\U00110000\n.", CauseMalformed},
		{"INT garbage", "I12a\n.", CauseMalformed},
		{"INT octal", "I0123\n.", CauseMalformed},
		{"INT hex", "I0x10\n.", CauseMalformed},
		{"INT empty", "I\n.", CauseMalformed},
		{"LONG leading zero", "L012L\n.", CauseMalformed},
		{"FLOAT underscore", "F1_0\n.", CauseMalformed},
		{"FLOAT hex", "F0x1p3\n.", CauseMalformed},
		{"FLOAT space", "F 1.5\n.", CauseMalformed},
		{"BINSTRING negative", "T\xff\xff\xff\xff.", CauseMalformed},
		{"LONG4 negative", "\x8b\xff\xff\xff\xff.", CauseMalformed},
		{"result None", "N.", CauseMalformed},
		{"result str", "U\x03abc.", CauseMalformed},
		{"result int", "K\x01.", CauseMalformed},
		{"INT no newline", "I12", CauseTruncated},
		{"BINUNICODE short", "X\x05\x00\x00\x00abc.", CauseTruncated},
		{"BINUNICODE8 huge", "\x8d\xff\xff\xff\xff\xff\xff\xff\xff.", CauseTruncated},
		{"BINBYTES8 huge", "\x8e\x00\x00\x00\x00\x00\x00\x00\x80.", CauseTruncated},
		{"LONG4 huge", "\x8b\xff\xff\xff\x7f.", CauseTruncated},
		{"FRAME beyond the end", "\x95\x10\x00\x00\x00\x00\x00\x00\x00].", CauseTruncated},
		{"FRAME huge", "\x95\xff\xff\xff\xff\xff\xff\xff\xff].", CauseTruncated},
		{"BINFLOAT short", "G\x00\x00.", CauseTruncated},
		{"PROTO alone", "\x80", CauseTruncated},
		{"memo key beyond the frame", "Nr\xff\xff\xff\x7f.", CauseLimit},
		{"text memo key beyond the frame", "Np99999999\n.", CauseLimit},
		{"deep marks", strings.Repeat("(", MaxDepth+1) + ".", CauseTooDeep},
	}
	for _, tt := range tests {
		e, _ := decodeErr(t, []byte(tt.frame))
		if e == nil || e.Cause != tt.cause {
			t.Errorf("%s: got %v, want %v", tt.name, e, tt.cause)
		}
	}
	// MaxDepth marks are fine.
	if e, _ := decodeErr(t, []byte(strings.Repeat("(", MaxDepth)+"].")); e != nil {
		t.Errorf("%d marks: %v", MaxDepth, e)
	}
}

// TestTruncated: every proper prefix of a frame is refused as truncated and
// delivers nothing.
func TestTruncated(t *testing.T) {
	frames := map[string][]byte{"go/p2": encodeProto2(typicalPoints(30), true)}
	for k, v := range python2Frames {
		if k != "trailing" && !strings.HasPrefix(k, "bad/") {
			frames[k] = v
		}
	}
	d := NewDecoder(nil)
	for name, f := range frames {
		var r recorder
		if err := d.Decode(f, &r); err != nil || len(r.points) == 0 {
			t.Fatalf("%s: whole frame: %v, %d points", name, err, len(r.points))
		}
		for i := 0; i < len(f); i++ {
			r.points = r.points[:0]
			err := d.Decode(f[:i], &r)
			var e *Error
			if !errors.As(err, &e) || e.Cause != CauseTruncated || len(r.points) > 0 {
				t.Fatalf("%s[:%d]: got %v and %d points", name, i, err, len(r.points))
			}
		}
	}
}

func TestEntries(t *testing.T) {
	d := NewDecoder(nil)
	var r recorder
	// good, NaN value, None value, short tuple, good (list), inf value.
	f := []byte("\x80\x02](" +
		"X\x01\x00\x00\x00aJ\x00\xf1\x53\x65G?\xf0\x00\x00\x00\x00\x00\x00\x86\x86" +
		"X\x01\x00\x00\x00bJ\x00\xf1\x53\x65G\x7f\xf8\x00\x00\x00\x00\x00\x00\x86\x86" +
		"X\x01\x00\x00\x00cJ\x00\xf1\x53\x65N\x86\x86" +
		"X\x01\x00\x00\x00dJ\x00\xf1\x53\x65\x85\x86" +
		"](X\x01\x00\x00\x00e](J\x00\xf1\x53\x65K\x05ee" +
		"X\x01\x00\x00\x00fG\x41\xd9\x54\xfc\x40\x3f\x5c\x29G\x7f\xf0\x00\x00\x00\x00\x00\x00\x86\x86" +
		"e.")
	if err := d.Decode(f, &r); err != nil {
		t.Fatal(err)
	}
	want := []point{{"a", 1700000000, 1}, {"e", 1700000000, 5}, {"f", 1700000000, math.Inf(1)}}
	if !samePoints(r.points, want) {
		t.Fatalf("got %v, want %v", r.points, want)
	}
	s := d.Stats()
	if s.Frames.Load() != 1 || s.Points.Load() != 3 || s.NaNValues.Load() != 1 || s.BadEntries.Load() != 2 || s.BadFramesTotal() != 0 {
		t.Fatalf("stats: frames %d points %d nan %d bad entries %d bad frames %d",
			s.Frames.Load(), s.Points.Load(), s.NaNValues.Load(), s.BadEntries.Load(), s.BadFramesTotal())
	}
}

// TestSharedMemo: a memoised entry or list referenced again is the same
// object, as in Python: mutations through one reference show through the
// other, and repeats deliver the point again.
func TestSharedMemo(t *testing.T) {
	// inner = [] memo 1; top = [(name, inner)] ; then append ts, value to
	// inner after it was put in the entry; then the entry again by GET.
	f := []byte("\x80\x02]q\x00X\x01\x00\x00\x00a]q\x01\x86q\x02ah\x01(J\x00\xf1\x53\x65K\x07eh\x00h\x02a.")
	var r recorder
	if err := NewDecoder(nil).Decode(f, &r); err != nil {
		t.Fatal(err)
	}
	want := []point{{"a", 1700000000, 7}, {"a", 1700000000, 7}}
	if !samePoints(r.points, want) {
		t.Fatalf("got %v, want %v", r.points, want)
	}
}

// measure returns the bytes allocated and time taken by decoding f once.
func measure(d *Decoder, f []byte, s Sink) (uint64, time.Duration, error) {
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	start := time.Now()
	err := d.Decode(f, s)
	el := time.Since(start)
	runtime.ReadMemStats(&m1)
	return m1.TotalAlloc - m0.TotalAlloc, el, err
}

// TestBombs: pickles that expand without bound if walked or copied decode
// in time and memory linear in the frame, deliver at most one point per two
// bytes, and none of them grows the decoder past its bounds.
func TestBombs(t *testing.T) {
	const size = MaxFrameLength
	entry := "X\x01\x00\x00\x00aJ\x00\xf1\x53\x65K\x01\x86\x86q\x01"

	// Billion laughs: L(i) = [L(i-1), L(i-1)] for 60 levels, 2**60 leaves.
	var laughs strings.Builder
	laughs.WriteString("\x80\x02]q\x00" + entry + "a")
	prev := byte(0)
	for i := byte(2); i <= 61; i++ {
		laughs.Write([]byte{opEmptyList, opMark, opBinGet, prev, opBinGet, prev, opAppends, opBinPut, i})
		prev = i
	}
	laughs.WriteString(".")

	// Self-referencing list appended into itself over and over.
	self := "]q\x00(" + strings.Repeat("h\x00", (size-16)/2) + "e."

	// One memoised entry referenced as often as the frame allows.
	wide := "\x80\x02]q\x00(" + entry + strings.Repeat("h\x01", (size-40)/2) + "e."

	// A million nested 1-tuples.
	nested := "]N" + strings.Repeat("\x85", size-8) + "a."

	// Memo keys spread up to the frame's size.
	var sparse strings.Builder
	sparse.WriteString("]")
	for k := 0; sparse.Len() < size-40; k += 7 {
		sparse.WriteString("p")
		sparse.WriteString(itoa(k))
		sparse.WriteString("\n")
	}
	sparse.WriteString(".")

	tests := []struct {
		name   string
		frame  string
		points int
	}{
		{"billion laughs", laughs.String(), 0},
		{"self append", self, 0},
		{"wide GET", wide, (size-40)/2 + 1},
		{"nested tuples", nested, 0},
		{"sparse memo", sparse.String(), 0},
	}
	d := NewDecoder(nil)
	for _, tt := range tests {
		var c counter
		alloc, el, err := measure(d, []byte(tt.frame), &c)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
		if c.n != tt.points || c.n > len(tt.frame)/2 {
			t.Errorf("%s: %d points, want %d", tt.name, c.n, tt.points)
		}
		// The worst case is about 40 bytes of arena per frame byte.
		if alloc > 64*uint64(len(tt.frame)) {
			t.Errorf("%s: allocated %d bytes for a %d-byte frame", tt.name, alloc, len(tt.frame))
		}
		if el > 5*time.Second {
			t.Errorf("%s: took %v", tt.name, el)
		}
		t.Logf("%s: %d bytes, %d points, %d bytes allocated, %v", tt.name, len(tt.frame), c.n, alloc, el)
		// A big frame does not pin its arenas to the decoder.
		if cap(d.objs) > retainEntries || cap(d.items) > retainEntries || cap(d.memo) > retainEntries || cap(d.stack) > retainEntries {
			t.Errorf("%s: arenas retained: objs %d items %d memo %d stack %d", tt.name, cap(d.objs), cap(d.items), cap(d.memo), cap(d.stack))
		}
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func TestTextArguments(t *testing.T) {
	tests := []struct {
		frame string
		name  string
		ts    int64
		value float64
	}{
		{"](S'a\\x41\\101\\t\\\\\\q\\'\\\"'\nI1\nF-0.5\n\x86\x86e.", "aAA\t\\\\q'\"", 1, -0.5},
		{"](Vh\xe9\\u20ac\\U0001f600\\\\u0041\\x\nL-3L\nFinf\n\x86\x86e.", "hé€😀\\\\u0041\\x", -3, math.Inf(1)},
		{"](V\\ud800\nL99999999999999999999\nI01\n\x86\x86e.", "", 0, 0}, // LONG beyond 64 bits: bad entry
		{"](S'n'\nI-9223372036854775808\nF1e999\n\x86\x86e.", "n", math.MinInt64, math.Inf(1)},
		{"](S'n'\nI00\nF1e-999\n\x86\x86e.", "n", 0, 0},
	}
	for _, tt := range tests {
		var r recorder
		if err := NewDecoder(nil).Decode([]byte(tt.frame), &r); err != nil {
			t.Errorf("%q: %v", tt.frame, err)
			continue
		}
		if tt.name == "" {
			if len(r.points) != 0 {
				t.Errorf("%q: got %v", tt.frame, r.points)
			}
			continue
		}
		if want := []point{{tt.name, tt.ts, tt.value}}; !samePoints(r.points, want) {
			t.Errorf("%q: got %v, want %v", tt.frame, r.points, want)
		}
	}
}

func TestTwosComplement(t *testing.T) {
	tests := []struct {
		b    string
		v    int64
		fits bool
	}{
		{"", 0, true},
		{"\xff", -1, true},
		{"\x7f", 127, true},
		{"\x80", -128, true},
		{"\x00\x80", -32768, true},
		{"\x00\x80\x00", 32768, true},
		{"\xff\xff\xff\xff\xff\xff\xff\x7f", math.MaxInt64, true},
		{"\x00\x00\x00\x00\x00\x00\x00\x80", math.MinInt64, true},
		{"\x00\x00\x00\x00\x00\x00\x00\x80\x00", 0, false},
		{"\x00\x00\x00\x00\x00\x00\x00\x80\xff", math.MinInt64, true},
		{"\x05\x00\x00\x00\x00\x00\x00\x00\x00\x00", 5, true},
		{"\x05\x00\x00\x00\x00\x00\x00\x00\x00\x01", 0, false},
	}
	for _, tt := range tests {
		v, fits := twosComplement([]byte(tt.b))
		if fits != tt.fits || fits && v != tt.v {
			t.Errorf("%q: got %d %v, want %d %v", tt.b, v, fits, tt.v, tt.fits)
		}
	}
}

// TestZeroAlloc: a warm decoder decodes typical frames without allocating.
func TestZeroAlloc(t *testing.T) {
	frames := map[string][]byte{
		"p2/500":      encodeProto2(typicalPoints(500), true),
		"p2/float-ts": encodeProto2(typicalPoints(100), false),
		"py2/p0":      python2Frames["py2/p0"],
		"py2/p2":      python2Frames["py2/p2"],
		"p4-frame":    python2Frames["p4-frame"],
	}
	for name, f := range frames {
		d := NewDecoder(nil)
		var c counter
		if err := d.Decode(f, &c); err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(100, func() { d.Decode(f, &c) }); n != 0 {
			t.Errorf("%s: %v allocations per frame", name, n)
		}
	}
}
