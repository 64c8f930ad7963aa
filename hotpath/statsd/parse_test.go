package statsd

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// rec is a Sink that keeps what it is given as text.
type rec struct{ got []string }

func (r *rec) Add(m *Metric) {
	s := fmt.Sprintf("%s %s %v", m.Type, m.Name, m.Value)
	switch {
	case m.Type == Set:
		s = fmt.Sprintf("set %s %q", m.Name, m.Member)
	case m.Rate != 1:
		s += fmt.Sprintf(" @%v", m.Rate)
	}
	if m.Delta {
		s += " delta"
	}
	r.got = append(r.got, s)
}

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in         string
		want       []string
		lines, bad int
	}{
		{"a:1|c", []string{"counter a 1"}, 1, 0},
		{"a:1|c|@0.5", []string{"counter a 1 @0.5"}, 1, 0},
		{"a:1|c:2|ms:3|g:+4|g:x|s", []string{"counter a 1", "timer a 2", "gauge a 3", "gauge a 4 delta", `set a "x"`}, 1, 0},
		{"a:1|h\nb:2|d", []string{"timer a 1", "timer b 2"}, 2, 0},
		{"\n\na:1|c\n\n", []string{"counter a 1"}, 1, 0},
		{"a:-2|g", []string{"gauge a -2 delta"}, 1, 0},
		{"a b/c:1|c", []string{"counter a_b-c 1"}, 1, 0},
		{"x:1|c|#b:2,a:1", []string{"counter x;a=1;b=2 1"}, 1, 0},
		{"x:1|c|#k:v,k2", []string{"counter x;k=v 1"}, 1, 0}, // a tag without a value has no Graphite form
		{"x:1|c|#k2", []string{"counter x 1"}, 1, 0},
		{"x;b=2;a=1:1|c", []string{"counter x;a=1;b=2 1"}, 1, 0},
		{"x:1|c|@0.5|#t:1", []string{"counter x;t=1 1 @0.5"}, 1, 0},
		{"s:|s", []string{`set s "0"`}, 1, 0},
		// statbox refuses what etsy would count as a counter or an infinity.
		{"unknown:1|x", nil, 1, 1},
		{":1|c", nil, 1, 1},
		{"$$$:1|c", nil, 1, 1},
		{"nan:NaN|c", nil, 1, 1},
		{"inf:Infinity|g", nil, 1, 1},
		{"huge:1e999|c", nil, 1, 1},
		{"hex:0x10|c", nil, 1, 1},
		{"rate0:1|c|@0", nil, 1, 1},
		{"x;:1|c", nil, 1, 1},
		// etsy counts a bad value once per value, and the rest still counts.
		{"a:1|c:zz|c:2|c\nbad\nb:1|g", []string{"counter a 1", "counter a 2", "gauge b 1"}, 3, 2},
		{"nocolon", nil, 1, 1},
		{"a:1", nil, 1, 1},
		{"a:-1|ms", nil, 1, 1},
		{"a:1|c|", nil, 1, 1},
		{"a:1|c|@-1", nil, 1, 1},
	} {
		var r rec
		var p Parser
		lines, bad := p.Parse([]byte(c.in), &r)
		if strings.Join(r.got, "\n") != strings.Join(c.want, "\n") || lines != c.lines || bad != c.bad {
			t.Errorf("%q: got %q lines %d bad %d, want %q lines %d bad %d", c.in, r.got, lines, bad, c.want, c.lines, c.bad)
		}
	}
}

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"a b":              "a_b",
		"a \t b":           "a_b",
		"a/b":              "a-b",
		"a \u00e9 b":       "a__b",
		"a\u00a0\u3000b":   "a_b",
		"we$ird*chars!":    "weirdchars",
		"ok_-.;=":          "ok_-.;=",
		"bad\xffutf8":      "badutf8",
		" lead and trail ": "_lead_and_trail_",
	} {
		if got := string(appendSanitized(nil, []byte(in))); got != want {
			t.Errorf("sanitize %q = %q, want %q", in, got, want)
		}
	}
}

func TestNumbers(t *testing.T) {
	for in, want := range map[string]float64{
		"1": 1, "-1": -1, "+1": 1, "0.1": 0.1, ".5": 0.5, "5.": 5, "1e3": 1000, "1E-2": 0.01,
		" 7 ": 7, "12345678901234567": 12345678901234567, "0.30000000000000004": 0.30000000000000004,
	} {
		got, ok := parseNumber([]byte(in))
		if !ok || got != want {
			t.Errorf("parseNumber(%q) = %v %v, want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "-", ".", "e5", "1e", "0x10", "Infinity", "NaN", "1_000", "1,5", "1e400", "--1"} {
		if got, ok := parseNumber([]byte(in)); ok {
			t.Errorf("parseNumber(%q) = %v, want refused", in, got)
		}
	}
	for f, want := range map[float64]string{
		0: "0", math.Copysign(0, -1): "0", 1: "1", -2.5: "-2.5", 0.1: "0.1", 1e21: "1e+21", 1e20: "100000000000000000000",
		1.5e-7: "1.5e-7", 0.000001: "0.000001", 123456789.125: "123456789.125", 1e15: "1000000000000000",
		0.30000000000000004: "0.30000000000000004", math.NaN(): "NaN", math.Inf(-1): "-Infinity", 2e-7: "2e-7",
	} {
		if got := string(AppendNumber(nil, f)); got != want {
			t.Errorf("AppendNumber(%v) = %q, want %q", f, got, want)
		}
	}
}

type nopSink struct{ n int }

func (s *nopSink) Add(m *Metric) { s.n++ }

func TestParseAllocs(t *testing.T) {
	var p Parser
	sink := &nopSink{}
	packets := [][]byte{
		[]byte("api.requests.count:1|c\napi.latency:12.5|ms|@0.1\nqueue.depth:+3|g\nusers:u1|s"),
		[]byte("tagged.metric:1|c|#env:prod,host:web01\nweird name/x:2|c"),
	}
	for _, b := range packets {
		p.Parse(b, sink) // grow the scratch buffers once
	}
	if n := testing.AllocsPerRun(1000, func() {
		for _, b := range packets {
			p.Parse(b, sink)
		}
	}); n != 0 {
		t.Fatalf("Parse allocates %v times per run, want 0", n)
	}
}

func TestShardAllocs(t *testing.T) {
	a, err := NewAggregator(func() Options { o := DefaultOptions(); o.Store = func([]byte, int64, float64) {}; return o }(), timeZero)
	if err != nil {
		t.Fatal(err)
	}
	s := a.NewShard(nil)
	pkt := []byte("api.requests.count:1|c\napi.latency:12.5|ms|@0.1\nqueue.depth:+3|g\nusers:u1|s\ntagged:1|c|#a:b")
	for range 10 {
		s.Packet(pkt)
	}
	if n := testing.AllocsPerRun(1000, func() { s.Packet(pkt) }); n > 0.01 {
		// Timer values and set members grow amortised; a flush resets them.
		t.Fatalf("Shard.Packet allocates %v times per packet, want 0", n)
	}
}
