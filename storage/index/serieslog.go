package index

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// seriesLogName is the tagged-series log inside DATA/tags: see FORMAT.md.
const seriesLogName = "series.log"

// maxLogLine bounds one line of the log when it is read back: a longer line
// cannot have been written (names are at most layout.MaxName bytes) and is
// skipped.
const maxLogLine = 64 << 10

// seriesLog is the append-only file of tagged series names, one per line.
type seriesLog struct {
	f   *os.File
	end int64 // offset after the last complete line
}

// openSeriesLog opens (creating) dir/series.log, reads back its names, and
// positions it for appending. A last line without its newline is a write
// torn by a crash: it is cut off, so the next append starts a clean line.
func openSeriesLog(dir string) (*seriesLog, []string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("tags directory: %w", err)
	}
	path := filepath.Join(dir, seriesLogName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("open series log: %w", err)
	}
	names, good, err := readSeriesLog(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	if err := f.Truncate(good); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("cut torn tail of %s: %w", path, err)
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("seek %s: %w", path, err)
	}
	return &seriesLog{f: f, end: good}, names, nil
}

// readSeriesLog returns the names of the complete lines of r and the offset
// just past the last newline.
func readSeriesLog(r io.Reader) (names []string, good int64, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		line    []byte
		pos     int64
		tooLong bool
	)
	for {
		chunk, err := br.ReadSlice('\n')
		pos += int64(len(chunk))
		if len(line)+len(chunk) > maxLogLine {
			tooLong, line = true, line[:0]
		} else if !tooLong {
			line = append(line, chunk...)
		}
		switch err {
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			return names, good, nil
		case nil:
		default:
			return nil, 0, err
		}
		if n := bytes.TrimSuffix(line, []byte{'\n'}); !tooLong && validLogName(n) {
			names = append(names, string(n))
		}
		good, line, tooLong = pos, line[:0], false
	}
}

// validLogName reports whether a line of the log can be a series name: not
// empty, not starting with ';' and free of NUL.
func validLogName(n []byte) bool {
	return len(n) > 0 && n[0] != ';' && bytes.IndexByte(n, 0) < 0
}

// append writes name and a newline in one write and syncs it: a series the
// API acknowledged survives a power cut.
func (l *seriesLog) append(name string) error {
	if strings.ContainsAny(name, "\n\x00") {
		return fmt.Errorf("series log: name holds a newline or NUL")
	}
	b := make([]byte, 0, len(name)+1)
	b = append(append(b, name...), '\n')
	if _, err := l.f.Write(b); err != nil {
		l.undo()
		return fmt.Errorf("series log: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		l.undo()
		return fmt.Errorf("series log: sync: %w", err)
	}
	l.end += int64(len(b))
	return nil
}

// undo cuts off what a failed write left (a full disk can take part of a
// line), so that the next line does not run on from it.
func (l *seriesLog) undo() {
	if l.end >= 0 {
		l.f.Truncate(l.end)
		l.f.Seek(l.end, io.SeekStart)
	}
}

func (l *seriesLog) close() error {
	return l.f.Close()
}
