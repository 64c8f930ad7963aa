package ebpf

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Direct I/O bypasses the page cache, so each write and read below is a
// request to the disk under the test's temporary directory.
func TestBiolatency(t *testing.T) {
	const n, size = 64, 4096
	path := filepath.Join(t.TempDir(), "direct")
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_DIRECT, 0o600)
	if err != nil {
		t.Fatalf("open with O_DIRECT: %v", err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	name := wholeDisk(t, unix.Major(st.Dev), unix.Minor(st.Dev))
	buf := alignedBlock(size)
	got, _ := measure(t, func() {
		for i := range n {
			buf[0] = byte(i)
			if _, err := unix.Pwrite(fd, buf, int64(i*size)); err != nil {
				t.Fatal(err)
			}
		}
		if err := unix.Fdatasync(fd); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if _, err := unix.Pread(fd, buf, int64(i*size)); err != nil {
				t.Fatal(err)
			}
		}
	})
	prefix := "ebpf.biolatency." + name + "."
	// n reads of blocks just written: the writes may merge, the reads
	// are issued one at a time.
	need(t, got, prefix+"count", n)
	p50, p99, max := got[prefix+"p50"], got[prefix+"p99"], got[prefix+"max"]
	if !(p50 > 0 && p50 <= p99 && p99 <= max) {
		t.Errorf("%s p50 %g p99 %g max %g: not ordered", name, p50, p99, max)
	}
}

// alignedBlock returns size bytes aligned as O_DIRECT needs (to the
// logical block size; a page is always enough).
func alignedBlock(size int) []byte {
	const align = 4096
	b := make([]byte, size+align)
	off := (align - int(uintptr(unsafe.Pointer(&b[0]))%align)) % align
	return b[off : off+size]
}

// wholeDisk is the name under which biolatency reports the device
// major:minor, whose partitions count toward the disk they are part of.
func wholeDisk(t *testing.T, major, minor uint32) string {
	t.Helper()
	dir := "/sys/dev/block/" + strconv.Itoa(int(major)) + ":" + strconv.Itoa(int(minor))
	if _, err := os.Stat(dir + "/partition"); err == nil {
		dir += "/.."
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		if inCI {
			t.Fatalf("the temporary directory is on no block device (%d:%d): %v", major, minor, err)
		}
		t.Skipf("the temporary directory is on no block device (%d:%d): %v", major, minor, err)
	}
	return filepath.Base(real)
}

func TestDiskName(t *testing.T) {
	if got := diskName(4095<<20 | 1048575); got != "dev4095_1048575" {
		t.Errorf("unknown device named %q", got)
	}
}
