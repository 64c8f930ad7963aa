package statsd

import (
	"bytes"
	"math/bits"
	"unicode/utf8"
	"unsafe"

	"statbox/hotpath/carbon"
)

// Type is a statsd metric type, as aggregated: histograms ("h") and
// distributions ("d") are timers.
type Type uint8

// The metric types.
const (
	Counter Type = iota + 1 // "c"
	Gauge                   // "g"
	Timer                   // "ms", "h", "d"
	Set                     // "s"
)

// String is the type's name in the admin interface and in errors.
func (t Type) String() string {
	switch t {
	case Counter:
		return "counter"
	case Gauge:
		return "gauge"
	case Timer:
		return "timer"
	case Set:
		return "set"
	}
	return "unknown"
}

// Metric is one value of one parsed line. Its slices point into the packet or
// the Parser's buffers and are valid only during the Sink call.
type Metric struct {
	// Name is the key after etsy's sanitizing, with DogStatsD tags turned
	// into Graphite tags in carbon's normal form ("name;a=1;b=2", sorted).
	Name []byte
	Type Type
	// Value is the number sent (counters, gauges, timers).
	Value float64
	// Rate is the sample rate, 1 when none was sent.
	Rate float64
	// Delta is set for a gauge sent as "+N" or "-N": added to the gauge's
	// value rather than replacing it.
	Delta bool
	// Member is a set's member, as sent.
	Member []byte
}

// Sink receives the metrics a Parser reads.
type Sink interface {
	Add(m *Metric)
}

// Parser reads statsd packets. It keeps scratch buffers between calls and
// allocates nothing once they have grown; one Parser serves one goroutine.
type Parser struct {
	// Debug, when set, is called with every non-empty line before it is parsed.
	Debug func(line []byte)

	name, tagged []byte
	m            Metric
	pend         [batchLines]pendingLine
}

// Parse reads one packet (a UDP datagram, or complete lines from a TCP
// stream): lines separated by '\n', each "name:value|type[|@rate][|#tags]",
// with more ":value|type" groups allowed after the first. It hands every good
// value to sink and returns the number of non-empty lines seen and of values
// refused, each of which etsy statsd counts in bad_lines_seen.
func (p *Parser) Parse(packet []byte, sink Sink) (lines, bad int) {
	if t, ok := sink.(*table); ok && p.Debug == nil {
		return p.parseTable(packet, t)
	}
	b := packet
	i := 0
	for i < len(b) {
		if b[i] == '\n' {
			i++
			continue
		}
		lines++
		if p.Debug == nil {
			if next, ok := p.fast(b, i, sink); ok {
				i = next
				continue
			}
		}
		line := b[i:]
		if e := bytes.IndexByte(line, '\n'); e >= 0 {
			line = line[:e]
			i += e + 1
		} else {
			i = len(b)
		}
		if p.Debug != nil {
			p.Debug(line)
		}
		bad += p.line(line, sink)
	}
	return lines, bad
}

// plainName marks the bytes a name may hold on the fast path: those etsy's
// sanitizing keeps, but not ';' (Graphite tags).
var plainName = func() (t [256]bool) {
	t = keep
	t[';'] = false
	return t
}()

// fast parses the commonest line, "name:number|c|g|ms|h|d[|@rate]" with a
// plain name and a plain decimal number, in one pass from b[i], and returns
// where the next line starts. Anything else is left to line (ok false),
// which parses the general case.
func (p *Parser) fast(b []byte, i int, sink Sink) (next int, ok bool) {
	pl := &p.pend[0]
	next, ok = pl.scan(b, i, false)
	if !ok {
		return 0, false
	}
	m := &p.m
	m.Name, m.Type, m.Delta, m.Value, m.Rate = b[i:pl.end], pl.typ, pl.delta, pl.value, pl.rate
	sink.Add(m)
	return next, true
}

