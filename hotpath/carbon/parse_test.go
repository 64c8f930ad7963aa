package carbon

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// lineCase is one line and what ParseLine makes of it: the point, or the error.
type lineCase struct {
	line string
	err  error
	want point // Name "" means: the line's first field, as is
}

var inf = math.Inf(1)

var lineCases = []lineCase{
	// Fields: runs of Python whitespace, leading and trailing whitespace ignored (line.strip().split()).
	{line: "servers.web01.cpu.total.user 12.5 1700000000", want: point{"servers.web01.cpu.total.user", 1700000000, 12.5}},
	{line: "a.b  \t 1   2", want: point{"a.b", 2, 1}},
	{line: "\t a.b 1 2 \t", want: point{"a.b", 2, 1}},
	{line: "a.b 1 2\r", want: point{"a.b", 2, 1}},
	{line: "a.b\r1\r2", want: point{"a.b", 2, 1}},         // '\r' inside a line is whitespace too
	{line: "a.b\v1\f2\x1c", want: point{"a.b", 2, 1}},     // \v \f \x1c-\x1f are whitespace to str.split()
	{line: "a.b\u00a01\u30002", want: point{"a.b", 2, 1}}, // and so are NBSP and IDEOGRAPHIC SPACE
	{line: "a.b\u20281\u00852", want: point{"a.b", 2, 1}}, // LINE SEPARATOR and NEXT LINE
	{line: "a.b\u200b1 2", err: ErrBadFields},             // ZERO WIDTH SPACE is not whitespace
	{line: "", err: ErrBadFields},
	{line: " \t\r", err: ErrBadFields},
	{line: "a.b", err: ErrBadFields},
	{line: "a.b 1", err: ErrBadFields},
	{line: "a.b 1 2 3", err: ErrBadFields},
	{line: "a.b 1 2 extra", err: ErrBadFields},
	{line: "a.b x 2 3", err: ErrBadFields}, // the field count is checked before the numbers
	{line: "a b c d e", err: ErrBadFields},

	// Values: Python's float().
	{line: "a 0 1", want: point{"a", 1, 0}},
	{line: "a -0 1", want: point{"a", 1, math.Copysign(0, -1)}},
	{line: "a +12.5 1", want: point{"a", 1, 12.5}},
	{line: "a -3.25 1", want: point{"a", 1, -3.25}},
	{line: "a 1e3 1", want: point{"a", 1, 1000}},
	{line: "a 1E+05 1", want: point{"a", 1, 1e5}},
	{line: "a 2.5e-3 1", want: point{"a", 1, 0.0025}},
	{line: "a .5 1", want: point{"a", 1, 0.5}},
	{line: "a 5. 1", want: point{"a", 1, 5}},
	{line: "a 1.e2 1", want: point{"a", 1, 100}},
	{line: "a 0.1 1", want: point{"a", 1, 0.1}},
	{line: "a 00012 1", want: point{"a", 1, 12}},
	{line: "a 123456789012345678901234567890 1", want: point{"a", 1, 1.2345678901234568e+29}},
	{line: "a 4.9e-324 1", want: point{"a", 1, 5e-324}},
	{line: "a 2.4703282292062327e-324 1", want: point{"a", 1, 0}},
	{line: "a 1e-400 1", want: point{"a", 1, 0}},
	{line: "a 1e400 1", want: point{"a", 1, inf}},
	{line: "a 1.7976931348623159e308 1", want: point{"a", 1, inf}},
	{line: "a -1e99999999999999999999 1", want: point{"a", 1, -inf}},
	{line: "a 0e99999999999 1", want: point{"a", 1, 0}},
	{line: "a inf 1", want: point{"a", 1, inf}}, // carbon stores infinities; so do we
	{line: "a -Infinity 1", want: point{"a", 1, -inf}},
	{line: "a +iNf 1", want: point{"a", 1, inf}},
	{line: "a 1_000.5 1", want: point{"a", 1, 1000.5}},
	{line: "a 1_0e1_0 1", want: point{"a", 1, 1e11}},
	{line: "a \u0661\u0662 1", want: point{"a", 1, 12}},   // ARABIC-INDIC digits
	{line: "a \uff11.\uff15 1", want: point{"a", 1, 1.5}}, // FULLWIDTH digits
	{line: "a 1e\U0001d7d0 1", want: point{"a", 1, 100}},  // MATHEMATICAL BOLD DIGIT TWO
	{line: "a nan 1", err: ErrNaNValue},
	{line: "a -NaN 1", err: ErrNaNValue},
	{line: "a nan inf", err: ErrNaNValue}, // carbon checks the value before converting the timestamp
	{line: "a 0x10 1", err: ErrBadValue},
	{line: "a 1__0 1", err: ErrBadValue},
	{line: "a _1 1", err: ErrBadValue},
	{line: "a 1_ 1", err: ErrBadValue},
	{line: "a 1_.5 1", err: ErrBadValue},
	{line: "a 1e_5 1", err: ErrBadValue},
	{line: "a . 1", err: ErrBadValue},
	{line: "a e5 1", err: ErrBadValue},
	{line: "a 1e 1", err: ErrBadValue},
	{line: "a 1e+ 1", err: ErrBadValue},
	{line: "a --1 1", err: ErrBadValue},
	{line: "a +-1 1", err: ErrBadValue},
	{line: "a 1.2.3 1", err: ErrBadValue},
	{line: "a 12abc 1", err: ErrBadValue},
	{line: "a infinit 1", err: ErrBadValue},
	{line: "a nan(1) 1", err: ErrBadValue},
	{line: "a 1,5 1", err: ErrBadValue},
	{line: "a \u00bd 1", err: ErrBadValue}, // VULGAR FRACTION ONE HALF is numeric, not decimal
	{line: "a 1\xff 1", err: ErrBadValue},
	{line: "a 1\x00 1", err: ErrBadValue},
	{line: "a \x7f 1", err: ErrBadValue},

	// Timestamps: float(), then int() truncating toward zero; -1 (after truncation) is now.
	{line: "a 1 -1", want: point{"a", testNow, 1}},
	{line: "a 1 -1.0", want: point{"a", testNow, 1}},
	{line: "a 1 -1.9", want: point{"a", testNow, 1}},
	{line: "a 1 -1e0", want: point{"a", testNow, 1}},
	{line: "a 1 -0.5", want: point{"a", 0, 1}},
	{line: "a 1 -2", want: point{"a", -2, 1}},
	{line: "a 1 0", want: point{"a", 0, 1}},
	{line: "a 1 +5", want: point{"a", 5, 1}},
	{line: "a 1 1700000000.9", want: point{"a", 1700000000, 1}},
	{line: "a 1 1.7e9", want: point{"a", 1700000000, 1}},
	{line: "a 1 0001700000000", want: point{"a", 1700000000, 1}},
	{line: "a 1 1234567890123456789", want: point{"a", 1234567890123456768, 1}}, // through float64, as in Python
	{line: "a 1 9223372036854775807", err: ErrBadTimestamp},                     // 2^63 as a float64
	{line: "a 1 -9223372036854775808", want: point{"a", math.MinInt64, 1}},
	{line: "a 1 1e300", err: ErrBadTimestamp},
	{line: "a 1 inf", err: ErrBadTimestamp},
	{line: "a 1 -inf", err: ErrBadTimestamp},
	{line: "a 1 nan", err: ErrBadTimestamp},
	{line: "a 1 now", err: ErrBadTimestamp},
	{line: "a 1 17e", err: ErrBadTimestamp},
	{line: "a 1 1_700_000_000", want: point{"a", 1700000000, 1}},
	{line: "a x y", err: ErrBadTimestamp}, // both bad: carbon evaluates float(timestamp) first

	// Names: path safety.
	{line: "a..b 1 2", err: ErrBadName},
	{line: ".a.b 1 2", err: ErrBadName},
	{line: "a.b. 1 2", err: ErrBadName},
	{line: ". 1 2", err: ErrBadName},
	{line: ".. 1 2", err: ErrBadName},
	{line: "a/b 1 2", err: ErrBadName},
	{line: "/etc/passwd 1 2", err: ErrBadName},
	{line: "a.../b 1 2", err: ErrBadName},
	{line: "a\x00b 1 2", err: ErrBadName},
	{line: "a\x01b 1 2", err: ErrBadName},
	{line: "a\x1bb 1 2", err: ErrBadName},
	{line: "a\x7fb 1 2", err: ErrBadName},
	{line: "a\u0080b 1 2", err: ErrBadName}, // C1 control
	{line: "a\xffb 1 2", err: ErrBadName},   // invalid UTF-8
	{line: "a\xed\xa0\x80b 1 2", err: ErrBadName},
	{line: "a\xc0\xafb 1 2", err: ErrBadName}, // overlong '/'
	{line: "métrique.température.°C 1 2", want: point{"métrique.température.°C", 2, 1}},
	{line: "a.\ufffd 1 2", want: point{"a.\ufffd", 2, 1}},
	{line: "a-b_c:d@e#f%g+h,i 1 2", want: point{"a-b_c:d@e#f%g+h,i", 2, 1}},
	{line: `a\b.c{d}.e[f]*?"g" 1 2`, want: point{`a\b.c{d}.e[f]*?"g"`, 2, 1}},
	{line: "~a.b 1 2", want: point{"a.b", 2, 1}}, // sanitize_name_as_tag_value
	{line: "~~~a 1 2", want: point{"a", 2, 1}},
	{line: "~~~ 1 2", want: point{"~~~", 2, 1}}, // carbon fails to normalise it and stores it as is
	{line: "~.a 1 2", err: ErrBadName},
	{line: "a.~b 1 2", want: point{"a.~b", 2, 1}},
	{line: strings.Repeat("a", 251) + " 1 2", want: point{strings.Repeat("a", 251), 2, 1}},
	{line: strings.Repeat("a", 252) + " 1 2", err: ErrBadName}, // + ".wsp" > NAME_MAX
	{line: strings.Repeat("a", 255) + ".b 1 2", want: point{strings.Repeat("a", 255) + ".b", 2, 1}},
	{line: strings.Repeat("a", 256) + ".b 1 2", err: ErrBadName},
	{line: strings.Repeat("abcdefg.", 511) + "abcdefg 1 2", want: point{strings.Repeat("abcdefg.", 511) + "abcdefg", 2, 1}}, // 4095 bytes
	{line: strings.Repeat("abcdefg.", 512) + " 1 2", err: ErrBadName},
	{line: strings.Repeat("abcdefg.", 512) + "a 1 2", err: ErrBadName}, // 4097 bytes

	// Tagged names: carbon's TaggedSeries.parse(name).path.
	{line: "a.b;z=1;a=2 1 2", want: point{"a.b;a=2;z=1", 2, 1}},
	{line: "a;a.b=1;a=2 1 2", want: point{"a;a.b=1;a=2", 2, 1}}, // sorted by ";k=v", not by key
	{line: "a;b=1;b=2 1 2", want: point{"a;b=2", 2, 1}},
	{line: "a;name=x;b=1 1 2", want: point{"a;b=1", 2, 1}},
	{line: "a;name=x 1 2", want: point{"a", 2, 1}},
	{line: "~a;b=c 1 2", want: point{"a;b=c", 2, 1}},
	{line: "a;b=c=d 1 2", want: point{"a;b=c=d", 2, 1}},
	{line: "a;b=!^ 1 2", want: point{"a;b=!^", 2, 1}},
	{line: "a;path=/var/log/../x 1 2", want: point{"a;path=/var/log/../x", 2, 1}}, // the file is named by hash
	{line: "a;b=c; 1 2", err: ErrBadTags},
	{line: "a; 1 2", err: ErrBadTags},
	{line: "a;b 1 2", err: ErrBadTags},
	{line: "a;=b 1 2", err: ErrBadTags},
	{line: "a;b= 1 2", err: ErrBadTags},
	{line: "a;b=~c 1 2", err: ErrBadTags},
	{line: "a;b!=c 1 2", err: ErrBadTags},
	{line: "a;b^=c 1 2", err: ErrBadTags},
	{line: "a;name=~x 1 2", err: ErrBadTags},
	{line: ";b=c 1 2", err: ErrBadTags},
	{line: "~;b=c 1 2", err: ErrBadTags},
	{line: "a..b;c=d 1 2", err: ErrBadName},
	{line: "a/b;c=d 1 2", err: ErrBadName},
	{line: "a;c=d\x01 1 2", err: ErrBadName},

	// OpenMetrics names: metric{tag="value",...}.
	{line: `a{b="c"} 1 2`, want: point{"a;b=c", 2, 1}},
	{line: `a.b{z="1",a="2"} 1 2`, want: point{"a.b;a=2;z=1", 2, 1}},
	{line: `a{b="c":,d="e"} 1 2`, want: point{"a;b=c;d=e", 2, 1}}, // the regexp's (:?,|$)
	{line: `a{b="x\"y\\z"} 1 2`, want: point{`a;b=x"y\z`, 2, 1}},
	{line: `~a{name="q",b="c"} 1 2`, want: point{"a;b=c", 2, 1}},
	{line: `a{b="c",b="d"} 1 2`, want: point{"a;b=d", 2, 1}},
	{line: `a{b="c"d"} 1 2`, want: point{`a{b="c"d"}`, 2, 1}}, // no ';': carbon stores it as is
	{line: `a{b="\x"} 1 2`, want: point{`a{b="\x"}`, 2, 1}},
	{line: `a{b!="c"} 1 2`, want: point{`a{b!="c"}`, 2, 1}},
	{line: `{b="c"} 1 2`, want: point{`{b="c"}`, 2, 1}},
	{line: `a{b=""} 1 2`, want: point{`a{b=""}`, 2, 1}},
	{line: `a{b="c"}{"} 1 2`, want: point{`a{b="c"}{"}`, 2, 1}},
	{line: `a{b="c;d"} 1 2`, err: ErrBadTags},
	{line: `a;x=y{b="c"} 1 2`, err: ErrBadTags}, // carbon: "a;x=y;b=c", not a normal form
	{line: `a{b="c/d"} 1 2`, want: point{"a;b=c/d", 2, 1}},
	{line: `a/x{b="c"} 1 2`, err: ErrBadName},

	// Binary noise.
	{line: "\x00\x01\x02 \x03 \x04", err: ErrBadTimestamp},
	{line: "\xff\xfe\xfd 1 2", err: ErrBadName},
	{line: "a 1 2\x00", err: ErrBadTimestamp},
}

