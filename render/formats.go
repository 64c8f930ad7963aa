package render

import (
	"encoding/binary"
	"math"
	"strconv"
	"strings"
	"time"

	"statbox/render/pyfmt"
)

// appendCSV writes graphite-web's csv: name, local time, value per row, an
// empty field for null, rows ended by CRLF as Python's csv module does.
func appendCSV(dst []byte, out []*Series, loc *time.Location) []byte {
	for _, s := range out {
		for i, v := range s.Points() {
			t := time.Unix(s.Start+int64(i)*s.Step*int64(max(s.ValuesPerPoint, 1)), 0).In(loc)
			dst = appendCSVField(dst, s.Name)
			dst = append(dst, ',')
			dst = t.AppendFormat(dst, "2006-01-02 15:04:05")
			dst = append(dst, ',')
			if !math.IsNaN(v) {
				dst = appendPyStr(dst, v)
			}
			dst = append(dst, '\r', '\n')
		}
	}
	return dst
}

func appendCSVField(dst []byte, f string) []byte {
	if !strings.ContainsAny(f, ",\"\r\n") {
		return append(dst, f...)
	}
	return append(append(append(dst, '"'), strings.ReplaceAll(f, `"`, `""`)...), '"')
}

// appendPyStr is Python's str() of a float, "inf" for infinity.
func appendPyStr(dst []byte, v float64) []byte { return pyfmt.AppendFloatRepr(dst, v) }

// appendRaw writes graphite-web's raw format: "name,start,end,step|v,v,..."
// with None for null.
func appendRaw(dst []byte, out []*Series) []byte {
	for _, s := range out {
		step := s.Step * int64(max(s.ValuesPerPoint, 1))
		dst = append(dst, s.Name...)
		dst = append(dst, ',')
		dst = strconv.AppendInt(dst, s.Start, 10)
		dst = append(dst, ',')
		dst = strconv.AppendInt(dst, s.End, 10)
		dst = append(dst, ',')
		dst = strconv.AppendInt(dst, step, 10)
		dst = append(dst, '|')
		for i, v := range s.Points() {
			if i > 0 {
				dst = append(dst, ',')
			}
			if math.IsNaN(v) {
				dst = append(dst, "None"...)
			} else {
				dst = pyfmt.AppendFloatRepr(dst, v)
			}
		}
		dst = append(dst, '\n')
	}
	return dst
}

// appendPickle writes graphite-web's cluster format: a pickle (protocol 2)
// of a list of dicts with name, start, end, step, values, pathExpression,
// valuesPerPoint, consolidationFunc and xFilesFactor, as a graphite-web
// front end's RemoteReader unpickles it.
func appendPickle(dst []byte, out []*Series) []byte {
	dst = append(dst, 0x80, 2, ']', '(') // PROTO 2, EMPTY_LIST, MARK
	str := func(s string) {
		dst = append(dst, 'X')
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(s)))
		dst = append(dst, s...)
	}
	integer := func(n int64) {
		if n >= math.MinInt32 && n <= math.MaxInt32 {
			dst = append(dst, 'J')
			dst = binary.LittleEndian.AppendUint32(dst, uint32(int32(n)))
			return
		}
		dst = append(dst, 'L')
		dst = strconv.AppendInt(dst, n, 10)
		dst = append(dst, 'L', '\n')
	}
	float := func(v float64) {
		dst = append(dst, 'G')
		dst = binary.BigEndian.AppendUint64(dst, math.Float64bits(v))
	}
	for _, s := range out {
		dst = append(dst, '}', '(') // EMPTY_DICT, MARK
		str("name")
		str(s.Name)
		str("start")
		integer(s.Start)
		str("end")
		integer(s.End)
		str("step")
		integer(s.Step)
		str("values")
		dst = append(dst, ']', '(')
		for _, v := range s.Points() {
			if math.IsNaN(v) {
				dst = append(dst, 'N')
			} else {
				float(v)
			}
		}
		dst = append(dst, 'e') // APPENDS
		str("pathExpression")
		str(s.PathExpression)
		str("valuesPerPoint")
		integer(int64(max(s.ValuesPerPoint, 1)))
		str("consolidationFunc")
		str(s.ConsolidationFunc)
		str("xFilesFactor")
		float(s.XFilesFactor)
		dst = append(dst, 'u') // SETITEMS
	}
	dst = append(dst, 'e', '.') // APPENDS, STOP
	return dst
}
