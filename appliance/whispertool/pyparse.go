package whispertool

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"statbox/render/pyfmt"
)

func strRepr(s string) string { return string(pyfmt.AppendStrRepr(nil, s)) }

func floatRepr(v float64) string { return string(pyfmt.AppendFloatRepr(nil, v)) }

// isPySpace is the white space Python's int() and float() strip: ASCII's
// " \t\n\v\f\r" and, beyond ASCII, Unicode's spaces.
func isPySpace(r rune) bool {
	if r < utf8.RuneSelf {
		return strings.ContainsRune(" \t\n\v\f\r", r)
	}
	return unicode.IsSpace(r)
}

// timeLimit bounds parsed integers: Python's are unbounded, and no time a
// whisper file can hold comes near it, so a larger one behaves the same.
const timeLimit = 1 << 60

// parsePyInt parses s as Python's int(s, base) does, for base 2, 8, 10 or
// 16: surrounding white space, a sign, the base's 0b/0o/0x prefix, and
// single underscores between digits. Values beyond ±2^60 are clamped.
func parsePyInt(s string, base int) (int64, bool) {
	s = strings.TrimFunc(s, isPySpace)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg, s = s[0] == '-', s[1:]
	}
	prefixed := false
	if len(s) >= 2 && s[0] == '0' {
		p := s[1] | 0x20
		if (base == 16 && p == 'x') || (base == 8 && p == 'o') || (base == 2 && p == 'b') {
			s, prefixed = s[2:], true
		}
	}
	if prefixed && strings.HasPrefix(s, "_") {
		s = s[1:]
	}
	digits, ok := stripUnderscores(s, func(c byte) bool {
		d := digitValue(c)
		return d >= 0 && d < base
	})
	if !ok {
		return 0, false
	}
	n, _ := new(big.Int).SetString(digits, base)
	if neg {
		n.Neg(n)
	}
	switch {
	case n.Cmp(big.NewInt(timeLimit)) > 0:
		return timeLimit, true
	case n.Cmp(big.NewInt(-timeLimit)) < 0:
		return -timeLimit, true
	}
	return n.Int64(), true
}

func digitValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c|0x20 >= 'a' && c|0x20 <= 'z':
		return int(c|0x20-'a') + 10
	}
	return -1
}

// stripUnderscores checks that s is one or more digits with single
// underscores between them, and returns the digits.
func stripUnderscores(s string, isDigit func(byte) bool) (string, bool) {
	if s == "" {
		return "", false
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' {
			if i == 0 || i == len(s)-1 || s[i-1] == '_' {
				return "", false
			}
			continue
		}
		if !isDigit(c) {
			return "", false
		}
		b.WriteByte(c)
	}
	return b.String(), true
}

// parsePyFloat parses s as Python's float(s) does: surrounding white space,
// nan and inf/infinity in any case with an optional sign, and decimal
// literals with single underscores between digits. Unlike Go's ParseFloat it
// refuses hexadecimal floats, and it rounds overflow to ±inf without error.
func parsePyFloat(s string) (float64, bool) {
	s = strings.TrimFunc(s, isPySpace)
	if s == "" {
		return 0, false
	}
	body := s
	if body != "" && (body[0] == '+' || body[0] == '-') {
		body = body[1:]
	}
	switch strings.ToLower(body) {
	case "nan":
		// CPython's NaN: the default quiet NaN, with the sign given. Go's
		// math.NaN has another payload, which marks a missing value here.
		if s[0] == '-' {
			return math.Float64frombits(0xfff8000000000000), true
		}
		return math.Float64frombits(0x7ff8000000000000), true
	case "inf", "infinity":
		if s[0] == '-' {
			return math.Inf(-1), true
		}
		return math.Inf(1), true
	}
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	mant, exp := body, ""
	if i := strings.IndexAny(body, "eE"); i >= 0 {
		mant, exp = body[:i], body[i+1:]
	}
	intPart, frac, hasDot := strings.Cut(mant, ".")
	var clean strings.Builder
	if s[0] == '-' {
		clean.WriteByte('-')
	}
	if intPart == "" && (!hasDot || frac == "") {
		return 0, false
	}
	if intPart != "" {
		d, ok := stripUnderscores(intPart, isDigit)
		if !ok {
			return 0, false
		}
		clean.WriteString(d)
	} else {
		clean.WriteByte('0')
	}
	if hasDot && frac != "" {
		d, ok := stripUnderscores(frac, isDigit)
		if !ok {
			return 0, false
		}
		clean.WriteString("." + d)
	}
	if strings.ContainsAny(body, "eE") {
		clean.WriteByte('e')
		if exp != "" && (exp[0] == '+' || exp[0] == '-') {
			clean.WriteByte(exp[0])
			exp = exp[1:]
		}
		d, ok := stripUnderscores(exp, isDigit)
		if !ok {
			return 0, false
		}
		clean.WriteString(d)
	}
	v, err := strconv.ParseFloat(clean.String(), 64)
	if err != nil && !isRangeErr(err) {
		return 0, false
	}
	return v, true
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}
