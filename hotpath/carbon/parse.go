package carbon

import (
	"encoding/binary"
	"math/bits"
	"time"
)

// Parser turns carbon plaintext lines into points for a Sink, counting what it
// drops in a Stats. It is not safe for concurrent use: give each goroutine its
// own (Streams driven from one goroutine may share one). It keeps its counts
// locally while it works through a buffer and adds them to the Stats at Flush.
type Parser struct {
	// Now returns the current Unix time in seconds, the timestamp of points
	// sent with timestamp -1. Nil means the system clock.
	Now func() int64

	sink    Sink
	flusher Flusher // sink, when it batches
	stats   *Stats
	pending [nCounters]uint64
	name    []byte // the normalised name of a tagged metric
	num     []byte // rewritten number literals
}

// NewParser returns a Parser that hands points to sink and counts into stats.
func NewParser(sink Sink, stats *Stats) *Parser {
	f, _ := sink.(Flusher)
	return &Parser{sink: sink, flusher: f, stats: stats}
}

// ParseLine parses one line (without its '\n'; a '\r' or other whitespace around
// it is ignored), hands the point to the Sink and returns nil, or drops the line,
// counts it and returns why: ErrBadFields, ErrBadValue, ErrBadTimestamp,
// ErrBadName, ErrBadTags or ErrNaNValue. A line is `name value timestamp`
// separated by runs of whitespace, as carbon's line.strip().split() reads it.
// The counts reach the Stats at the next Flush.
func (p *Parser) ParseLine(line []byte) error {
	return p.line(line)
}

// Packet parses one UDP datagram as carbon's MetricDatagramReceiver does: it
// is split into lines by Python's str.splitlines(), so the last line needs no
// newline, and besides "\n" and "\r\n" a lone '\r', '\v', '\f', 0x1c-0x1e,
// U+0085, U+2028 and U+2029 end a line.
func (p *Parser) Packet(b []byte) {
	for len(b) > 0 {
		i, n := printable(b), 0
		for i < len(b) {
			if lineBreak[b[i]] {
				if n = breakLen(b[i:]); n > 0 {
					break
				}
			}
			i++
			i += printable(b[i:])
		}
		p.line(b[:i])
		b = b[i+n:]
	}
	p.Flush()
}

// printable returns the length of the run of printable ASCII bytes
// (0x20-0x7f) that b starts with, eight bytes at a time.
func printable(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		// High bit of each byte below 0x20 or from 0x80 up; the lowest is exact.
		if m := ((x-0x2020202020202020)&^x | x) & 0x8080808080808080; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(b) && b[i] >= 0x20 && b[i] < 0x80; i++ {
	}
	return i
}

// lineBreak marks the bytes that may start a line break of str.splitlines().
var lineBreak = func() (t [256]bool) {
	for _, c := range []byte{'\n', '\v', '\f', '\r', 0x1c, 0x1d, 0x1e, 0xc2, 0xe2} {
		t[c] = true
	}
	return t
}()

// breakLen returns the length of the line break b starts with, or 0.
func breakLen(b []byte) int {
	switch b[0] {
	case '\r':
		if len(b) > 1 && b[1] == '\n' {
			return 2
		}
		return 1
	case 0xc2: // U+0085 NEXT LINE
		if len(b) > 1 && b[1] == 0x85 {
			return 2
		}
		return 0
	case 0xe2: // U+2028 LINE SEPARATOR, U+2029 PARAGRAPH SEPARATOR
		if len(b) > 2 && b[1] == 0x80 && (b[2] == 0xa8 || b[2] == 0xa9) {
			return 3
		}
		return 0
	}
	return 1
}

// Flush adds the counts the Parser has kept since the last Flush to its
// Stats, and flushes the sink when it is a Flusher. Stream.Feed, Stream.Close
// and Packet flush when they return; a caller of ParseLine flushes when it is
// done with a buffer. Counting locally keeps atomic operations out of the
// per-line work.
func (p *Parser) Flush() {
	if p.flusher != nil {
		p.flusher.Flush()
	}
	for c, n := range p.pending {
		if n != 0 {
			p.stats.counter(counter(c)).Add(n)
			p.pending[c] = 0
		}
	}
}

func (p *Parser) drop(err error) error {
	p.pending[errCounter(err)]++
	return err
}

// line parses one line and counts the outcome in p.pending. The checks run
// in carbon's order where it matters for the count: the field count first
// (str.split() before anything else), a NaN value before the timestamp is
// converted to an integer (metricReceived), the name last (carbon has no
// name rules).
func (p *Parser) line(line []byte) error {
	ns := 0
	if len(line) == 0 || class[line[0]] != 0 {
		ns = skipSpace(line, 0)
	}
	ne, flags := scanName(line, ns)
	// skipSpace, inlined by hand for the common single ' '.
	vs := ne + 1
	if vs >= len(line) || line[ne] != ' ' || class[line[vs]] != 0 {
		vs = skipSpace(line, ne)
	}
	// The value and the timestamp are read in place when they are plain ASCII
	// numbers followed by ASCII whitespace or the end of the line; otherwise
	// the field is delimited first and read in full.
	v, ve, vok := scanDecimal(line, vs)
	if !vok || !endsField(line, ve) {
		ve = fieldEnd(line, vs)
		v, vok = parseFloat(line[vs:ve], &p.num)
	}
	ts := ve + 1
	if ts >= len(line) || line[ve] != ' ' || class[line[ts]] != 0 {
		ts = skipSpace(line, ve)
	}
	t, te, tok := scanInt(line, ts)
	tIsFloat := false
	var tf float64
	if !tok || !endsField(line, te) {
		te = fieldEnd(line, ts)
		t, tf, tIsFloat, tok = parseTimestamp(line[ts:te], &p.num)
	}
	if ns == ne || vs == ve || ts == te || (te != len(line) && skipSpace(line, te) != len(line)) {
		return p.drop(ErrBadFields)
	}
	if !tok {
		return p.drop(ErrBadTimestamp)
	}
	if !vok {
		return p.drop(ErrBadValue)
	}
	if v != v {
		return p.drop(ErrNaNValue)
	}
	if tIsFloat {
		if t, tok = truncTimestamp(tf); !tok {
			return p.drop(ErrBadTimestamp)
		}
	}
	if t == -1 {
		// Use the current time if none given: https://github.com/graphite-project/carbon/issues/54
		t = p.now()
	}
	name := line[ns:ne]
	if needsNormalising(flags) {
		var err error
		if p.name, err = AppendName(p.name[:0], name); err != nil {
			return p.drop(err)
		}
		name = p.name
	} else if flags&nameUnsafe != 0 || len(name) > MaxNameLength {
		return p.drop(ErrBadName)
	}
	p.sink.Store(name, t, v)
	p.pending[cPoints]++
	return nil
}

// endsField reports whether a field ends at b[i]: at the end of the line or
// at ASCII whitespace. (A field may also end at non-ASCII whitespace; callers
// then take the slow path, which finds it.)
func endsField(b []byte, i int) bool {
	return i == len(b) || class[b[i]] == kSpace
}

func (p *Parser) now() int64 {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now().Unix()
}