func TestParseLine(t *testing.T) {
	p, r, st := newTestParser()
	var want counts
	for _, c := range lineCases {
		r.points = r.points[:0]
		err := p.ParseLine([]byte(c.line))
		if !errors.Is(err, c.err) {
			t.Errorf("%q: err %v, want %v", c.line, err, c.err)
			continue
		}
		switch c.err {
		case nil:
			want.Points++
			if len(r.points) != 1 || !r.points[0].same(c.want) {
				t.Errorf("%q: got %v, want %v", c.line, r.points, c.want)
			}
			continue
		case ErrBadFields:
			want.BadFields++
		case ErrBadValue:
			want.BadValue++
		case ErrBadTimestamp:
			want.BadTimestamp++
		case ErrBadName:
			want.BadName++
		case ErrBadTags:
			want.BadTags++
		case ErrNaNValue:
			want.NaNValues++
		}
		if len(r.points) != 0 {
			t.Errorf("%q: delivered %v", c.line, r.points)
		}
	}
	if got := snapshot(st); got != (counts{}) {
		t.Errorf("stats %+v before Flush", got)
	}
	p.Flush()
	if got := snapshot(st); got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
	if got, w := st.BadLines(), want.BadFields+want.BadValue+want.BadTimestamp+want.BadName+want.BadTags; got != w {
		t.Errorf("BadLines %d, want %d", got, w)
	}
}

