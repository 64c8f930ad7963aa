// Package pickle decodes carbon's pickle receiver protocol (port 2004): length-prefixed
// pickles of [(path, (timestamp, value)), ...], by a whitelist that never executes anything.
package pickle

import (
	"encoding/binary"
	"math"
	"time"
)

// Sink receives decoded points. The storage cache implements it. name is
// valid only during the call; timestamp is in Unix seconds.
type Sink interface {
	Store(name []byte, timestamp int64, value float64)
}

// MaxDepth is the most marks (the MARK opcode) open at once. Carbon's senders
// need three: the APPENDS batch, the entry tuple, the (timestamp, value) tuple.
const MaxDepth = 32

// kind is the type of a decoded object.
type kind uint8

const (
	kindNone    kind = iota
	kindInt          // a<<32|b: int64 bits; bools are 0 and 1
	kindBig          // an int beyond 64 bits: no number we store
	kindFloat        // a<<32|b: float64 bits
	kindText         // frame[a:a+b]: str or bytes as sent
	kindScratch      // Decoder.text[a:a+b]: str or bytes after unescaping
	kindTuple        // items[a:a+b]
	kindList         // segments from segs[a] to segs[b], or empty if a == noIndex
)

// object is one decoded Python object. It is 12 bytes so that a frame's
// worst case (one object per byte) stays a small multiple of the frame.
type object struct {
	a, b uint32
	kind kind
}

// segment is a run of a list's items in Decoder.items. A list grows by one
// segment per APPEND or APPENDS, so lists stay shared (a list memoised and
// referenced twice is the same list, as in Python) and are never copied.
type segment struct {
	start, n uint32
	next     uint32 // index in segs, or noIndex
}

const noIndex = ^uint32(0)

// maxDecodeLength keeps every offset and count within a uint32.
const maxDecodeLength = 1 << 31

// Retained capacity across frames: beyond it an arena is dropped after the
// frame, so one huge frame doesn't pin its memory to an idle decoder.
const (
	retainEntries = 1 << 16
	retainText    = 1 << 18
)

// Decoder decodes pickle frames. Its arenas are reused across frames, so a
// warm Decoder decodes a typical frame without allocating. A Decoder is not
// safe for concurrent use; one per event loop serves all its connections.
type Decoder struct {
	// Now returns the current Unix time in seconds. Carbon stores a point
	// whose timestamp truncates to -1 at the time it was received
	// (carbon issue #54). Nil means time.Now.
	Now func() int64

	stats *Stats
	frame []byte

	objs      []object
	stack     []uint32 // object indices
	marks     []int    // stack lengths at each open MARK
	items     []uint32 // object indices of tuples' and lists' elements
	segs      []segment
	memo      []uint32 // object index + 1 by memo key; 0 is unset
	memoCount int      // set keys: MEMOIZE's key, as len(memo) in Python
	text      []byte   // unescaped protocol 0 strings
}

// NewDecoder returns a Decoder that counts into stats; a nil stats gets a
// Stats of its own.
func NewDecoder(stats *Stats) *Decoder {
	if stats == nil {
		stats = new(Stats)
	}
	return &Decoder{stats: stats}
}

// Stats returns the counters the Decoder updates.
func (d *Decoder) Stats() *Stats { return d.stats }

