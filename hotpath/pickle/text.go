package pickle

import (
	"bytes"
	"errors"
	"strconv"
	"unicode/utf8"
)

// Protocol 0 arguments: text lines, parsed as CPython's _pickle.c does for
// what picklers emit, and refused (CauseMalformed) for the odd spellings
// only a hand-made pickle has (hex, octal, underscores).

func indexByte(b []byte, c byte) int { return bytes.IndexByte(b, c) }

// readLine returns the argument from f[p] up to '\n', and the offset after
// the '\n'.
func readLine(f []byte, p int) (line []byte, next int, ok bool) {
	i := bytes.IndexByte(f[p:], '\n')
	if i < 0 {
		return nil, 0, false
	}
	return f[p : p+i], p + i + 1, true
}

// parseIntText parses a decimal int argument of INT, LONG, PUT or GET. big
// reports a valid int beyond int64. For INT (isInt), "01" and "00" are
// Python 2's True and False. For INT and LONG (strict), a leading zero is
// refused, where Python reads octal (INT) or fails (LONG); PUT and GET
// read base 10.
func parseIntText(s []byte, isInt, strict bool) (v int64, big, ok bool) {
	if isInt && len(s) == 2 && s[0] == '0' && (s[1] == '0' || s[1] == '1') {
		return int64(s[1] - '0'), false, true
	}
	neg := false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if len(s) == 0 {
		return 0, false, false
	}
	if strict && len(s) > 1 && s[0] == '0' {
		for _, c := range s {
			if c != '0' {
				return 0, false, false
			}
		}
	}
	var u uint64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false, false
		}
		if u > (1<<64-1-9)/10 {
			big = true
			continue
		}
		u = u*10 + uint64(c-'0')
	}
	if big {
		return 0, true, true
	}
	if neg {
		if u > 1<<63 {
			return 0, true, true
		}
		return -int64(u), false, true
	}
	if u > 1<<63-1 {
		return 0, true, true
	}
	return int64(u), false, true
}

// twosComplement reads LONG1/LONG4's little-endian two's complement bytes;
// fits is false beyond int64.
func twosComplement(b []byte) (v int64, fits bool) {
	n := len(b)
	if n == 0 {
		return 0, true
	}
	if n > 8 {
		var fill byte
		if b[7]&0x80 != 0 {
			fill = 0xff
		}
		for _, c := range b[8:] {
			if c != fill {
				return 0, false
			}
		}
		b, n = b[:8], 8
	}
	var u uint64
	for i := n - 1; i >= 0; i-- {
		u = u<<8 | uint64(b[i])
	}
	if n < 8 && b[n-1]&0x80 != 0 {
		u |= ^uint64(0) << (8 * n)
	}
	return int64(u), true
}

// parseFloatOpcode parses FLOAT's argument, a Python repr of a float:
// CPython's PyOS_string_to_double takes no whitespace, underscores or hex.
func parseFloatOpcode(s []byte) (float64, bool) {
	for _, c := range s {
		if c == '_' || c == 'x' || c == 'X' {
			return 0, false
		}
	}
	return parseFloat(s)
}

// parseFloatText is Python's float() of a str or bytes: surrounding
// whitespace is allowed, and underscores between digits; hex is not.
func parseFloatText(s []byte) (float64, bool) {
	s = bytes.TrimSpace(s)
	for _, c := range s {
		if c == 'x' || c == 'X' {
			return 0, false
		}
	}
	return parseFloat(s)
}

func parseFloat(s []byte) (float64, bool) {
	if len(s) == 0 {
		return 0, false
	}
	v, err := strconv.ParseFloat(string(s), 64)
	if err != nil {
		// Python's float("1e999") is inf, not an error.
		if errors.Is(err, strconv.ErrRange) {
			return v, true
		}
		return 0, false
	}
	return v, true
}

// appendEscapeDecoded appends STRING's argument after Python's
// codecs.escape_decode: \\ \' \" \a \b \f \n \r \t \v, octal \ooo, \xhh;
// an unknown escape stays as written.
func appendEscapeDecoded(dst, s []byte) ([]byte, bool) {
	for i := 0; i < len(s); {
		c := s[i]
		i++
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		if i == len(s) {
			return dst, false // "Trailing \ in string"
		}
		c = s[i]
		i++
		switch c {
		case '\n':
		case '\\', '\'', '"':
			dst = append(dst, c)
		case 'a':
			dst = append(dst, '\a')
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'v':
			dst = append(dst, '\v')
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := int(c - '0')
			for k := 0; k < 2 && i < len(s) && s[i] >= '0' && s[i] <= '7'; k++ {
				v = v<<3 | int(s[i]-'0')
				i++
			}
			dst = append(dst, byte(v))
		case 'x':
			if i+2 > len(s) {
				return dst, false
			}
			hi, ok1 := unhex(s[i])
			lo, ok2 := unhex(s[i+1])
			if !ok1 || !ok2 {
				return dst, false
			}
			dst = append(dst, hi<<4|lo)
			i += 2
		default:
			dst = append(dst, '\\')
			i-- // the character after the backslash is read as itself
		}
	}
	return dst, true
}

// appendRawUnicodeDecoded appends UNICODE's argument after Python's
// raw-unicode-escape codec, as UTF-8: bytes are Latin-1 code points, and
// only \uXXXX and \UXXXXXXXX are escapes. A lone surrogate is written as
// Python's surrogatepass would (WTF-8); the Sink's name check refuses it.
func appendRawUnicodeDecoded(dst, s []byte) ([]byte, bool) {
	for i := 0; i < len(s); {
		c := s[i]
		i++
		if c != '\\' || i == len(s) || (s[i] != 'u' && s[i] != 'U') {
			dst = appendLatin1(dst, c)
			if c == '\\' && i < len(s) {
				// "\\" and "\x" for other x are two literal characters.
				dst = appendLatin1(dst, s[i])
				i++
			}
			continue
		}
		count := 4
		if s[i] == 'U' {
			count = 8
		}
		i++
		if i+count > len(s) {
			return dst, false
		}
		var r uint32
		for _, h := range s[i : i+count] {
			v, ok := unhex(h)
			if !ok {
				return dst, false
			}
			r = r<<4 | uint32(v)
		}
		i += count
		if r > utf8.MaxRune {
			return dst, false
		}
		if r >= 0xd800 && r <= 0xdfff {
			dst = append(dst, 0xe0|byte(r>>12), 0x80|byte(r>>6)&0x3f, 0x80|byte(r)&0x3f)
			continue
		}
		dst = utf8.AppendRune(dst, rune(r))
	}
	return dst, true
}

func appendLatin1(dst []byte, c byte) []byte {
	if c < 0x80 {
		return append(dst, c)
	}
	return append(dst, 0xc0|c>>6, 0x80|c&0x3f)
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