// TestDeliveredNamesAreSafe: every name a line case delivers passes CheckName
// and is what AppendName makes of the line's first field.
func TestDeliveredNamesAreSafe(t *testing.T) {
	for _, c := range lineCases {
		if c.err != nil {
			continue
		}
		if err := CheckName([]byte(c.want.Name)); err != nil {
			t.Errorf("%q: CheckName(%q) = %v", c.line, c.want.Name, err)
		}
		line := []byte(c.line)
		start := skipSpace(line, 0)
		field := line[start:fieldEnd(line, start)]
		if name, err := AppendName(nil, field); err != nil || string(name) != c.want.Name {
			t.Errorf("%q: AppendName(%q) = %q, %v; want %q", c.line, field, name, err, c.want.Name)
		}
	}
}

func TestParserDefaultClock(t *testing.T) {
	r := &recorder{}
	p := NewParser(r, &Stats{})
	if err := p.ParseLine([]byte("a 1 -1")); err != nil {
		t.Fatal(err)
	}
	if ts := r.points[0].TS; ts < 1_600_000_000 {
		t.Errorf("timestamp -1 became %d, want the current time", ts)
	}
}

func TestPacket(t *testing.T) {
	for _, c := range []struct {
		packet string
		want   []string // names of the points, in order
		bad    uint64   // BadFields
	}{
		{"a 1 2", []string{"a"}, 0},
		{"a 1 2\n", []string{"a"}, 0},
		{"a 1 2\nb 1 2", []string{"a", "b"}, 0},
		{"a 1 2\r\nb 1 2\r\n", []string{"a", "b"}, 0},
		{"a 1 2\rb 1 2", []string{"a", "b"}, 0}, // splitlines(): a lone '\r' ends a line
		{"a 1 2\vb 1 2\fc 1 2\x1cd 1 2\x1de 1 2\x1ef 1 2", []string{"a", "b", "c", "d", "e", "f"}, 0},
		{"a 1 2\u0085b 1 2\u2028c 1 2\u2029d 1 2", []string{"a", "b", "c", "d"}, 0},
		{"a 1 2\x1fb 1 2", nil, 1}, // 0x1f is whitespace but no line break
		{"a 1 2\n\nb 1 2", []string{"a", "b"}, 1},
		{"a 1 2\r\r\nb 1 2", []string{"a", "b"}, 1},
		{"\n", nil, 1},
		{"", nil, 0},
		{"a 1 2\nbad\nb 1 2\n", []string{"a", "b"}, 1},
	} {
		p, r, st := newTestParser()
		p.Packet([]byte(c.packet))
		var names []string
		for _, pt := range r.points {
			names = append(names, pt.Name)
		}
		if strings.Join(names, ",") != strings.Join(c.want, ",") {
			t.Errorf("%q: points %v, want %v", c.packet, names, c.want)
		}
		if got := st.BadFields.Load(); got != c.bad {
			t.Errorf("%q: BadFields %d, want %d", c.packet, got, c.bad)
		}
		if got := st.Points.Load(); got != uint64(len(c.want)) {
			t.Errorf("%q: Points %d, want %d", c.packet, got, len(c.want))
		}
	}
}

// TestPrintable checks the eight-bytes-at-once scan of Packet against a
// byte-by-byte one.
func TestPrintable(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for range 20000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = byte(0x20 + rng.IntN(0x60))
			if rng.IntN(12) == 0 {
				b[i] = byte(rng.IntN(256))
			}
		}
		want := 0
		for want < len(b) && b[want] >= 0x20 && b[want] < 0x80 {
			want++
		}
		if got := printable(b); got != want {
			t.Fatalf("printable(%q) = %d, want %d", b, got, want)
		}
	}
}