// Decode decodes one frame (the pickle, without its length prefix) and
// passes its points to sink. A frame the decoder refuses returns an *Error,
// is counted in Stats.BadFrames, and passes nothing to sink. Otherwise bad
// entries are skipped and counted, the others delivered, and Decode returns
// nil.
func (d *Decoder) Decode(frame []byte, sink Sink) error {
	if len(frame) > maxDecodeLength {
		d.stats.BadFrames[CauseTooLarge].Add(1)
		return &Error{Cause: CauseTooLarge}
	}
	d.reset(frame)
	defer d.release()
	result, e := d.run()
	if e.Cause != noCause {
		d.stats.BadFrames[e.Cause].Add(1)
		return &Error{Cause: e.Cause, Offset: e.Offset, Opcode: e.Opcode}
	}
	top := d.objs[result]
	var c counts
	switch top.kind {
	case kindList:
		for s := top.a; s != noIndex; s = d.segs[s].next {
			seg := d.segs[s]
			for _, it := range d.items[seg.start : seg.start+seg.n] {
				d.entry(it, sink, &c)
			}
		}
	case kindTuple:
		for _, it := range d.items[top.a : top.a+top.b] {
			d.entry(it, sink, &c)
		}
	default:
		// Carbon iterates whatever it got: only a list or tuple can hold
		// points (a str yields only bad entries, anything else raises).
		d.stats.BadFrames[CauseMalformed].Add(1)
		return &Error{Cause: CauseMalformed, Offset: e.Offset, Opcode: opStop}
	}
	d.stats.Frames.Add(1)
	if c.points > 0 {
		d.stats.Points.Add(c.points)
	}
	if c.bad > 0 {
		d.stats.BadEntries.Add(c.bad)
	}
	if c.nan > 0 {
		d.stats.NaNValues.Add(c.nan)
	}
	return nil
}

type counts struct{ points, bad, nan uint64 }

// entry delivers item if it is (name, (timestamp, value)), with tuples or
// lists, as carbon's unpacking `(metric, (value, timestamp)) = raw` takes
// any 2-item sequence (carbon's names are swapped; the first number is the
// timestamp).
func (d *Decoder) entry(item uint32, sink Sink, c *counts) {
	name, point, ok := d.pair(item)
	if !ok {
		c.bad++
		return
	}
	nameBytes, ok := d.bytes(name)
	if !ok {
		c.bad++
		return
	}
	tsObj, valObj, ok := d.pair(point)
	if !ok {
		c.bad++
		return
	}
	// carbon: datapoint = (float(value), float(timestamp)); a failing
	// float() skips the entry.
	ts, ok1 := d.number(tsObj)
	value, ok2 := d.number(valObj)
	if !ok1 || !ok2 {
		c.bad++
		return
	}
	// carbon's metricReceived drops NaN values before it looks at the
	// timestamp.
	if value != value {
		c.nan++
		return
	}
	// int(timestamp) in carbon raises on NaN and ±Inf (and aborts the rest
	// of the frame); here only the entry is skipped.
	if !(ts >= -9.223372036854775808e18 && ts < 9.223372036854775808e18) {
		c.bad++
		return
	}
	t := int64(ts) // truncates toward zero, as Python's int()
	if t == -1 {
		t = d.now()
	}
	sink.Store(nameBytes, t, value)
	c.points++
}

func (d *Decoder) now() int64 {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now().Unix()
}

// pair returns the two elements of a 2-tuple or 2-item list.
func (d *Decoder) pair(i uint32) (x, y uint32, ok bool) {
	o := d.objs[i]
	switch o.kind {
	case kindTuple:
		if o.b != 2 {
			return 0, 0, false
		}
		return d.items[o.a], d.items[o.a+1], true
	case kindList:
		var got [2]uint32
		n := 0
		for s := o.a; s != noIndex; s = d.segs[s].next {
			seg := d.segs[s]
			for _, it := range d.items[seg.start : seg.start+seg.n] {
				if n == 2 {
					return 0, 0, false
				}
				got[n] = it
				n++
			}
		}
		return got[0], got[1], n == 2
	}
	return 0, 0, false
}

// bytes returns the content of a str or bytes object.
func (d *Decoder) bytes(i uint32) ([]byte, bool) {
	o := d.objs[i]
	switch o.kind {
	case kindText:
		return d.frame[o.a : o.a+o.b], true
	case kindScratch:
		return d.text[o.a : o.a+o.b], true
	}
	return nil, false
}

// number returns float(x) as carbon computes it: ints, bools and floats,
// and str or bytes that Python's float() parses.
func (d *Decoder) number(i uint32) (float64, bool) {
	o := d.objs[i]
	switch o.kind {
	case kindInt:
		return float64(int64(uint64(o.a)<<32 | uint64(o.b))), true
	case kindFloat:
		return math.Float64frombits(uint64(o.a)<<32 | uint64(o.b)), true
	case kindText, kindScratch:
		b, _ := d.bytes(i)
		return parseFloatText(b)
	}
	// None, containers, and ints beyond 64 bits (carbon would take those;
	// no sender sends them).
	return 0, false
}

