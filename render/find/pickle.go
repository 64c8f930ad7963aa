package find

import (
	"encoding/binary"
	"math"
)

// pickleNodes writes what graphite-web's pickle_nodes writes for a cluster
// peer: a list of dicts {'path': str, 'is_leaf': bool} with, for a leaf,
// 'intervals': a graphite.intervals.IntervalSet of one Interval. It is
// pickle protocol 2, which every Python 3 unpickler reads; the two classes
// are the ones graphite-web's SafeUnpickler allows.
func (h *Handler) pickleNodes(ms []match) []byte {
	b := []byte{0x80, 2, ']'} // PROTO 2, EMPTY_LIST
	if len(ms) > 0 {
		b = append(b, '(') // MARK
	}
	for _, m := range ms {
		b = append(b, '}', '(') // EMPTY_DICT, MARK
		b = pickleStr(b, "path")
		b = pickleStr(b, m.path)
		b = pickleStr(b, "is_leaf")
		if m.leaf {
			b = append(b, 0x88) // NEWTRUE
			b = pickleStr(b, "intervals")
			b = pickleObj(b, "IntervalSet")
			b = append(b, '}', '(')
			b = pickleStr(b, "intervals")
			b = append(b, ']')
			size := 0.0
			if s, e, ok := h.intervals(m.path); ok {
				size = e - s
				b = pickleObj(b, "Interval")
				b = append(b, '}', '(')
				b = pickleStr(b, "start")
				b = pickleFloat(b, s)
				b = pickleStr(b, "end")
				b = pickleFloat(b, e)
				b = pickleStr(b, "tuple")
				b = pickleFloat(b, s)
				b = pickleFloat(b, e)
				b = append(b, 0x86) // TUPLE2
				b = pickleStr(b, "size")
				b = pickleFloat(b, size)
				b = append(b, 'u', 'b', 'a') // SETITEMS, BUILD, APPEND
			}
			b = pickleStr(b, "size")
			if size == 0 {
				b = append(b, 'K', 0) // sum() of nothing is the int 0
			} else {
				b = pickleFloat(b, size)
			}
			b = append(b, 'u', 'b') // SETITEMS, BUILD
		} else {
			b = append(b, 0x89) // NEWFALSE
		}
		b = append(b, 'u') // SETITEMS
	}
	if len(ms) > 0 {
		b = append(b, 'e') // APPENDS
	}
	return append(b, '.') // STOP
}

// pickleObj pushes graphite.intervals.<class>() made without arguments.
func pickleObj(b []byte, class string) []byte {
	b = append(b, 'c')
	b = append(b, "graphite.intervals\n"...)
	b = append(b, class...)
	return append(b, '\n', ')', 0x81) // EMPTY_TUPLE, NEWOBJ
}

// pickleStr pushes a str (BINUNICODE: length, UTF-8).
func pickleStr(b []byte, s string) []byte {
	b = append(b, 'X')
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// pickleFloat pushes a float (BINFLOAT: big-endian IEEE 754).
func pickleFloat(b []byte, v float64) []byte {
	b = append(b, 'G')
	return binary.BigEndian.AppendUint64(b, math.Float64bits(v))
}
