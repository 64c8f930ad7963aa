package carbon

import (
	"encoding/binary"
	"math"
	"strconv"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// pow10 holds the powers of ten that float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// isNumByte reports whether c may occur in a plain ASCII decimal literal.
func isNumByte(c byte) bool {
	return c-'0' <= 9 || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'
}

// parseDecimal parses s as Python's float() parses an ASCII decimal literal:
// [sign] (digits [. [digits]] | . digits) [(e|E) [sign] digits]. It does not
// know inf, nan, underscores or non-ASCII digits: done is false when s holds a
// byte outside [0-9.eE+-], so that the caller tries those; otherwise ok tells
// whether s is a number. It allocates only when strconv reports a range error
// near ±1.8e308.
func parseDecimal(s []byte) (f float64, ok, done bool) {
	f, end, ok := scanDecimal(s, 0)
	if ok && end == len(s) {
		return f, true, true
	}
	return 0, false, plainASCII(s)
}

// scanDecimal reads the ASCII decimal literal that starts at s[i], as far as
// it goes, and returns its value and where it ends; ok is false if no literal
// starts at s[i].
func scanDecimal(s []byte, i int) (f float64, end int, ok bool) {
	start := i
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	var mant uint64
	digits, exp := 0, 0
	mantDigits := 0 // significant digits in mant
	big := false    // digits were left out of mant
	for ; i < len(s); i++ {
		d := s[i] - '0'
		if d > 9 {
			break
		}
		digits++
		if mantDigits < 19 {
			mant = mant*10 + uint64(d)
			if mant != 0 {
				mantDigits++
			}
		} else {
			big = true
			exp++
		}
	}
	if i < len(s) && s[i] == '.' {
		for i++; i < len(s); i++ {
			d := s[i] - '0'
			if d > 9 {
				break
			}
			digits++
			if mantDigits < 19 {
				mant = mant*10 + uint64(d)
				exp--
				if mant != 0 {
					mantDigits++
				}
			} else {
				big = true
			}
		}
	}
	if digits == 0 {
		return 0, i, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		e, edigits := 0, 0
		for ; i < len(s); i++ {
			d := s[i] - '0'
			if d > 9 {
				break
			}
			edigits++
			if e < 1e6 {
				e = e*10 + int(d)
			}
		}
		if edigits == 0 {
			return 0, i, false
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	if mant == 0 {
		return math.Copysign(0, boolSign(neg)), i, true
	}
	if !big && mant < 1<<53 && exp >= -22 && exp <= 22 {
		// Clinger's fast path: both operands are exact, so the one rounding is correct.
		f = float64(mant)
		if exp < 0 {
			f /= pow10[-exp]
		} else {
			f *= pow10[exp]
		}
		if neg {
			f = -f
		}
		return f, i, true
	}
	// The value is mant × 10^exp with mantDigits digits in mant: far beyond the
	// range of float64 it is ±Inf or ±0 (as in Python), without asking strconv,
	// whose range error allocates.
	if mag := mantDigits - 1 + exp; mag > 309 {
		return math.Inf(int(boolSign(neg))), i, true
	} else if mag < -325 {
		return math.Copysign(0, boolSign(neg)), i, true
	}
	lit := s[start:i]
	f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(lit), len(lit)), 64)
	if err != nil && !math.IsInf(f, 0) {
		return 0, i, false
	}
	return f, i, true
}

func boolSign(neg bool) float64 {
	if neg {
		return -1
	}
	return 1
}

// plainASCII reports whether every byte of s may occur in an ASCII decimal
// literal, in which case parseDecimal's verdict is final.
func plainASCII(s []byte) bool {
	for _, c := range s {
		if !isNumByte(c) {
			return false
		}
	}
	return true
}

// parseFloat parses s as Python 3's float(s) does, for a string without
// whitespace: decimal literals, inf/infinity/nan in any case with a sign,
// underscores between digits, and any Unicode decimal digit (Nd) standing for
// its ASCII digit. scratch is reused for the rare literals that need rewriting.
func parseFloat(s []byte, scratch *[]byte) (float64, bool) {
	f, ok, done := parseDecimal(s)
	if done {
		return f, ok
	}
	return parseFloatSlow(s, scratch)
}

// parseFloatSlow rewrites s the way CPython's float_from_string does before
// parsing: non-ASCII decimal digits become ASCII digits
// (_PyUnicode_TransformDecimalAndSpaceToASCII), then underscores are removed
// where they stand between digits (_Py_string_to_number_with_underscores).
func parseFloatSlow(s []byte, scratch *[]byte) (float64, bool) {
	buf := (*scratch)[:0]
	underscore := false
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			underscore = underscore || c == '_'
			buf = append(buf, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		d := decimalDigit(r)
		if d < 0 {
			*scratch = buf
			return 0, false
		}
		buf = append(buf, byte('0'+d))
		i += size
	}
	*scratch = buf
	if underscore {
		// An underscore must follow a digit and precede one.
		n := 0
		prev := byte(0)
		for _, c := range buf {
			if c == '_' {
				if prev-'0' > 9 {
					return 0, false
				}
			} else {
				if prev == '_' && c-'0' > 9 {
					return 0, false
				}
				buf[n] = c
				n++
			}
			prev = c
		}
		if prev == '_' {
			return 0, false
		}
		buf = buf[:n]
	}
	if f, ok := parseSpecial(buf); ok {
		return f, true
	}
	f, ok, done := parseDecimal(buf)
	return f, ok && done
}

// parseSpecial parses [sign] (inf | infinity | nan) in any case, as
// CPython's _Py_parse_inf_or_nan does.
func parseSpecial(s []byte) (float64, bool) {
	sign := 1
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		if s[0] == '-' {
			sign = -1
		}
		s = s[1:]
	}
	switch {
	case equalFold(s, "inf"), equalFold(s, "infinity"):
		return math.Inf(sign), true
	case equalFold(s, "nan"):
		return math.NaN(), true
	}
	return 0, false
}