func (d *Decoder) reset(frame []byte) {
	d.frame = frame
	d.objs = d.objs[:0]
	d.stack = d.stack[:0]
	d.marks = d.marks[:0]
	d.items = d.items[:0]
	d.segs = d.segs[:0]
	d.memo = d.memo[:0]
	d.memoCount = 0
	d.text = d.text[:0]
}

// release forgets the caller's frame and drops arenas a huge frame grew.
func (d *Decoder) release() {
	d.frame = nil
	if cap(d.objs) > retainEntries {
		d.objs = nil
	}
	if cap(d.stack) > retainEntries {
		d.stack = nil
	}
	if cap(d.items) > retainEntries {
		d.items = nil
	}
	if cap(d.segs) > retainEntries {
		d.segs = nil
	}
	if cap(d.memo) > retainEntries {
		d.memo = nil
	}
	if cap(d.text) > retainText {
		d.text = nil
	}
}

// noCause marks a run without error.
const noCause Cause = 255

type runError struct {
	Cause  Cause
	Offset int
	Opcode byte
}

// run executes the pickle machine over d.frame and returns the index of the
// object STOP popped, and STOP's offset.
func (d *Decoder) run() (uint32, runError) {
	f := d.frame
	p := 0
	base := 0 // stack length at the innermost open mark
	var start int
	var op byte
	fail := func(c Cause) (uint32, runError) {
		return 0, runError{Cause: c, Offset: start, Opcode: op}
	}
	for {
		if p >= len(f) {
			start, op = len(f), 0
			if len(f) > 0 {
				start, op = len(f)-1, f[len(f)-1]
			}
			return fail(CauseTruncated)
		}
		start, op = p, f[p]
		p++
		switch op {
		case opMark:
			if len(d.marks) >= MaxDepth {
				return fail(CauseTooDeep)
			}
			d.marks = append(d.marks, len(d.stack))
			base = len(d.stack)

		case opStop:
			if len(d.stack) <= base {
				return fail(CauseMalformed)
			}
			// Bytes after STOP are ignored, as by Python's Unpickler.load.
			return d.stack[len(d.stack)-1], runError{Cause: noCause, Offset: start}

		case opProto:
			if p >= len(f) {
				return fail(CauseTruncated)
			}
			if f[p] > maxProtocol {
				return fail(CauseMalformed)
			}
			p++

		case opFrame:
			if len(f)-p < 8 {
				return fail(CauseTruncated)
			}
			// A read-ahead hint for file readers: the whole frame is in
			// memory already. Python refuses one longer than what is left.
			if binary.LittleEndian.Uint64(f[p:]) > uint64(len(f)-p-8) {
				return fail(CauseTruncated)
			}
			p += 8

		case opNone:
			d.push(kindNone, 0, 0)
		case opNewTrue:
			d.pushInt(1)
		case opNewFalse:
			d.pushInt(0)

		case opInt, opLong:
			line, next, ok := readLine(f, p)
			if !ok {
				return fail(CauseTruncated)
			}
			p = next
			if op == opLong && len(line) > 0 && line[len(line)-1] == 'L' {
				line = line[:len(line)-1]
			}
			v, big, ok := parseIntText(line, op == opInt, true)
			if !ok {
				return fail(CauseMalformed)
			}
			if big {
				d.push(kindBig, 0, 0)
			} else {
				d.pushInt(v)
			}

		case opBinInt:
			if len(f)-p < 4 {
				return fail(CauseTruncated)
			}
			d.pushInt(int64(int32(binary.LittleEndian.Uint32(f[p:]))))
			p += 4
		case opBinInt1:
			if len(f)-p < 1 {
				return fail(CauseTruncated)
			}
			d.pushInt(int64(f[p]))
			p++
		case opBinInt2:
			if len(f)-p < 2 {
				return fail(CauseTruncated)
			}
			d.pushInt(int64(binary.LittleEndian.Uint16(f[p:])))
			p += 2

		case opLong1, opLong4:
			var n uint64
			if op == opLong1 {
				if len(f)-p < 1 {
					return fail(CauseTruncated)
				}
				n = uint64(f[p])
				p++
			} else {
				if len(f)-p < 4 {
					return fail(CauseTruncated)
				}
				n4 := int32(binary.LittleEndian.Uint32(f[p:]))
				if n4 < 0 {
					return fail(CauseMalformed)
				}
				n = uint64(n4)
				p += 4
			}
			if n > uint64(len(f)-p) {
				return fail(CauseTruncated)
			}
			v, fits := twosComplement(f[p : p+int(n)])
			p += int(n)
			if fits {
				d.pushInt(v)
			} else {
				d.push(kindBig, 0, 0)
			}

		case opFloat:
			line, next, ok := readLine(f, p)
			if !ok {
				return fail(CauseTruncated)
			}
			p = next
			v, ok := parseFloatOpcode(line)
			if !ok {
				return fail(CauseMalformed)
			}
			d.pushFloat(v)
		case opBinFloat:
			if len(f)-p < 8 {
				return fail(CauseTruncated)
			}
			bits := binary.BigEndian.Uint64(f[p:])
			d.push(kindFloat, uint32(bits>>32), uint32(bits))
			p += 8

		case opString:
			line, next, ok := readLine(f, p)
			if !ok {
				return fail(CauseTruncated)
			}
			p = next
			if !d.pushString(line, next-1-len(line)) {
				return fail(CauseMalformed)
			}
		case opUnicode:
			line, next, ok := readLine(f, p)
			if !ok {
				return fail(CauseTruncated)
			}
			p = next
			if !d.pushUnicode(line, next-1-len(line)) {
				return fail(CauseMalformed)
			}

		case opShortBinString, opShortBinBytes, opShortBinUnicode,
			opBinString, opBinBytes, opBinUnicode, opBinUnicode8, opBinBytes8:
			var n uint64
			switch op {
			case opShortBinString, opShortBinBytes, opShortBinUnicode:
				if len(f)-p < 1 {
					return fail(CauseTruncated)
				}
				n = uint64(f[p])
				p++
			case opBinString:
				if len(f)-p < 4 {
					return fail(CauseTruncated)
				}
				n4 := int32(binary.LittleEndian.Uint32(f[p:]))
				if n4 < 0 {
					return fail(CauseMalformed)
				}
				n = uint64(n4)
				p += 4
			case opBinBytes, opBinUnicode:
				if len(f)-p < 4 {
					return fail(CauseTruncated)
				}
				n = uint64(binary.LittleEndian.Uint32(f[p:]))
				p += 4
			default: // opBinUnicode8, opBinBytes8
				if len(f)-p < 8 {
					return fail(CauseTruncated)
				}
				n = binary.LittleEndian.Uint64(f[p:])
				p += 8
			}
			if n > uint64(len(f)-p) {
				return fail(CauseTruncated)
			}
			// Strings stay views into the frame: the name passed to the
			// Sink is the bytes as sent.
			d.push(kindText, uint32(p), uint32(n))
			p += int(n)

		case opEmptyTuple:
			d.push(kindTuple, 0, 0)
		case opTuple1, opTuple2, opTuple3:
			k := int(op-opTuple1) + 1
			if len(d.stack)-base < k {
				return fail(CauseMalformed)
			}
			d.pushSeq(kindTuple, len(d.stack)-k)
		case opTuple, opList:
			if len(d.marks) == 0 {
				return fail(CauseMalformed)
			}
			m := d.popMark()
			base = d.base()
			if op == opTuple {
				d.pushSeq(kindTuple, m)
			} else {
				d.pushSeq(kindList, m)
			}
		case opEmptyList:
			d.push(kindList, noIndex, noIndex)

		case opAppend:
			if len(d.stack)-base < 2 {
				return fail(CauseMalformed)
			}
			list := d.stack[len(d.stack)-2]
			if d.objs[list].kind != kindList {
				return fail(CauseMalformed)
			}
			d.extend(list, len(d.stack)-1)
		case opAppends:
			if len(d.marks) == 0 {
				return fail(CauseMalformed)
			}
			m := d.popMark()
			base = d.base()
			if m-1 < base {
				return fail(CauseMalformed)
			}
			list := d.stack[m-1]
			if d.objs[list].kind != kindList {
				return fail(CauseMalformed)
			}
			d.extend(list, m)

		case opPut, opBinPut, opLongBinPut, opMemoize:
			key := uint64(d.memoCount)
			if op != opMemoize {
				var c Cause
				var ok bool
				if key, p, c, ok = memoKey(f, p, op); !ok {
					return fail(c)
				}
			}
			if len(d.stack) <= base {
				return fail(CauseMalformed)
			}
			// Python's memo is a dict; ours is a slice indexed by key, so
			// a key must be below the frame's length. Picklers number keys
			// from 0 up, one per memoised object of at least two bytes.
			if key >= uint64(len(f)) {
				return fail(CauseLimit)
			}
			d.put(int(key), d.stack[len(d.stack)-1])

		case opGet, opBinGet, opLongBinGet:
			key, next, c, ok := memoKey(f, p, op)
			if !ok {
				return fail(c)
			}
			p = next
			if key >= uint64(len(d.memo)) || d.memo[key] == 0 {
				return fail(CauseMalformed)
			}
			// The same object again, not a copy: a memoised list
			// referenced twice is one list.
			d.pushRef(d.memo[key] - 1)

		default:
			// GLOBAL, STACK_GLOBAL, REDUCE, BUILD, INST, OBJ, NEWOBJ,
			// NEWOBJ_EX, EXT1/2/4, PERSID, BINPERSID, dicts, sets,
			// POP, POP_MARK, DUP, protocol 5 buffers, and non-opcodes.
			return fail(CauseOpcode)
		}
	}
}

