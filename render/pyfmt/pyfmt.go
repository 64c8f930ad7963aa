// Package pyfmt writes numbers and strings the way Python 3 prints them:
// repr() of floats and strs, and the %f and %g formats, for output that tools
// written for graphite-web and whisper.py compare byte for byte.
package pyfmt

import (
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// AppendFloatRepr appends Python's repr() of v: the shortest digits that read
// back as v, in fixed notation for decimal exponents from -4 to 15 (with ".0"
// when there is no fraction) and as "1.5e+16" outside, as float_repr_style
// 'short' does.
func AppendFloatRepr(dst []byte, v float64) []byte {
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

// AppendFormatG appends C's and Python's "%.{prec}g" of v, right-aligned in
// width: prec significant digits, exponent form when the decimal exponent is
// below -4 or at least prec, trailing zeros removed. Go's %g differs: it keeps
// the shortest representation and writes NaN and +Inf.
func AppendFormatG(dst []byte, v float64, width, prec int) []byte {
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

// AppendFormatF appends Python's "%f" of v: Go's %f, but nan, inf and -inf
// in Python's spelling.
func AppendFormatF(dst []byte, v float64) []byte {
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

// AppendStrRepr appends Python's repr() of a str: single quotes unless the
// text holds a single quote and no double one, backslash escapes for
// non-printable characters, and \udcXX for bytes that are not UTF-8 (the
// surrogates Python's surrogateescape gives them).
func AppendStrRepr(dst []byte, s string) []byte {
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
