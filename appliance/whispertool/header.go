package whispertool

import (
	"bufio"
	"encoding/binary"
	"io"
	"math"
	"os"

	"statbox/storage/whisper"
)

// pyHeader is a header as whisper.py's __readHeader reads it. Its checks are
// looser than the library's (archives may lie past the end of the file, or
// be empty), and whisper-info shows such headers rather than refusing them.
type pyHeader struct {
	method       whisper.AggregationMethod
	maxRetention uint32
	xff          float32
	archives     []whisper.ArchiveInfo
}

// corruptFile is whisper.py's CorruptWhisperFile.
type corruptFile struct{ fault, path string }

func (e *corruptFile) Error() string { return e.fault + " (" + e.path + ")" }

// readPyHeader reads path's header with whisper.py's checks: the metadata and
// every archive entry are there, the aggregation type is known, and the
// xFilesFactor lies between 0 and 1.
func readPyHeader(path string) (pyHeader, error) {
	var h pyHeader
	f, err := os.Open(path)
	if err != nil {
		return h, err
	}
	defer f.Close()
	rd := bufio.NewReader(f)
	var meta [whisper.MetadataSize]byte
	if _, err := io.ReadFull(rd, meta[:]); err != nil {
		return h, readFault(err, "Unable to read header", path)
	}
	h.method = whisper.AggregationMethod(binary.BigEndian.Uint32(meta[0:]))
	h.maxRetention = binary.BigEndian.Uint32(meta[4:])
	h.xff = math.Float32frombits(binary.BigEndian.Uint32(meta[8:]))
	count := binary.BigEndian.Uint32(meta[12:])
	if !h.method.Valid() || !(h.xff >= 0 && h.xff <= 1) {
		return h, &corruptFile{"Unable to read header", path}
	}
	for i := uint32(0); i < count; i++ {
		var b [whisper.ArchiveInfoSize]byte
		if _, err := io.ReadFull(rd, b[:]); err != nil {
			return h, readFault(err, "Unable to read archive"+itoa(int64(i))+" metadata", path)
		}
		h.archives = append(h.archives, whisper.ArchiveInfo{
			Offset:          binary.BigEndian.Uint32(b[0:]),
			SecondsPerPoint: binary.BigEndian.Uint32(b[4:]),
			Points:          binary.BigEndian.Uint32(b[8:]),
		})
	}
	return h, nil
}

// readFault is a short read's corruptFile, or the read error itself.
func readFault(err error, fault, path string) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return &corruptFile{fault, path}
	}
	return err
}