func (d *Decoder) push(k kind, a, b uint32) {
	if len(d.objs) == cap(d.objs) {
		d.objs = grow(d.objs, 1)
	}
	d.objs = append(d.objs, object{a: a, b: b, kind: k})
	d.pushRef(uint32(len(d.objs) - 1))
}

func (d *Decoder) pushRef(obj uint32) {
	if len(d.stack) == cap(d.stack) {
		d.stack = grow(d.stack, 1)
	}
	d.stack = append(d.stack, obj)
}

// grow returns s with room for n more elements, doubling its capacity:
// append's growth of a quarter for large slices would allocate about five
// times a worst-case frame's arena in all.
func grow[T any](s []T, n int) []T {
	if cap(s)-len(s) >= n {
		return s
	}
	ns := make([]T, len(s), max(2*cap(s), len(s)+n, 256))
	copy(ns, s)
	return ns
}

// appendItems moves the stack from position from up to the items arena and
// returns where they start.
func (d *Decoder) appendItems(from int) (start, n uint32) {
	start = uint32(len(d.items))
	n = uint32(len(d.stack) - from)
	d.items = append(grow(d.items, int(n)), d.stack[from:]...)
	d.stack = d.stack[:from]
	return start, n
}

func (d *Decoder) newSegment(start, n uint32) uint32 {
	if len(d.segs) == cap(d.segs) {
		d.segs = grow(d.segs, 1)
	}
	d.segs = append(d.segs, segment{start: start, n: n, next: noIndex})
	return uint32(len(d.segs) - 1)
}

