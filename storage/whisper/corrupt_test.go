package whisper

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// validFile returns the bytes of a fresh two-archive file.
func validFile(t testing.TB) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ok.wsp")
	if err := Create(path, []Retention{{10, 6}, {60, 5}}, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCorruptFiles opens damaged files: each gives a CorruptError naming the
// file and the fault, never a panic or a read outside the mapping.
func TestCorruptFiles(t *testing.T) {
	good := validFile(t)
	put := func(off int, v uint32) func([]byte) []byte {
		return func(b []byte) []byte { binary.BigEndian.PutUint32(b[off:], v); return b }
	}
	cases := []struct {
		name  string
		edit  func([]byte) []byte
		fault string
	}{
		{"empty", func(b []byte) []byte { return b[:0] }, "short header: 0 bytes"},
		{"short metadata", func(b []byte) []byte { return b[:10] }, "short header: 10 bytes"},
		{"zero archives", put(12, 0), "no archives"},
		{"archive count past the end", put(12, 1000), "1000 archives need a 12016-byte header"},
		{"archive count overflows", put(12, math.MaxUint32), "archives need a"},
		{"truncated archive info", func(b []byte) []byte { return b[:30] }, "2 archives need a 40-byte header, the file has 30 bytes"},
		{"offset past the end", put(16, 1<<30), "archive 0: 6 points at offset 1073741824"},
		{"offset inside the header", put(16, 8), "offset 8 lies inside the 40-byte header"},
		{"points overflow the file", put(24, math.MaxUint32), "archive 0: 4294967295 points"},
		{"second archive past the end", put(36, 1000), "archive 1: 1000 points"},
		{"truncated data", func(b []byte) []byte { return b[:len(b)-1] }, "archive 1: 5 points at offset 112 end at byte 172, past the end of the file (171 bytes)"},
		{"zero precision", put(20, 0), "archive 0: zero seconds per point"},
		{"zero points", put(24, 0), "archive 0: zero points"},
		{"unknown aggregation", put(0, 9), "unknown aggregation type 9"},
		{"xff above one", put(8, math.Float32bits(1.5)), "xFilesFactor 1.5 is not between 0 and 1"},
		{"xff NaN", put(8, math.Float32bits(float32(math.NaN()))), "xFilesFactor NaN"},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".wsp")
			if err := os.WriteFile(path, c.edit(append([]byte(nil), good...)), 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := Open(path, Options{})
			if err == nil {
				f.Close()
				t.Fatalf("opened a corrupt file")
			}
			var ce *CorruptError
			if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v (%T) is not a CorruptError", err, err)
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.fault) {
				t.Fatalf("error %q should name %s and say %q", err, path, c.fault)
			}
		})
	}
}

func TestOpenMissingFile(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "nope.wsp"), Options{})
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v, want a not-exist error", err)
	}
}
