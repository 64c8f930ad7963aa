package whisper

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Sizes of the on-disk records, in bytes (FORMAT.md).
const (
	MetadataSize    = 16 // aggregationType, maxRetention, xFilesFactor, archiveCount
	ArchiveInfoSize = 12 // offset, secondsPerPoint, points
	PointSize       = 12 // interval, value
)

// AggregationMethod is how a lower-precision archive folds the points of the
// archive above it. The numbers are whisper.py's, as stored in the header.
type AggregationMethod uint32

// The aggregation methods, numbered as whisper.py numbers them.
const (
	Average AggregationMethod = 1
	Sum     AggregationMethod = 2
	Last    AggregationMethod = 3
	Max     AggregationMethod = 4
	Min     AggregationMethod = 5
	AvgZero AggregationMethod = 6
	AbsMax  AggregationMethod = 7
	AbsMin  AggregationMethod = 8
)

var methodNames = [...]string{
	Average: "average", Sum: "sum", Last: "last", Max: "max", Min: "min",
	AvgZero: "avg_zero", AbsMax: "absmax", AbsMin: "absmin",
}

// AggregationMethods lists the method names in whisper.py's order.
var AggregationMethods = methodNames[1:]

// Valid reports whether m is one of whisper.py's eight methods.
func (m AggregationMethod) Valid() bool { return m >= Average && m <= AbsMin }

// String returns whisper.py's name for m.
func (m AggregationMethod) String() string {
	if m.Valid() {
		return methodNames[m]
	}
	return fmt.Sprintf("aggregation(%d)", uint32(m))
}

// ParseAggregationMethod returns the method whisper.py calls name.
func ParseAggregationMethod(name string) (AggregationMethod, error) {
	for i, n := range methodNames {
		if i > 0 && n == name {
			return AggregationMethod(i), nil
		}
	}
	return 0, fmt.Errorf("Unrecognized aggregation method: %s", name)
}

// ArchiveInfo is one archive's entry in the header.
type ArchiveInfo struct {
	Offset          uint32 // byte offset of the archive's first point
	SecondsPerPoint uint32
	Points          uint32
}

// Retention is the time the archive covers, in seconds.
func (a ArchiveInfo) Retention() int64 { return int64(a.SecondsPerPoint) * int64(a.Points) }

// Size is the archive's length in bytes.
func (a ArchiveInfo) Size() int64 { return int64(a.Points) * PointSize }

func (a ArchiveInfo) end() int64 { return int64(a.Offset) + a.Size() }

// Header is a whisper file's metadata and archive list, in file order.
type Header struct {
	AggregationMethod AggregationMethod
	MaxRetention      uint32
	XFilesFactor      float32
	Archives          []ArchiveInfo
}

// Size is the length of the encoded header in bytes.
func (h *Header) Size() int64 { return MetadataSize + int64(len(h.Archives))*ArchiveInfoSize }

// FileSize is the length of a file holding h's archives.
func (h *Header) FileSize() int64 {
	n := h.Size()
	for _, a := range h.Archives {
		n += a.Size()
	}
	return n
}

// AppendHeader appends the encoded header to dst.
func AppendHeader(dst []byte, h *Header) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(h.AggregationMethod))
	dst = binary.BigEndian.AppendUint32(dst, h.MaxRetention)
	dst = binary.BigEndian.AppendUint32(dst, math.Float32bits(h.XFilesFactor))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(h.Archives)))
	for _, a := range h.Archives {
		dst = binary.BigEndian.AppendUint32(dst, a.Offset)
		dst = binary.BigEndian.AppendUint32(dst, a.SecondsPerPoint)
		dst = binary.BigEndian.AppendUint32(dst, a.Points)
	}
	return dst
}

// CorruptError says what is wrong with a file that is not valid whisper.
type CorruptError struct {
	Path  string
	Fault string
}

func (e *CorruptError) Error() string { return "corrupt whisper file " + e.Path + ": " + e.Fault }

// ErrCorrupt matches every CorruptError with errors.Is.
var ErrCorrupt = errors.New("corrupt whisper file")

// Is makes errors.Is(err, ErrCorrupt) true for a CorruptError.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

func corrupt(path, format string, args ...any) error {
	return &CorruptError{Path: path, Fault: fmt.Sprintf(format, args...)}
}

// ParseHeader decodes the header at the start of data, the whole file's bytes,
// and checks that every archive lies inside data, so that no later read or write
// through the header can leave the file. path names the file in errors.
func ParseHeader(data []byte, path string) (Header, error) {
	var h Header
	if len(data) < MetadataSize {
		return h, corrupt(path, "short header: %d bytes, the metadata needs %d", len(data), MetadataSize)
	}
	h.AggregationMethod = AggregationMethod(binary.BigEndian.Uint32(data[0:]))
	h.MaxRetention = binary.BigEndian.Uint32(data[4:])
	h.XFilesFactor = math.Float32frombits(binary.BigEndian.Uint32(data[8:]))
	count := int64(binary.BigEndian.Uint32(data[12:]))
	if !h.AggregationMethod.Valid() {
		return h, corrupt(path, "unknown aggregation type %d", uint32(h.AggregationMethod))
	}
	if !(h.XFilesFactor >= 0 && h.XFilesFactor <= 1) {
		return h, corrupt(path, "xFilesFactor %v is not between 0 and 1", h.XFilesFactor)
	}
	if count == 0 {
		return h, corrupt(path, "no archives")
	}
	headerSize := MetadataSize + count*ArchiveInfoSize
	if headerSize > int64(len(data)) {
		return h, corrupt(path, "%d archives need a %d-byte header, the file has %d bytes", count, headerSize, len(data))
	}
	h.Archives = make([]ArchiveInfo, count)
	for i := range h.Archives {
		b := data[MetadataSize+i*ArchiveInfoSize:]
		a := ArchiveInfo{
			Offset:          binary.BigEndian.Uint32(b[0:]),
			SecondsPerPoint: binary.BigEndian.Uint32(b[4:]),
			Points:          binary.BigEndian.Uint32(b[8:]),
		}
		switch {
		case a.SecondsPerPoint == 0:
			return h, corrupt(path, "archive %d: zero seconds per point", i)
		case a.Points == 0:
			return h, corrupt(path, "archive %d: zero points", i)
		case int64(a.Offset) < headerSize:
			return h, corrupt(path, "archive %d: offset %d lies inside the %d-byte header", i, a.Offset, headerSize)
		case a.end() > int64(len(data)):
			return h, corrupt(path, "archive %d: %d points at offset %d end at byte %d, past the end of the file (%d bytes)",
				i, a.Points, a.Offset, a.end(), len(data))
		}
		h.Archives[i] = a
	}
	return h, nil
}

// stepsIncrease reports whether each archive's step is longer than the one
// before it.
func stepsIncrease(archives []ArchiveInfo) bool {
	for i := 1; i < len(archives); i++ {
		if archives[i].SecondsPerPoint <= archives[i-1].SecondsPerPoint {
			return false
		}
	}
	return true
}

// overlapping reports whether two of the archives share a byte.
func overlapping(archives []ArchiveInfo) bool {
	for i, a := range archives {
		for _, b := range archives[i+1:] {
			if int64(a.Offset) < b.end() && int64(b.Offset) < a.end() {
				return true
			}
		}
	}
	return false
}