func (d *Decoder) pushInt(v int64) {
	d.push(kindInt, uint32(uint64(v)>>32), uint32(v))
}

func (d *Decoder) pushFloat(v float64) {
	bits := math.Float64bits(v)
	d.push(kindFloat, uint32(bits>>32), uint32(bits))
}

// pushSeq replaces the stack from position from up with a tuple or list of
// those items.
func (d *Decoder) pushSeq(k kind, from int) {
	start, n := d.appendItems(from)
	if k == kindTuple {
		d.push(kindTuple, start, n)
		return
	}
	if n == 0 {
		d.push(kindList, noIndex, noIndex)
		return
	}
	s := d.newSegment(start, n)
	d.push(kindList, s, s)
}

// extend appends the stack from position from up to list, and pops them.
func (d *Decoder) extend(list uint32, from int) {
	if len(d.stack) == from {
		return
	}
	s := d.newSegment(d.appendItems(from))
	o := &d.objs[list]
	if o.a == noIndex {
		o.a = s
	} else {
		d.segs[o.b].next = s
	}
	o.b = s
}

func (d *Decoder) popMark() int {
	m := d.marks[len(d.marks)-1]
	d.marks = d.marks[:len(d.marks)-1]
	return m
}

func (d *Decoder) base() int {
	if len(d.marks) == 0 {
		return 0
	}
	return d.marks[len(d.marks)-1]
}

