package whispertool

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// appendFloatRepr appends Python's repr() of v: the shortest digits that read
// back as v, in fixed notation for decimal exponents from -4 to 15 (with ".0"
// when there is no fraction) and as "1.5e+16" outside, as float_repr_style
// 'short' does.
func appendFloatRepr(dst []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(dst, "nan"...)
	case math.IsInf(v, 1):
		return append(dst, "inf"...)
	case math.IsInf(v, -1):
		return append(dst, "-inf"...)
	}
	neg, digits, exp := decimalDigits(v, -1)
	if neg {
		dst = append(dst, '-')
	}
	if exp < -4 || exp >= 16 {
		return appendExponent(dst, digits, exp)
	}
	dst = appendFixed(dst, digits, exp)
	if exp >= len(digits)-1 {
		dst = append(dst, ".0"...)
	}
	return dst
}

// appendFormatG appends C's and Python's "%.{prec}g" of v, right-aligned in
// width: prec significant digits, exponent form when the decimal exponent is
// below -4 or at least prec, trailing zeros removed. Go's %g differs: it keeps
// the shortest representation and writes NaN and +Inf.
func appendFormatG(dst []byte, v float64, width, prec int) []byte {
	var buf [64]byte
	s := buf[:0]
	switch {
	case math.IsNaN(v):
		s = append(s, "nan"...)
	case math.IsInf(v, 1):
		s = append(s, "inf"...)
	case math.IsInf(v, -1):
		s = append(s, "-inf"...)
	default:
		if prec == 0 {
			prec = 1
		}
		neg, digits, exp := decimalDigits(v, prec)
		digits = strings.TrimRight(digits, "0")
		if digits == "" {
			digits = "0"
		}
		if neg {
			s = append(s, '-')
		}
		if exp < -4 || exp >= prec {
			s = appendExponent(s, digits, exp)
		} else {
			s = appendFixed(s, digits, exp)
		}
	}
	for pad := width - len(s); pad > 0; pad-- {
		dst = append(dst, ' ')
	}
	return append(dst, s...)
}

// appendFormatF appends Python's "%f" of v: Go's %f, but nan, inf and -inf
// in Python's spelling.
func appendFormatF(dst []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(dst, "nan"...)
	case math.IsInf(v, 1):
		return append(dst, "inf"...)
	case math.IsInf(v, -1):
		return append(dst, "-inf"...)
	}
	return strconv.AppendFloat(dst, v, 'f', 6, 64)
}

// decimalDigits returns the sign, the significant digits (prec of them, or
// the shortest round-tripping ones for prec < 0) and the decimal exponent of
// the first digit of a finite v.
func decimalDigits(v float64, prec int) (neg bool, digits string, exp int) {
	s := strconv.FormatFloat(v, 'e', prec-1, 64)
	if prec < 0 {
		s = strconv.FormatFloat(v, 'e', -1, 64)
	}
	if s[0] == '-' {
		neg, s = true, s[1:]
	}
	mant, e, _ := strings.Cut(s, "e")
	exp, _ = strconv.Atoi(e)
	return neg, strings.Replace(mant, ".", "", 1), exp
}

// appendExponent writes d.ddde+XX with at least two exponent digits.
func appendExponent(dst []byte, digits string, exp int) []byte {
	dst = append(dst, digits[0])
	if len(digits) > 1 {
		dst = append(dst, '.')
		dst = append(dst, digits[1:]...)
	}
	dst = append(dst, 'e')
	if exp < 0 {
		dst = append(dst, '-')
		exp = -exp
	} else {
		dst = append(dst, '+')
	}
	if exp < 10 {
		dst = append(dst, '0')
	}
	return strconv.AppendInt(dst, int64(exp), 10)
}

// appendFixed writes digits with the decimal point after the digit of
// decimal exponent 0, padding with zeros on either side as needed.
func appendFixed(dst []byte, digits string, exp int) []byte {
	if exp < 0 {
		dst = append(dst, "0."...)
		dst = append(dst, strings.Repeat("0", -exp-1)...)
		return append(dst, digits...)
	}
	if exp+1 >= len(digits) {
		dst = append(dst, digits...)
		return append(dst, strings.Repeat("0", exp+1-len(digits))...)
	}
	dst = append(dst, digits[:exp+1]...)
	dst = append(dst, '.')
	return append(dst, digits[exp+1:]...)
}

// appendStrRepr appends Python's repr() of a str: single quotes unless the
// text holds a single quote and no double one, backslash escapes for
// non-printable characters, and \udcXX for bytes that are not UTF-8 (the
// surrogates Python's surrogateescape gives them).
func appendStrRepr(dst []byte, s string) []byte {
	quote := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		quote = '"'
	}
	dst = append(dst, quote)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, `\udc`...)
			dst = appendHex(dst, uint32(s[i]), 2)
			i++
			continue
		}
		i += n
		switch {
		case r == rune(quote) || r == '\\':
			dst = append(dst, '\\', byte(r))
		case r == '\t':
			dst = append(dst, `\t`...)
		case r == '\n':
			dst = append(dst, `\n`...)
		case r == '\r':
			dst = append(dst, `\r`...)
		case r == ' ' || (r >= 0x20 && r < 0x7f) || (r >= 0x7f && unicode.IsPrint(r) && !unicode.Is(unicode.Cf, r)):
			dst = utf8.AppendRune(dst, r)
		case r < 0x100:
			dst = append(dst, `\x`...)
			dst = appendHex(dst, uint32(r), 2)
		case r < 0x10000:
			dst = append(dst, `\u`...)
			dst = appendHex(dst, uint32(r), 4)
		default:
			dst = append(dst, `\U`...)
			dst = appendHex(dst, uint32(r), 8)
		}
	}
	return append(dst, quote)
}

func appendHex(dst []byte, v uint32, width int) []byte {
	const hex = "0123456789abcdef"
	for shift := 4 * (width - 1); shift >= 0; shift -= 4 {
		dst = append(dst, hex[v>>uint(shift)&0xf])
	}
	return dst
}

func strRepr(s string) string { return string(appendStrRepr(nil, s)) }

func floatRepr(v float64) string { return string(appendFloatRepr(nil, v)) }

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
