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
// tree, so a NUL or control byte is refused, and in the path part (before any
// ';') a slash or an empty segment ("a..b", ".a", "a."), or a segment the file
// system could not hold. A tagged series' file is named by its hash, so its
// tags may hold anything but control bytes ("mount=/var" is fine).
func Check(name []byte) error {
	if len(name) == 0 {
		return ErrEmpty
	}
	if len(name) > MaxName {
		return ErrTooLong
	}
	for _, b := range name {
		if b < 0x20 || b == 0x7f {
			return fmt.Errorf("%w 0x%02x", ErrByte, b)
		}
	}
	path, _, tagged := bytes.Cut(name, []byte{';'})
	if bytes.IndexByte(path, '/') >= 0 {
		return fmt.Errorf("%w 0x2f", ErrByte)
	}
	if tagged {
		if len(path) == 0 {
			return ErrEmptySegment
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

// AppendPath appends the relative path of name's whisper file to dst, as
// carbon 1.1's TaggedSeries.encode with os.sep gives it (plus ".wsp"), with
// carbon's default TAG_HASH_FILENAMES = True: dots become directories ("a.b.c"
// is "a/b/c.wsp"), and a tagged series is "_tagged/<h[0:3]>/<h[3:6]>/<h>.wsp"
// for h the lower-case hex SHA-256 of its name, where graphite-web's finder
// looks for it. name must pass Check and, if tagged, be normalised (tags
// sorted), or the hash names another file.
func AppendPath(dst, name []byte) []byte {
	if bytes.IndexByte(name, ';') < 0 {
		for _, b := range bytes.TrimLeft(name, "./") { // lstrip(sep) after the dots became seps
			if b == '.' {
				b = '/'
			}
			dst = append(dst, b)
		}
		return append(dst, ".wsp"...)
	}
	sum := sha256.Sum256(name)
	var h [2 * sha256.Size]byte
	hex.Encode(h[:], sum[:])
	dst = append(dst, "_tagged/"...)
	dst = append(dst, h[0:3]...)
	dst = append(dst, '/')
	dst = append(dst, h[3:6]...)
	dst = append(dst, '/')
	dst = append(dst, h[:]...)
	return append(dst, ".wsp"...)
}