func (d *Decoder) put(key int, obj uint32) {
	if key == len(d.memo) {
		// Picklers number memo keys 0, 1, 2, ...
		if len(d.memo) == cap(d.memo) {
			d.memo = grow(d.memo, 1)
		}
		d.memo = append(d.memo, obj+1)
		d.memoCount++
		return
	}
	if key > len(d.memo) {
		old := len(d.memo)
		d.memo = grow(d.memo, key+1-old)[:key+1]
		clear(d.memo[old:])
	}
	if d.memo[key] == 0 {
		d.memoCount++
	}
	d.memo[key] = obj + 1
}

// pushString pushes a protocol 0 STRING: a quoted argument with Python's
// backslash escapes (codecs.escape_decode). at is the argument's offset.
func (d *Decoder) pushString(arg []byte, at int) bool {
	if len(arg) < 2 || arg[0] != arg[len(arg)-1] || (arg[0] != '\'' && arg[0] != '"') {
		return false
	}
	arg = arg[1 : len(arg)-1]
	if indexByte(arg, '\\') < 0 {
		d.push(kindText, uint32(at+1), uint32(len(arg)))
		return true
	}
	start := len(d.text)
	var ok bool
	d.text, ok = appendEscapeDecoded(d.text, arg)
	if !ok {
		d.text = d.text[:start]
		return false
	}
	d.push(kindScratch, uint32(start), uint32(len(d.text)-start))
	return true
}

// pushUnicode pushes a protocol 0 UNICODE: raw-unicode-escape text, which
// becomes UTF-8.
func (d *Decoder) pushUnicode(arg []byte, at int) bool {
	plain := true
	for _, c := range arg {
		if c >= 0x80 || c == '\\' {
			plain = false
			break
		}
	}
	if plain {
		d.push(kindText, uint32(at), uint32(len(arg)))
		return true
	}
	start := len(d.text)
	var ok bool
	d.text, ok = appendRawUnicodeDecoded(d.text, arg)
	if !ok {
		d.text = d.text[:start]
		return false
	}
	d.push(kindScratch, uint32(start), uint32(len(d.text)-start))
	return true
}

// memoKey reads the memo key of a PUT or GET opcode at f[p:]: a decimal line
// (PUT, GET), one byte (BINPUT, BINGET) or four little-endian bytes
// (LONG_BINPUT, LONG_BINGET). It returns the key and the offset after it, or
// ok false and the Cause when the frame is short or the key malformed.
func memoKey(f []byte, p int, op byte) (key uint64, next int, c Cause, ok bool) {
	switch op {
	case opPut, opGet:
		line, next, ok := readLine(f, p)
		if !ok {
			return 0, p, CauseTruncated, false
		}
		v, big, ok := parseIntText(line, false, false)
		if !ok || big || v < 0 {
			return 0, p, CauseMalformed, false
		}
		return uint64(v), next, 0, true
	case opBinPut, opBinGet:
		if len(f)-p < 1 {
			return 0, p, CauseTruncated, false
		}
		return uint64(f[p]), p + 1, 0, true
	default:
		if len(f)-p < 4 {
			return 0, p, CauseTruncated, false
		}
		return uint64(binary.LittleEndian.Uint32(f[p:])), p + 4, 0, true
	}
}