// scan parses the line at b[i] as fast does, into pl (all but its start
// and next; the hash only when unchecked), and returns where the next line
// starts. With unchecked set the name is taken up to the first ':' as it is,
// for a table, which checks a name only when it is new to it (findHash with
// check): the name may then run past the line's end, and no name in a table
// holds a '\n'.
func (pl *pendingLine) scan(b []byte, i int, unchecked bool) (next int, ok bool) {
	var j int
	if unchecked {
		// The sink checks the name only when it is new to it: a name it
		// holds was checked before.
		var h uint64
		j, h = scanName(b, i)
		if j <= i {
			return 0, false
		}
		pl.hash = h
	} else {
		j = i
		for j < len(b) && plainName[b[j]] {
			j++
		}
		if j == i {
			return 0, false
		}
	}
	if j+2 >= len(b) || b[j] != ':' {
		return 0, false
	}
	// The commonest value, one to seven digits then "|c", "|g", "|ms", "|h"
	// or "|d" and the line's end, read a word at a time where the packet
	// holds the 16 bytes that may take; anything else takes the loop below.
	if j+17 <= len(b) {
		p := unsafe.Pointer(&b[j+1])
		w := load64(p, 0)
		// Less '0', a digit is a byte of 0 to 9. The first byte that is
		// not has its high bit set, or gets it with 0x76 added: any borrow
		// or carry runs up from it, never into the digits below.
		x := w - lsb*'0'
		d := bits.TrailingZeros64((x+lsb*0x76|x)&msb) >> 3
		if d > 0 && d < 8 && byte(w>>(8*d)) == '|' {
			var typ Type
			n := 2 // the type's letter and '\n'
			switch t := load64(p, d+1); {
			case t&0xffff == 'c'|'\n'<<8:
				typ = Counter
			case t&0xffff == 'g'|'\n'<<8:
				typ = Gauge
			case t&0xffffff == 'm'|'s'<<8|'\n'<<16:
				typ, n = Timer, 3
			case t&0xffff == 'h'|'\n'<<8, t&0xffff == 'd'|'\n'<<8:
				typ = Timer
			}
			if typ != 0 {
				// The digits moved to the top of the word, as the last d
				// of eight, and summed in pairs, fours and eights.
				v := x << (64 - 8*d)
				v = (v & (lsb * 0x0f)) * (1 + 10<<8) >> 8
				v = (v & 0x00ff00ff00ff00ff) * (1 + 100<<16) >> 16
				v = (v & 0x0000ffff0000ffff) * (1 + 10000<<32) >> 32
				pl.end, pl.typ, pl.value, pl.rate, pl.delta = j, typ, float64(v), 1, false
				if unchecked {
					pl.hash = hashEnd(pl.hash, j-i, typ)
				}
				return j + 2 + d + n, true
			}
		}
	}
	k := j + 1
	neg := false
	if c := b[k]; c == '-' || c == '+' {
		neg = c == '-'
		k++
	}
	sign := k > j+1
	var mant uint64
	digits, frac := 0, -1
	for ; k < len(b); k++ {
		c := b[k]
		if c-'0' <= 9 {
			mant = mant*10 + uint64(c-'0')
			digits++
		} else if c == '.' && frac < 0 {
			frac = k
		} else {
			break
		}
	}
	if digits == 0 || digits > 15 || k+1 >= len(b) || b[k] != '|' {
		return 0, false
	}
	v := float64(mant)
	if frac >= 0 {
		v /= pow10[k-frac-1]
	}
	if neg {
		v = -v
	}
	k++
	var typ Type
	switch b[k] {
	case 'c':
		typ = Counter
	case 'g':
		typ = Gauge
	case 'h', 'd':
		typ = Timer
	case 'm':
		if k+1 >= len(b) || b[k+1] != 's' {
			return 0, false
		}
		k++
		typ = Timer
	default:
		return 0, false
	}
	k++
	rate := 1.0
	if k < len(b) && b[k] == '|' {
		if k+2 >= len(b) || b[k+1] != '@' {
			return 0, false
		}
		k += 2
		var rm uint64
		rd, rf := 0, -1
		for ; k < len(b); k++ {
			c := b[k]
			if c-'0' <= 9 {
				rm = rm*10 + uint64(c-'0')
				rd++
			} else if c == '.' && rf < 0 {
				rf = k
			} else {
				break
			}
		}
		if rd == 0 || rd > 15 || rm == 0 {
			return 0, false
		}
		rate = float64(rm)
		if rf >= 0 {
			rate /= pow10[k-rf-1]
		}
	}
	if k < len(b) && b[k] != '\n' {
		return 0, false
	}
	if typ == Timer && neg {
		return 0, false
	}
	pl.end, pl.typ, pl.value, pl.rate, pl.delta = j, typ, v, rate, sign && typ == Gauge
	if unchecked {
		pl.hash = hashEnd(pl.hash, j-i, typ)
	}
	return k + 1, true
}

