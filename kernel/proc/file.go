package proc

import (
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"
)

// readFile reads a whole /proc or /sys file into buf, which it grows and
// returns for the next call: a file per round costs no allocation for its
// contents. /proc files must be read in one go from offset 0 for a
// consistent snapshot, hence the loop to EOF rather than a fixed read.
func readFile(path string, buf []byte) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	for err == unix.EINTR {
		fd, err = unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return buf[:0], fmt.Errorf("open %s: %w", path, err)
	}
	defer unix.Close(fd)
	if cap(buf) < 4096 {
		buf = make([]byte, 0, 4096)
	}
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return buf[:0], fmt.Errorf("read %s: %w", path, err)
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
	}
}

// errMalformed marks a line a collector could not parse.
var errMalformed = errors.New("malformed")

// nextLine splits the first line off b.
func nextLine(b []byte) (line, rest []byte) {
	for i, c := range b {
		if c == '\n' {
			return b[:i], b[i+1:]
		}
	}
	return b, nil
}

// fields appends the whitespace-separated fields of line to dst[:0].
func fields(dst [][]byte, line []byte) [][]byte {
	dst = dst[:0]
	start := -1
	for i, c := range line {
		if c == ' ' || c == '\t' {
			if start >= 0 {
				dst = append(dst, line[start:i])
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		dst = append(dst, line[start:])
	}
	return dst
}

// parseUint parses a decimal unsigned integer, all of b.
func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (1<<64-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// parseDecimal parses digits with an optional fraction ("0.72"), as
// /proc/loadavg prints them, correctly rounded as glibc's strtod gives
// Diamond's os.getloadavg(): a sum of whole and fraction parts is not, and
// 5.69/2 would then print as 2.84 instead of 2.85.
func parseDecimal(b []byte) (float64, bool) {
	if len(b) == 0 || len(b) > 32 {
		return 0, false
	}
	for _, c := range b {
		if (c < '0' || c > '9') && c != '.' {
			return 0, false
		}
	}
	v, err := strconv.ParseFloat(string(b), 64)
	return v, err == nil
}
