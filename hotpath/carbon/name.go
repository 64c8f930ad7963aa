package carbon

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"slices"
	"unicode/utf8"
)

// Byte classes of the line scanner. Class 0 is an ordinary name byte.
const (
	kSpace = 1 + iota // Python whitespace: ends a field
	kCtrl             // other C0 control byte, or DEL
	kDot              // segment separator
	kSlash            // path separator: never in a path segment
	kSemi             // starts the tags
	kBrace            // may start OpenMetrics tags
	kHigh             // first byte of a UTF-8 sequence (or garbage)
)

// class maps each byte to its scanner class.
var class = func() (t [256]uint8) {
	for c := range 0x20 {
		t[c] = kCtrl
	}
	t[0x7f] = kCtrl
	// The ASCII characters Python's str.split() and str.strip() treat as whitespace.
	for _, c := range []byte{'\t', '\n', '\v', '\f', '\r', 0x1c, 0x1d, 0x1e, 0x1f, ' '} {
		t[c] = kSpace
	}
	t['.'] = kDot
	t['/'] = kSlash
	t[';'] = kSemi
	t['{'] = kBrace
	for c := 0x80; c < 0x100; c++ {
		t[c] = kHigh
	}
	return t
}()

// isSpaceRune reports whether the non-ASCII rune r is whitespace to Python 3's
// str.split(): Py_UNICODE_ISSPACE, which equals Go's unicode.IsSpace above
// U+007F (TestPythonWhitespace checks both sets against /usr/bin/python3).
func isSpaceRune(r rune) bool {
	switch {
	case r == 0x85, r == 0xa0, r == 0x1680, r >= 0x2000 && r <= 0x200a,
		r == 0x2028, r == 0x2029, r == 0x202f, r == 0x205f, r == 0x3000:
		return true
	}
	return false
}

