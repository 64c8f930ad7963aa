package carbon

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzScanName checks scanName, which reads eight bytes at a time, against
// scanNameBytewise, the byte-at-a-time scanner it replaced: the same end and
// flags for any input and any start.
func FuzzScanName(f *testing.F) {
	seg := func(n int) string { return strings.Repeat("s", n) }
	for _, s := range []string{
		"", "a", ".", "..", "a.b", "servers.web01.cpu.total.user 12.5 1700000000",
		"1234567.9", "12345678.", ".2345678", "1234567..abcdefgh", "abcdefg.h.ijklmn.",
		"abcdefgh........", "a.b.c.d.e.f.g.h.i", "abcdefghijklmnop qrst",
		seg(255) + ".x", seg(256) + ".x", "x." + seg(251), "x." + seg(252), "x." + seg(255) + ";a=b",
		"x." + seg(256) + ";a=b", seg(250) + "." + seg(255) + "." + seg(256),
		"abcdefg/hijklmno", "abcdefgh;ij=klmn.o.p", "abc{d=\"e\"}.fghij", "~abcdefghij.klm",
		"abcdefg\x7fhijklmnop", "abcdefgh\x01ijklmno", "abcdefg\u00a0hijklmno", "abcdefg\u0085hijkl",
		"abcdefg\xe2\x80\xa8hijk", "abcdefg\xffhijklmnop", "abcdefgh\tij", "abcdefghi\rj\n",
		"abcdefg!hijklm~", "!\"#$%&'()*+,-.:<=>?@[\\]^_`|}~ end",
	} {
		f.Add([]byte(s), 0)
		f.Add([]byte("  "+s), 2)
	}
	f.Fuzz(func(t *testing.T, b []byte, start int) {
		if start < 0 || start > len(b) {
			start = 0
		}
		end, flags := scanName(b, start)
		wantEnd, wantFlags := scanNameBytewise(b, start)
		if end != wantEnd || flags != wantFlags {
			t.Fatalf("scanName(%q, %d) = %d, %b; byte by byte %d, %b", b, start, end, flags, wantEnd, wantFlags)
		}
	})
}

// TestPlainWord checks plainWord against the byte classes for every byte in
// every position of a word of ordinary bytes, and for the dots zeroBytes finds.
func TestPlainWord(t *testing.T) {
	base := []byte("abcdefgh")
	for pos := range 8 {
		for c := range 256 {
			w := bytes.Clone(base)
			w[pos] = byte(c)
			x := uint64(0)
			for i := 7; i >= 0; i-- {
				x = x<<8 | uint64(w[i])
			}
			want := class[c] == 0 || c == '.'
			if got := plainWord(x); got != want {
				t.Errorf("plainWord(%q) = %v, want %v", w, got, want)
			}
			dots := zeroBytes(x ^ lsb*'.')
			if wantDots := c == '.'; (dots != 0) != wantDots || (wantDots && dots != 0x80<<(8*pos)) {
				t.Errorf("zeroBytes of %q ^ dots = %#x", w, dots)
			}
		}
	}
}

// scanNameBytewise is scanName as it was before it read words, kept as the
// reference FuzzScanName checks it against.
func scanNameBytewise(b []byte, start int) (end int, flags int) {
	b = b[start:]
	i := 0
	if len(b) > 0 && b[0] == '~' {
		flags |= nameTilde
	}
	seg := 0     // start of the current segment
	path := true // still before the first ';'
	for {
		for i+4 <= len(b) && class[b[i]]|class[b[i+1]]|class[b[i+2]]|class[b[i+3]] == 0 {
			i += 4
		}
		for i < len(b) && class[b[i]] == 0 {
			i++
		}
		if i >= len(b) {
			break
		}
		c := b[i]
		if c == '.' && path {
			if n := i - seg; n == 0 || n > MaxSegmentLength {
				flags |= nameUnsafe
			}
			seg = i + 1
			i++
			continue
		}
		switch class[c] {
		case kSpace:
			goto done
		case kDot:
			// in the tags: an ordinary byte
		case kSemi:
			if path {
				if n := i - seg; n == 0 || n > MaxSegmentLength {
					flags |= nameUnsafe
				}
				path = false
				flags |= nameTagged
			}
		case kSlash:
			if path {
				flags |= nameUnsafe
			}
		case kBrace:
			flags |= nameBrace
		case kCtrl:
			flags |= nameUnsafe
		case kHigh:
			r, size := utf8.DecodeRune(b[i:])
			if size == 1 {
				flags |= nameUnsafe // invalid UTF-8
			} else if isSpaceRune(r) {
				goto done
			} else if r < 0xa0 {
				flags |= nameUnsafe // C1 control
			}
			i += size
			continue
		}
		i++
	}
done:
	if path {
		if n := i - seg; n == 0 || n > MaxSegmentLength-len(".wsp") {
			flags |= nameUnsafe
		}
	}
	return start + i, flags
}
