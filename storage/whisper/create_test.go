package whisper

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestCreateFullDisk fills a small tmpfs: the create that does not fit fails
// with ENOSPC and leaves nothing behind, neither the file nor a temporary.
func TestCreateFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("mounting a small tmpfs needs root")
		}
		t.Skip("mounting a small tmpfs needs root")
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=256k"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })

	big := filepath.Join(dir, "big.wsp")
	err := Create(big, []Retention{{60, 100000}}, CreateOptions{})
	if !errors.Is(err, unix.ENOSPC) {
		t.Fatalf("create of 1.2 MB on a 256 KB disk: got %v, want ENOSPC", err)
	}
	if !strings.Contains(err.Error(), big) {
		t.Errorf("error %q does not name the file", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("failed create left %v", ents)
	}
	small := filepath.Join(dir, "small.wsp")
	if err := Create(small, []Retention{{60, 100}}, CreateOptions{}); err != nil {
		t.Fatalf("create that fits: %v", err)
	}
	f, err := Open(small, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// TestCreateAllocates checks that a default create allocates the archives as
// whisper.py's zero-filling create does, and that Sparse leaves a hole.
func TestCreateAllocates(t *testing.T) {
	dir := t.TempDir()
	archives := []Retention{{10, 8640}, {60, 10080}}
	for _, sparse := range []bool{false, true} {
		path := filepath.Join(dir, map[bool]string{false: "full.wsp", true: "sparse.wsp"}[sparse])
		if err := Create(path, append([]Retention(nil), archives...), CreateOptions{Sparse: sparse}); err != nil {
			t.Fatal(err)
		}
		var st unix.Stat_t
		if err := unix.Stat(path, &st); err != nil {
			t.Fatal(err)
		}
		size := int64(16 + 2*12 + (8640+10080)*12)
		if st.Size != size {
			t.Fatalf("%s: size %d, want %d", path, st.Size, size)
		}
		allocated := st.Blocks * 512
		if !sparse && allocated < size {
			t.Errorf("%s: only %d of %d bytes allocated", path, allocated, size)
		}
		if sparse && allocated >= size {
			t.Errorf("%s: sparse file has all %d bytes allocated", path, allocated)
		}
	}
}

func TestCreateRefusesExisting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.wsp")
	if err := os.WriteFile(path, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Create(path, []Retention{{60, 10}}, CreateOptions{})
	if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "File "+path+" already exists!") {
		t.Fatalf("got %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "keep" {
		t.Fatalf("existing file changed to %q", b)
	}
}

func TestValidateArchiveList(t *testing.T) {
	cases := []struct {
		archives []Retention
		err      string
	}{
		{nil, "You must specify at least one archive configuration!"},
		{[]Retention{{60, 10}, {60, 20}}, "two archives with the same precision (archive0: (60, 10), archive1: (60, 20))"},
		{[]Retention{{60, 100}, {90, 100}}, "must evenly divide all lower precision archives' precision (archive0: 60, archive1: 90)"},
		{[]Retention{{60, 100}, {120, 50}}, "Lower precision archives must cover larger time intervals than higher precision archives (archive0: 6000 seconds, archive1: 6000 seconds)"},
		{[]Retention{{10, 5}, {60, 100}}, "archive1 consolidates 6 of archive0's points but it has only 5 total points"},
		{[]Retention{{600, 100}, {60, 100}}, ""}, // sorted before the checks
		{[]Retention{{10, 2160}, {60, 10080}, {600, 262800}}, ""},
	}
	for _, c := range cases {
		err := ValidateArchiveList(c.archives)
		if (err == nil) != (c.err == "") || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%v: got %v, want %q", c.archives, err, c.err)
		}
	}
}

func TestParseRetentionDef(t *testing.T) {
	cases := []struct {
		def  string
		want Retention
		err  string
	}{
		{"60:1440", Retention{60, 1440}, ""},
		{"15m:8", Retention{900, 8}, ""},
		{"1h:7d", Retention{3600, 168}, ""},
		{"12h:2y", Retention{43200, 1460}, ""},
		{"10s:6h", Retention{10, 2160}, ""},
		{"1min:1w", Retention{60, 10080}, ""},
		{" 10:6 ", Retention{10, 6}, ""},
		{"10", Retention{}, "Invalid retention definition '10'"},
		{"10x:6", Retention{}, "Invalid unit 'x'"},
		{"1M:6", Retention{}, "Invalid precision specification '1M'"},
		{"10:abc", Retention{}, "Invalid retention specification 'abc'"},
		{"0:10", Retention{}, "Invalid precision specification '0'"},
		{"7d:1d", Retention{}, "Invalid retention specification '1d'"},
	}
	for _, c := range cases {
		got, err := ParseRetentionDef(c.def)
		if (err == nil) != (c.err == "") || (err != nil && err.Error() != c.err) || got != c.want {
			t.Errorf("%q: got %v, %v; want %v, %q", c.def, got, err, c.want, c.err)
		}
	}
}

// TestUpdateManyRunLongerThanArchive: consecutive points reaching ahead of
// now, more of them than the archive holds, are written as a circular buffer
// keeps them (the last ones, each in its slot), not refused.
func TestUpdateManyRunLongerThanArchive(t *testing.T) {
	f := newTestFile(t, []Retention{{60, 10}, {600, 10}})
	now := int64(1_700_000_040)
	for _, first := range []int64{now - 300, now + 3000} { // empty archive, then one with a base
		var pts []Point
		for i := int64(0); i < 25; i++ {
			pts = append(pts, Point{first + 60*i, float64(first + i)})
		}
		if err := f.UpdateMany(pts, now); err != nil {
			t.Fatalf("from %d: %v", first, err)
		}
		a := &f.Header.Archives[0]
		got := map[int64]float64{}
		for off := int64(a.Offset); off < a.end(); off += PointSize {
			ts, v := f.pointAt(off)
			got[ts] = v
		}
		for _, p := range pts[15:] {
			if v, ok := got[p.Timestamp]; !ok || v != p.Value {
				t.Fatalf("from %d: point %d: %v, %v in the archive %v", first, p.Timestamp, v, ok, got)
			}
		}
	}
}
