// Package layout says where a metric's whisper file lives in the tree, as
// carbon lays it out, and which names can be a file there at all.
package layout

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// NameMax is the longest file or directory name the tree uses: Linux's
// NAME_MAX. A longer segment could not be created.
const NameMax = 255

// MaxName bounds a whole metric name.
const MaxName = 4096

// Errors of Check, one per cause, so callers can count them apart.
var (
	ErrEmpty        = errors.New("empty name")
	ErrTooLong      = errors.New("name too long")
	ErrEmptySegment = errors.New("empty segment (leading, trailing or doubled dot)")
	ErrSegmentLong  = errors.New("segment longer than 255 bytes")
	ErrByte         = errors.New("slash, NUL or control byte")
)

// Check reports whether name can be stored: it must map to a file inside the
// tree, so a slash, NUL or control byte, or an empty segment ("a..b", ".a",
// "a.") is refused, as is a segment the file system could not hold. A tagged
// name (with ';') is checked on its path part; its tags become part of one
// file name.
func Check(name []byte) error {
	if len(name) == 0 {
		return ErrEmpty
	}
	if len(name) > MaxName {
		return ErrTooLong
	}
	for _, b := range name {
		if b < 0x20 || b == 0x7f || b == '/' {
			return fmt.Errorf("%w 0x%02x", ErrByte, b)
		}
	}
	path, _, tagged := bytes.Cut(name, []byte{';'})
	if len(path) == 0 {
		return ErrEmptySegment
	}
	if tagged {
		if taggedFileLen(name) > NameMax {
			return ErrSegmentLong
		}
		return nil
	}
	for seg := range bytes.SplitSeq(path, []byte{'.'}) {
		if len(seg) == 0 {
			return ErrEmptySegment
		}
		if len(seg) > NameMax-len(".wsp") {
			return ErrSegmentLong
		}
	}
	return nil
}

// taggedFileLen is the length of a tagged series' file name.
func taggedFileLen(name []byte) int {
	return len(name) + bytes.Count(name, []byte{'.'})*(len("_DOT_")-1) + len(".wsp")
}

// AppendPath appends the relative path of name's whisper file to dst, as
// carbon's TaggedSeries.encode with os.sep gives it plus ".wsp": dots become
// directories ("a.b.c" is "a/b/c.wsp"); a tagged series lives under
// "_tagged/" and the first three and next three hex digits of the SHA-256 of
// its name, in a file named for the whole name with each '.' as "_DOT_", so
// that graphite-web finds it where carbon would have put it. name must pass
// Check and, if tagged, be normalised (tags sorted).
func AppendPath(dst, name []byte) []byte {
	if bytes.IndexByte(name, ';') < 0 {
		for _, b := range bytes.TrimLeft(name, ".") {
			if b == '.' {
				b = '/'
			}
			dst = append(dst, b)
		}
		return append(dst, ".wsp"...)
	}
	sum := sha256.Sum256(name)
	var hexSum [6]byte
	hex.Encode(hexSum[:], sum[:3])
	dst = append(dst, "_tagged/"...)
	dst = append(dst, hexSum[:3]...)
	dst = append(dst, '/')
	dst = append(dst, hexSum[3:]...)
	dst = append(dst, '/')
	for _, b := range name {
		if b == '.' {
			dst = append(dst, "_DOT_"...)
		} else {
			dst = append(dst, b)
		}
	}
	return append(dst, ".wsp"...)
}
