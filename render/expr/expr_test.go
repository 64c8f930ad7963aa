package expr

import (
	"errors"
	"strings"
	"testing"
)

// show prints a tree compactly: calls as name(args;k=v), strings quoted.
func show(e *Expr) string {
	switch e.Kind {
	case Path:
		return e.Str
	case String:
		return "'" + e.Str + "'"
	case Number:
		return "#" + e.Raw
	case Bool:
		if e.Bool {
			return "T"
		}
		return "F"
	case None:
		return "None"
	}
	var parts []string
	for _, a := range e.Args {
		parts = append(parts, show(a))
	}
	for _, k := range e.Kwargs {
		parts = append(parts, k.Name+"="+show(k.Value))
	}
	return e.Str + "(" + strings.Join(parts, ";") + ")"
}

func TestParse(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"a.b.c", "a.b.c"},
		{"a.*.c", "a.*.c"},
		{"a.{b,c}.d", "a.{b,c}.d"},
		{"a.[a-z]?.d", "a.[a-z]?.d"},
		{"sumSeries(a.*.b)", "sumSeries(a.*.b)"},
		{"sumSeries(a.{x,y}.b, c)", "sumSeries(a.{x,y}.b;c)"},
		{"scale(a, 2.5)", "scale(a;#2.5)"},
		{"scale(a, -1e3)", "scale(a;#-1e3)"},
		{`alias(a, "x y")`, "alias(a;'x y')"},
		{"alias(a,'it''s')", ""},
		{"f(a, true, False, None)", "f(a;T;F;None)"},
		{"movingAverage(seriesList=a, windowSize='5min')", "movingAverage(seriesList=a;windowSize='5min')"},
		{"summarize(a, '1h', func = 'max')", "summarize(a;'1h';func='max')"},
		{"a.b|scale(2)|alias('x')", "alias(scale(a.b;#2);'x')"},
		{"  sumSeries( a , b )  ", "sumSeries(a;b)"},
		{"f()", "f()"},
		{"f(g(h(a)))", "f(g(h(a)))"},
		{"disk.used;host=a;dc=b", "disk.used;host=a;dc=b"},
		{"seriesByTag('name=x', 'k!=~v.*')", "seriesByTag('name=x';'k!=~v.*')"},
		{"a-b.c_d:e", "a-b.c_d:e"},
		{"1.2.3", "1.2.3"},
	} {
		e, err := Parse(c.in)
		if c.want == "" {
			if err == nil {
				t.Errorf("%s: parsed as %s, want an error", c.in, show(e))
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if got := show(e); got != c.want {
			t.Errorf("%s: %s, want %s", c.in, got, c.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		in  string
		pos int
	}{
		{"sumSeries(a.b", 13},
		{"sumSeries(a.b))", 14},
		{"scale(a, 'x)", 9},
		{"a.{b,c", 6},
		{"f(a=1, b)", 7},
		{"f(,)", 2},
		{"(a)", 0},
		{"a|b", 2},
		{"f(a b)", 4},
		{"", 0},
		{strings.Repeat("f(", MaxDepth+2) + "a" + strings.Repeat(")", MaxDepth+2), 2 * (MaxDepth + 1)},
	} {
		_, err := Parse(c.in)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%q: %v, want a SyntaxError", c.in, err)
			continue
		}
		if se.Pos != c.pos {
			t.Errorf("%q: position %d, want %d (%v)", c.in, se.Pos, c.pos, err)
		}
		if !strings.Contains(err.Error(), "position") {
			t.Errorf("%q: %v does not name the position", c.in, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"sumSeries(a.*.b)", "f(a, k='v', 1.5e3)", "a|b()", "a.{b,c}[d-e]", "f(g(h("} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err == nil && e == nil {
			t.Fatal("nil expression without an error")
		}
	})
}