// isPlain reports whether the fast path may take name as it is.
func isPlain(name []byte) bool {
	for _, c := range name {
		if !plainName[c] {
			return false
		}
	}
	return len(name) > 0
}

// line parses one line and returns the number of values refused.
func (p *Parser) line(line []byte, sink Sink) int {
	values := line
	var tags []byte
	// The tags are what follows the first "|#", up to a second one, as etsy
	// splits the line.
	if i := bytes.IndexByte(line, '#'); i > 0 {
		if j := bytes.Index(line[i-1:], tagMark); j >= 0 {
			j += i - 1
			values, tags = line[:j], line[j+2:]
			if k := bytes.Index(tags, tagMark); k >= 0 {
				tags = tags[:k]
			}
		}
	}
	c := bytes.IndexByte(values, ':')
	if c < 0 {
		// etsy reads "name" alone as the value "1" with no type: refused.
		return 1
	}
	name, ok := p.makeName(values[:c], tags)
	values = values[c+1:]
	bad := 0
	for {
		field := values
		k := bytes.IndexByte(values, ':')
		if k >= 0 {
			field, values = values[:k], values[k+1:]
		}
		if !ok || !p.value(field, name, sink) {
			bad++
		}
		if k < 0 {
			return bad
		}
	}
}

var tagMark = []byte("|#")

// value parses "value|type[|@rate]" and hands it to sink.
func (p *Parser) value(field, name []byte, sink Sink) bool {
	i := bytes.IndexByte(field, '|')
	if i < 0 {
		return false
	}
	val, typ := field[:i], field[i+1:]
	m := &p.m
	m.Rate, m.Delta = 1, false
	if j := bytes.IndexByte(typ, '|'); j >= 0 {
		rate := typ[j+1:]
		typ = typ[:j]
		if k := bytes.IndexByte(rate, '|'); k >= 0 {
			rate = rate[:k]
		}
		r, ok := parseRate(rate)
		if !ok {
			return false
		}
		m.Rate = r
	}
	m.Name = name
	switch string(trimJS(typ)) {
	case "c":
		v, ok := parseNumber(val)
		if !ok {
			return false
		}
		m.Type, m.Value = Counter, v
	case "ms", "h", "d":
		v, ok := parseNumber(val)
		if !ok || v < 0 {
			return false
		}
		m.Type, m.Value = Timer, v
	case "g":
		v, ok := parseNumber(val)
		if !ok {
			return false
		}
		m.Type, m.Value = Gauge, v
		m.Delta = val[0] == '+' || val[0] == '-'
	case "s":
		m.Type, m.Member = Set, val
		if len(val) == 0 {
			// etsy inserts the string "0" for an empty member.
			m.Member = zeroMember
		}
	default:
		return false
	}
	sink.Add(m)
	return true
}

var zeroMember = []byte("0")

// parseRate reads "@rate". etsy checks that what follows '@' is a
// non-negative number, then uses the leading run of digits and dots; a rate
// of 0 would make the count infinite and is refused here.
func parseRate(b []byte) (float64, bool) {
	if len(b) < 2 || b[0] != '@' || b[1] == '-' {
		return 0, false
	}
	if _, ok := parseNumber(b[1:]); !ok {
		return 0, false
	}
	n := 1
	for n < len(b) && (b[n] >= '0' && b[n] <= '9' || b[n] == '.') {
		n++
	}
	r, ok := parseNumber(b[1:n])
	if !ok || r <= 0 {
		return 0, false
	}
	return r, true
}

