package statsd

import (
	"math"
	"strconv"
	"unsafe"
)

// pow10 holds the powers of ten a float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseNumber parses a statsd value: an optional sign, decimal digits with an
// optional fraction, an optional exponent, and surrounding ASCII whitespace as
// JavaScript's Number() skips it. It refuses what Number() would take but
// statbox does not (hex, "Infinity"), and anything that is not finite.
func parseNumber(b []byte) (float64, bool) {
	// Fast path: [-+]?digits[.digits], at most 15 significant digits, so the
	// integer mantissa and the power of ten are exact and one division gives
	// the correctly rounded result, as strconv would.
	i, neg := 0, false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		i = 1
	}
	var mant uint64
	digits, frac := 0, -1
	for ; i < len(b); i++ {
		c := b[i]
		if c >= '0' && c <= '9' {
			mant = mant*10 + uint64(c-'0')
			digits++
			continue
		}
		if c == '.' && frac < 0 {
			frac = i
			continue
		}
		return parseNumberSlow(b)
	}
	if digits == 0 || digits > 15 {
		return parseNumberSlow(b)
	}
	f := float64(mant)
	if frac >= 0 {
		f /= pow10[len(b)-frac-1]
	}
	if neg {
		f = -f
	}
	return f, true
}

// isJSSpace reports whether c is ASCII whitespace to JavaScript's trim.
func isJSSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' || c == '\n'
}

func parseNumberSlow(b []byte) (float64, bool) {
	for len(b) > 0 && isJSSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isJSSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	// Check the syntax first: strconv also takes hex floats, "inf" and
	// underscores, which Number() refuses or reads otherwise.
	i := 0
	if i < len(b) && (b[i] == '-' || b[i] == '+') {
		i++
	}
	digits := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		digits++
	}
	if i < len(b) && b[i] == '.' {
		i++
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			digits++
		}
	}
	if digits == 0 {
		return 0, false
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '-' || b[i] == '+') {
			i++
		}
		exp := 0
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			exp++
		}
		if exp == 0 {
			return 0, false
		}
	}
	if i != len(b) {
		return 0, false
	}
	f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(b), len(b)), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// AppendNumber appends f as JavaScript's Number.prototype.toString writes it
// (ECMA-262 Number::toString): the shortest digits that read back as f, in
// plain notation for exponents from -7 to 20 and as "1.5e+21" or "1e-7"
// beyond. etsy statsd's graphite backend writes every value this way.
func AppendNumber(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	case f == 0:
		return append(dst, '0') // -0 too
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.AppendInt(dst, int64(f), 10)
	}
	if f < 0 {
		dst = append(dst, '-')
		f = -f
	}
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	// e is "d.ddde±XX": split it into the digits and n, the position of the
	// decimal point relative to them (ECMA's n).
	var digits [24]byte
	k := 0
	j := 0
	for ; e[j] != 'e'; j++ {
		if e[j] != '.' {
			digits[k] = e[j]
			k++
		}
	}
	exp, _ := strconv.Atoi(string(e[j+1:]))
	n := exp + 1
	d := digits[:k]
	switch {
	case k <= n && n <= 21:
		dst = append(dst, d...)
		for range n - k {
			dst = append(dst, '0')
		}
	case 0 < n && n <= 21:
		dst = append(dst, d[:n]...)
		dst = append(dst, '.')
		dst = append(dst, d[n:]...)
	case -6 < n && n <= 0:
		dst = append(dst, "0."...)
		for range -n {
			dst = append(dst, '0')
		}
		dst = append(dst, d...)
	default:
		dst = append(dst, d[0])
		if k > 1 {
			dst = append(dst, '.')
			dst = append(dst, d[1:]...)
		}
		dst = append(dst, 'e')
		if n-1 >= 0 {
			dst = append(dst, '+')
		}
		dst = strconv.AppendInt(dst, int64(n-1), 10)
	}
	return dst
}