// equalFold compares s with the lower-case ASCII word w, ignoring ASCII case.
func equalFold(s []byte, w string) bool {
	if len(s) != len(w) {
		return false
	}
	for i := range len(s) {
		if s[i]|0x20 != w[i] {
			return false
		}
	}
	return true
}

// decimalDigit is the value of the Unicode decimal digit r (category Nd,
// which Unicode keeps equal to Numeric_Type=Decimal), or -1. Unicode assigns
// decimal digits only in runs of ten from 0 to 9, so the value is the
// distance from the start of r's run of digits, modulo 10.
func decimalDigit(r rune) int {
	if !unicode.Is(unicode.Nd, r) {
		return -1
	}
	start := r
	for start > 0 && unicode.Is(unicode.Nd, start-1) {
		start--
	}
	return int(r-start) % 10
}

// parseTimestamp parses the timestamp field. Integers of up to 15 digits are
// read exactly without floating point (float64 holds them exactly too, so the
// result is what Python's int(float(s)) gives); anything else is parsed by
// parseFloat and returned in f with isFloat set, for the caller to truncate
// after it has looked at the value: carbon drops a NaN value before it
// converts the timestamp.
func parseTimestamp(s []byte, scratch *[]byte) (ts int64, f float64, isFloat, ok bool) {
	if v, end, ok := scanInt(s, 0); ok && end == len(s) {
		return v, 0, false, true
	}
	f, ok = parseFloat(s, scratch)
	return 0, f, true, ok
}

// scanInt reads [sign] digits at s[i], with 1 to 15 digits (exact in a
// float64), and returns the value and where the digits end.
func scanInt(s []byte, i int) (v int64, end int, ok bool) {
	neg := false
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	start := i
	if i+8 <= len(s) {
		if x := binary.LittleEndian.Uint64(s[i:]); eightDigits(x) {
			v = int64(swarDigits(x))
			i += 8
		}
	}
	for ; i < len(s); i++ {
		d := s[i] - '0'
		if d > 9 {
			break
		}
		v = v*10 + int64(d)
	}
	if n := i - start; n == 0 || n > 15 {
		return 0, i, false
	}
	if neg {
		v = -v
	}
	return v, i, true
}

// eightDigits reports whether the 8 bytes in x (little-endian) are all ASCII digits.
func eightDigits(x uint64) bool {
	return x&0xf0f0f0f0f0f0f0f0 == 0x3030303030303030 &&
		(x+0x0606060606060606)&0xf0f0f0f0f0f0f0f0 == 0x3030303030303030
}

// swarDigits is the value of the 8 ASCII digits in x, the first in the low byte,
// computed with three multiplications instead of eight.
func swarDigits(x uint64) uint64 {
	x -= 0x3030303030303030
	x = x*10 + x>>8                                                                                 // pairs: d0*10+d1 in bytes 0, 2, 4, 6
	x = ((x&0x000000ff000000ff)*(100+1000000<<32) + (x>>16&0x000000ff000000ff)*(1+10000<<32)) >> 32 // 8 digits
	return x & 0xffffffff
}

// truncTimestamp converts a float timestamp as Python's int() does, failing
// for NaN, infinities and values outside int64.
func truncTimestamp(f float64) (int64, bool) {
	if !(f >= -(1<<63) && f < 1<<63) {
		return 0, false
	}
	return int64(f), true
}
