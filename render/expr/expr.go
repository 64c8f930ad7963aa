// Package expr owns the grammar of graphite-web's render targets: metric
// paths with globs, function calls with positional and keyword arguments,
// strings, numbers, booleans and None, parsed into a tree that says where each
// node stood so errors can name a position.
package expr

import (
	"fmt"
	"strconv"
	"strings"
)

// Kind says what an Expr is.
type Kind int

// The kinds of Expr.
const (
	Path Kind = iota
	Call
	String
	Number
	Bool
	None
)

// Expr is one node of a parsed target.
type Expr struct {
	Kind   Kind
	Pos    int     // byte offset in the target where the node starts
	Str    string  // Path: the path; Call: the function name; String: the value
	Num    float64 // Number
	IsInt  bool    // Number: written without a fraction or exponent
	Bool   bool    // Bool
	Args   []*Expr // Call: positional arguments
	Kwargs []Kwarg // Call: keyword arguments, in the order written
	Raw    string  // the source text of the node, for names graphite-web copies verbatim
}

// Kwarg is a keyword argument of a call.
type Kwarg struct {
	Name  string
	Value *Expr
}

// SyntaxError is a target that does not parse; Pos is the byte offset of the fault.
type SyntaxError struct {
	Target string
	Pos    int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid target %q: %s at position %d", e.Target, e.Msg, e.Pos)
}

// MaxDepth is the deepest nesting of calls Parse accepts.
const MaxDepth = 64