// trimJS trims ASCII whitespace, as String.prototype.trim does for the
// characters a type can hold.
func trimJS(b []byte) []byte {
	for len(b) > 0 && isJSSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isJSSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// keep marks the bytes etsy's sanitizing keeps as they are: [a-zA-Z0-9_.;=-].
var keep = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "_-.;=" {
		t[c] = true
	}
	return t
}()

// makeName builds the metric's name from the raw key and the DogStatsD tags.
// It returns false for a name that is empty or whose tags carbon would refuse.
func (p *Parser) makeName(raw, tags []byte) ([]byte, bool) {
	if len(tags) == 0 {
		plain := len(raw) > 0
		for _, c := range raw {
			if !keep[c] || c == ';' {
				plain = false
				break
			}
		}
		if plain {
			return raw, true
		}
	}
	n := appendSanitized(p.name[:0], raw)
	if len(n) == 0 || n[0] == ';' {
		p.name = n
		return nil, false
	}
	for len(tags) > 0 {
		tag := tags
		if i := bytes.IndexByte(tags, ','); i >= 0 {
			tag, tags = tags[:i], tags[i+1:]
		} else {
			tags = nil
		}
		// etsy turns the first ';' of a tag into '_' and its first ':'
		// into '='. A tag without a value has no Graphite form and is left
		// out, as is one with an empty key or value.
		start := len(n)
		n = append(n, ';')
		semi, colon := false, false
		for len(tag) > 0 {
			c := tag[0]
			if c == ';' && !semi {
				semi = true
				n = append(n, '_')
				tag = tag[1:]
				continue
			}
			if c == ':' && !colon {
				colon = true
				n = append(n, '=')
				tag = tag[1:]
				continue
			}
			j := 1
			for j < len(tag) && tag[j] != ';' && tag[j] != ':' {
				j++
			}
			n = appendSanitized(n, tag[:j])
			tag = tag[j:]
		}
		eq := bytes.IndexByte(n[start:], '=')
		if eq <= 1 || start+eq == len(n)-1 {
			n = n[:start]
		}
	}
	p.name = n
	if bytes.IndexByte(n, ';') < 0 {
		return n, true
	}
	t, err := carbon.AppendName(p.tagged[:0], n)
	if err != nil {
		return nil, false
	}
	p.tagged = t
	return t, true
}

// appendSanitized appends src as etsy statsd's sanitizeKeyName leaves it:
// each run of whitespace becomes '_', '/' becomes '-', and every character
// but [a-zA-Z0-9_.;=-] is removed. Whitespace is JavaScript's \s, Unicode
// included; bytes that are not UTF-8 are removed as the U+FFFD they decode to.
func appendSanitized(dst, src []byte) []byte {
	space := false
	for i := 0; i < len(src); {
		c := src[i]
		if c < utf8.RuneSelf {
			i++
			if isJSSpace(c) {
				if !space {
					dst = append(dst, '_')
					space = true
				}
				continue
			}
			space = false
			if c == '/' {
				dst = append(dst, '-')
			} else if keep[c] {
				dst = append(dst, c)
			}
			continue
		}
		r, size := utf8.DecodeRune(src[i:])
		i += size
		if isJSSpaceRune(r) {
			if !space {
				dst = append(dst, '_')
				space = true
			}
			continue
		}
		space = false
	}
	return dst
}

// isJSSpaceRune reports whether the non-ASCII rune r is in JavaScript's \s.
func isJSSpaceRune(r rune) bool {
	switch {
	case r == 0xa0, r == 0x1680, r >= 0x2000 && r <= 0x200a, r == 0x2028, r == 0x2029,
		r == 0x202f, r == 0x205f, r == 0x3000, r == 0xfeff:
		return true
	}
	return false
}