// skipSpace returns the index of the first byte at or after i that does not
// start Python whitespace.
func skipSpace(b []byte, i int) int {
	for i < len(b) {
		c := b[i]
		if c < utf8.RuneSelf {
			if class[c] != kSpace {
				return i
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if !isSpaceRune(r) {
			return i
		}
		i += size
	}
	return i
}

// fieldEnd returns the index of the first byte at or after i that starts
// Python whitespace, or len(b).
func fieldEnd(b []byte, i int) int {
	for i < len(b) {
		c := b[i]
		if c < utf8.RuneSelf {
			if class[c] == kSpace {
				return i
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if isSpaceRune(r) {
			return i
		}
		i += size
	}
	return i
}

// Flags that scanName reports about a name.
const (
	nameUnsafe = 1 << iota // breaks a safety rule
	nameTagged             // has ';'
	nameBrace              // has '{'
	nameTilde              // starts with '~'
)

// scanName scans the name field starting at b[i] up to the first Python
// whitespace, returning where it ends and what it holds. It applies the
// safety rules of CheckName except the length cap: no control characters
// (C0, DEL, C1) or invalid UTF-8 anywhere; before the first ';' (the part that
// becomes a path) no '/', no empty segment and no segment over
// MaxSegmentLength bytes, the last one of an untagged name 4 bytes less for
// its ".wsp".
func scanName(b []byte, start int) (end int, flags int) {
	b = b[start:]
	i := 0
	if len(b) > 0 && b[0] == '~' {
		flags |= nameTilde
	}
	seg := 0     // start of the current segment
	path := true // still before the first ';'
	for {
		// Eight bytes at a time while they are ordinary bytes and dots: a
		// name of a few segments then costs a few words, not a branch per
		// byte and a mispredicted one per dot. The word holding whatever
		// else comes (the space that ends the name, at the latest) is left to
		// the byte loop below.
		var bad bool
		i, seg, bad = scanWords(b, i, seg, path)
		if bad {
			flags |= nameUnsafe
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

// lsb has the lowest bit of each byte of a word set; lsb*c is c in every byte.
const lsb uint64 = 0x0101010101010101

const (
	msb  = lsb * 0x80 // the highest bit of each byte
	low7 = lsb * 0x7f // the other seven
)

// zeroBytes has the high bit set of exactly the bytes of x that are zero: no
// carry crosses a byte, as each byte's sum is at most 0xfe.
func zeroBytes(x uint64) uint64 { return ^((x&low7 + low7) | x) & msb }

// plainWord reports whether each of the 8 bytes of x is of class 0 or a
// '.': none is below '!' (space and control bytes), DEL or above (C1,
// UTF-8), '/', ';' or '{'. A word with a byte from 0x80 up may also be
// reported not plain for a byte that is, which only sends it to the byte loop.
func plainWord(x uint64) bool {
	// Below 0x21: (x - lsb*0x21) &^ x, exact while no byte has its high bit
	// set; 0x7f: x + lsb, exact on the same condition; 0x80 up: x itself.
	other := (x-lsb*0x21)&^x | (x + lsb) | x
	t := x ^ lsb*'/'
	other |= (t - lsb) &^ t
	t = x ^ lsb*';'
	other |= (t - lsb) &^ t
	t = x ^ lsb*'{'
	other |= (t - lsb) &^ t
	return other&msb == 0
}

// scanWords scans b from i eight bytes at a time, up to the first word that
// is not plain, checking the segments its dots end when path is set: seg is
// where the current segment began. It returns where it stopped, where the
// segment then began, and whether a segment was empty or too long. A
// function of its own, so that its loop keeps everything in registers.
func scanWords(b []byte, i, seg int, path bool) (int, int, bool) {
	bad := false
	for i+8 <= len(b) {
		x := binary.LittleEndian.Uint64(b[i:])
		if !plainWord(x) {
			break
		}
		if d := zeroBytes(x ^ lsb*'.'); d != 0 && path {
			// The segments between the word's dots are shorter than
			// MaxSegmentLength; one is empty where two dots are neighbours.
			// Only the first dot can end a long segment, or an empty one
			// that began before the word.
			dot := i + bits.TrailingZeros64(d)>>3
			if n := dot - seg; n == 0 || n > MaxSegmentLength || d&(d>>8) != 0 {
				bad = true
			}
			seg = i + (63-bits.LeadingZeros64(d))>>3 + 1
		}
		i += 8
	}
	return i, seg, bad
}

// CheckName reports whether name, already normalised, is safe to store: at
// most MaxNameLength bytes of valid UTF-8 without whitespace or control
// characters, whose metric part (before any ';') has no '/' and only non-empty
// segments that fit a file name. It returns nil or ErrBadName. Tag values may
// hold '/' and '..': a tagged series' file is named by its hash.
func CheckName(name []byte) error {
	if len(name) == 0 || len(name) > MaxNameLength {
		return ErrBadName
	}
	end, flags := scanName(name, 0)
	if end != len(name) || flags&nameUnsafe != 0 {
		return ErrBadName
	}
	return nil
}

// needsNormalising reports whether carbon's TaggedSeries.parse(name).path may
// differ from name, from scanName's flags.
func needsNormalising(flags int) bool {
	return flags&(nameTagged|nameBrace|nameTilde) != 0
}

// AppendName appends to dst the name under which carbon 1.1 stores the metric
// it received as name, and returns it with nil, or dst unchanged with ErrBadName
// or ErrBadTags. The name is normalised by AppendNormalized; where carbon fails to
// normalise a name it stores it unchanged, and so does AppendName if the name
// has no ';' (a name of tildes only, or a malformed OpenMetrics name: carbon
// files those as ordinary paths), while a malformed tagged name is ErrBadTags
// (carbon would store it under a hash that no tag query ever computes).
// The result is then checked by CheckName, whose ErrBadName AppendName returns.
func AppendName(dst, name []byte) ([]byte, error) {
	if len(name) > MaxNameLength {
		return dst, ErrBadName
	}
	base := len(dst)
	out, err := AppendNormalized(dst, name)
	if err != nil {
		if bytes.IndexByte(name, ';') >= 0 {
			return dst[:base], ErrBadTags
		}
		out = append(dst[:base], name...)
	}
	if err := CheckName(out[base:]); err != nil {
		return out[:base], err
	}
	return out, nil
}

// tagSpan locates "key=value" at src[start:end], with '=' at src[eq].
type tagSpan struct{ start, eq, end int }

// AppendNormalized appends carbon 1.1.7's normal form of a metric name,
// TaggedSeries.parse(name).path from lib/carbon/util.py, and returns it with
// nil, or returns dst unchanged with ErrBadTags where carbon's parser raises.
// Leading '~' are stripped from the metric; tags (`name;k=v;...` or
// OpenMetrics `name{k="v",...}`) are de-duplicated with the last value
// winning, the tag "name" is dropped, and the rest are sorted by their
// ";k=v" strings. A tag may not be empty or hold any of ";!^="; a value may
// not be empty, hold ';' or start with '~'.
// Unlike carbon, an OpenMetrics metric holding ';' is ErrBadTags: carbon would
// store "a;x=y{b=\"c\"}" as "a;x=y;b=c", a name that is not in normal form.
func AppendNormalized(dst, name []byte) ([]byte, error) {
	base := len(dst)
	var spans [32]tagSpan
	tags := spans[:0]
	var metric, src []byte
	if n := len(name); n >= 2 && name[n-2] == '"' && name[n-1] == '}' && bytes.IndexByte(name, '{') >= 0 {
		// parse_openmetrics: the unescaped "k=v" pairs go to dst after base,
		// from where the normal form is written after them, then moved down.
		body := name[:n-1]
		brace := bytes.IndexByte(body, '{')
		metric = body[:brace]
		raw := body[brace+1:]
		if len(metric) == 0 || bytes.IndexByte(raw, '{') >= 0 || bytes.IndexByte(metric, ';') >= 0 {
			return dst, ErrBadTags
		}
		for len(raw) > 0 {
			// ([^=]+)="((?:[\\]["\\]|[^"\\])+)"(:?,|$)
			eq := bytes.IndexByte(raw, '=')
			if eq <= 0 || eq+1 >= len(raw) || raw[eq+1] != '"' {
				return dst[:base], ErrBadTags
			}
			start := len(dst)
			dst = append(dst, raw[:eq+1]...)
			j := eq + 2
			for j < len(raw) && raw[j] != '"' {
				c := raw[j]
				if c == '\\' {
					if j+1 == len(raw) || (raw[j+1] != '"' && raw[j+1] != '\\') {
						return dst[:base], ErrBadTags
					}
					c = raw[j+1]
					j++
				}
				dst = append(dst, c)
				j++
			}
			if j == len(raw) || len(dst) == start+eq+1 {
				return dst[:base], ErrBadTags
			}
			j++ // the closing quote
			switch {
			case j == len(raw):
			case raw[j] == ',':
				j++
			case raw[j] == ':' && j+1 < len(raw) && raw[j+1] == ',':
				j += 2
			default:
				return dst[:base], ErrBadTags
			}
			raw = raw[j:]
			tags = append(tags, tagSpan{start, start + eq, len(dst)})
		}
		src = dst
	} else {
		// parse_carbon
		metric = name
		semi := bytes.IndexByte(name, ';')
		if semi >= 0 {
			metric = name[:semi]
			if len(metric) == 0 {
				return dst, ErrBadTags
			}
			for i := semi + 1; ; {
				end := bytes.IndexByte(name[i:], ';')
				if end < 0 {
					end = len(name)
				} else {
					end += i
				}
				eq := bytes.IndexByte(name[i:end], '=')
				if eq <= 0 {
					return dst, ErrBadTags
				}
				tags = append(tags, tagSpan{i, i + eq, end})
				if end == len(name) {
					break
				}
				i = end + 1
			}
		}
		src = name
	}
	// sanitize_name_as_tag_value
	for len(metric) > 0 && metric[0] == '~' {
		metric = metric[1:]
	}
	if len(metric) == 0 {
		return dst[:base], ErrBadTags
	}
	for _, t := range tags {
		if !validTag(src[t.start:t.eq], src[t.eq+1:t.end]) {
			return dst[:base], ErrBadTags
		}
	}
	// format() sorts the strings ";k=v" once the last value of each key has
	// won. Keys hold no '=', so ordering by "k=" orders unique keys as ";k=v"
	// does: sort stably by "k=", then keep the last of each run of equal keys.
	sortTags(tags, src)
	n := 0
	for i, t := range tags {
		if i+1 < len(tags) && bytes.Equal(src[t.start:t.eq], src[tags[i+1].start:tags[i+1].eq]) {
			continue
		}
		if string(src[t.start:t.eq]) == "name" {
			continue
		}
		tags[n] = t
		n++
	}
	tags = tags[:n]
	out := len(dst)
	dst = append(dst, metric...)
	for _, t := range tags {
		dst = append(dst, ';')
		dst = append(dst, src[t.start:t.end]...)
	}
	if out != base {
		// OpenMetrics: move the normal form down over the unescaped pairs.
		dst = dst[:base+copy(dst[base:], dst[out:])]
	}
	return dst, nil
}

// sortTags sorts tags stably by their "key=" in src: by insertion for the
// usual handful, which compares without indirect calls.
func sortTags(tags []tagSpan, src []byte) {
	if len(tags) > 16 {
		slices.SortStableFunc(tags, func(a, b tagSpan) int {
			return bytes.Compare(src[a.start:a.eq+1], src[b.start:b.eq+1])
		})
		return
	}
	for i := 1; i < len(tags); i++ {
		t := tags[i]
		j := i
		for j > 0 && bytes.Compare(src[t.start:t.eq+1], src[tags[j-1].start:tags[j-1].eq+1]) < 0 {
			tags[j] = tags[j-1]
			j--
		}
		tags[j] = t
	}
}

// validTag is TaggedSeries.validateTagAndValue.
func validTag(tag, value []byte) bool {
	if len(tag) == 0 || len(value) == 0 || value[0] == '~' {
		return false
	}
	if bytes.IndexByte(value, ';') >= 0 {
		return false
	}
	for _, c := range tag {
		switch c {
		case ';', '!', '^', '=':
			return false
		}
	}
	return true
}