// Parse reads one target. A target may also be written with graphite-web's
// pipe form, "a.b|scale(2)|alias('x')", which Parse turns into nested calls.
func Parse(target string) (*Expr, error) {
	p := &parser{s: target}
	p.skipSpace()
	e, err := p.pipe(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.i < len(p.s) {
		return nil, p.errf("unexpected %q", p.s[p.i])
	}
	return e, nil
}

type parser struct {
	s string
	i int
}

func (p *parser) errf(format string, a ...any) error {
	return &SyntaxError{Target: p.s, Pos: p.i, Msg: fmt.Sprintf(format, a...)}
}

func (p *parser) skipSpace() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

// pipe is an expression followed by any number of "|call(args)".
func (p *parser) pipe(depth int) (*Expr, error) {
	start := p.i
	e, err := p.expr(depth)
	if err != nil {
		return nil, err
	}
	for {
		p.skipSpace()
		if p.i >= len(p.s) || p.s[p.i] != '|' {
			return e, nil
		}
		p.i++
		p.skipSpace()
		c, err := p.expr(depth)
		if err != nil {
			return nil, err
		}
		if c.Kind != Call {
			return nil, &SyntaxError{Target: p.s, Pos: c.Pos, Msg: "a function call must follow '|'"}
		}
		c.Args = append([]*Expr{e}, c.Args...)
		c.Pos = start
		e = c
	}
}

// expr is a call, a path, or a literal.
func (p *parser) expr(depth int) (*Expr, error) {
	if depth > MaxDepth {
		return nil, p.errf("expression nested deeper than %d calls", MaxDepth)
	}
	if p.i >= len(p.s) {
		return nil, p.errf("unexpected end of target")
	}
	start := p.i
	switch c := p.s[p.i]; c {
	case '\'', '"':
		j := strings.IndexByte(p.s[p.i+1:], c)
		if j < 0 {
			return nil, p.errf("unterminated string")
		}
		v := p.s[p.i+1 : p.i+1+j]
		p.i += j + 2
		return &Expr{Kind: String, Pos: start, Str: v, Raw: p.s[start:p.i]}, nil
	case '(', ')', ',', '=', '|':
		return nil, p.errf("unexpected %q", c)
	}
	word, err := p.word()
	if err != nil {
		return nil, err
	}
	if word == "" {
		return nil, p.errf("unexpected %q", p.s[p.i])
	}
	if p.i < len(p.s) && p.s[p.i] == '(' && isIdent(word) {
		p.i++
		call := &Expr{Kind: Call, Pos: start, Str: word}
		if err := p.args(call, depth+1); err != nil {
			return nil, err
		}
		call.Raw = p.s[start:p.i]
		return call, nil
	}
	e := literal(word)
	e.Pos, e.Raw = start, word
	return e, nil
}

// literal classifies a bare word as graphite-web's grammar does: a number,
// true/false, None, or else a metric path.
func literal(w string) *Expr {
	switch strings.ToLower(w) {
	case "true":
		return &Expr{Kind: Bool, Bool: true}
	case "false":
		return &Expr{Kind: Bool}
	case "none":
		return &Expr{Kind: None}
	}
	if isNumber(w) {
		if n, err := strconv.ParseInt(w, 10, 64); err == nil {
			return &Expr{Kind: Number, Num: float64(n), IsInt: true}
		}
		if f, err := strconv.ParseFloat(w, 64); err == nil {
			return &Expr{Kind: Number, Num: f}
		}
	}
	return &Expr{Kind: Path, Str: w}
}

// isNumber is graphite-web's number token: an optional sign, digits with an
// optional fraction, an optional exponent.
func isNumber(w string) bool {
	i := 0
	if i < len(w) && (w[i] == '-' || w[i] == '+') {
		i++
	}
	d := 0
	for i < len(w) && w[i] >= '0' && w[i] <= '9' {
		i, d = i+1, d+1
	}
	if i < len(w) && w[i] == '.' {
		i++
		for i < len(w) && w[i] >= '0' && w[i] <= '9' {
			i, d = i+1, d+1
		}
	}
	if d == 0 {
		return false
	}
	if i < len(w) && (w[i] == 'e' || w[i] == 'E') {
		i++
		if i < len(w) && (w[i] == '-' || w[i] == '+') {
			i++
		}
		e := 0
		for i < len(w) && w[i] >= '0' && w[i] <= '9' {
			i, e = i+1, e+1
		}
		if e == 0 {
			return false
		}
	}
	return i == len(w)
}

func isIdent(w string) bool {
	for i := 0; i < len(w); i++ {
		c := w[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return w != ""
}

// word reads a path or bare literal: everything up to a delimiter, where a
// comma inside {a,b} belongs to the path.
func (p *parser) word() (string, error) {
	start := p.i
	brace, bracket := 0, false
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case bracket:
			if c == ']' {
				bracket = false
			}
		case c == '[':
			bracket = true
		case c == '{':
			brace++
		case c == '}':
			if brace == 0 {
				return "", p.errf("unmatched '}'")
			}
			brace--
		case c == ',' && brace > 0:
		case c == '(' || c == ')' || c == ',' || c == '|' || c == '\'' || c == '"' || c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if brace > 0 {
				return "", p.errf("unexpected %q inside {}", c)
			}
			return p.s[start:p.i], nil
		}
		p.i++
	}
	if brace > 0 || bracket {
		return "", p.errf("unterminated glob")
	}
	return p.s[start:p.i], nil
}

// args reads "a, b, k=v)" after a call's opening parenthesis.
func (p *parser) args(call *Expr, depth int) error {
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == ')' {
		p.i++
		return nil
	}
	for {
		p.skipSpace()
		// A keyword argument: identifier '=' value.
		save := p.i
		j := p.i
		for j < len(p.s) && (p.s[j] == '_' || p.s[j] >= 'a' && p.s[j] <= 'z' || p.s[j] >= 'A' && p.s[j] <= 'Z' || j > p.i && p.s[j] >= '0' && p.s[j] <= '9') {
			j++
		}
		k := j
		for k < len(p.s) && p.s[k] == ' ' {
			k++
		}
		if j > p.i && k < len(p.s) && p.s[k] == '=' {
			name := p.s[p.i:j]
			p.i = k + 1
			p.skipSpace()
			v, err := p.pipe(depth)
			if err != nil {
				return err
			}
			call.Kwargs = append(call.Kwargs, Kwarg{Name: name, Value: v})
		} else {
			p.i = save
			if len(call.Kwargs) > 0 {
				return p.errf("positional argument after keyword argument")
			}
			a, err := p.pipe(depth)
			if err != nil {
				return err
			}
			call.Args = append(call.Args, a)
		}
		p.skipSpace()
		if p.i >= len(p.s) {
			return p.errf("missing ')' of %s(", call.Str)
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case ')':
			p.i++
			return nil
		default:
			return p.errf("unexpected %q in arguments of %s", p.s[p.i], call.Str)
		}
	}
}
