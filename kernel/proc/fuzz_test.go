package proc

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// FuzzProcFiles feeds the same bytes to every collector as each of its
// files, over two rounds (so that rates are computed from garbage too):
// whatever /proc holds, a collector returns, emits only finite values and
// never panics.
func FuzzProcFiles(f *testing.F) {
	for _, name := range []string{"stat", "meminfo", "loadavg", "vmstat", "diskstats", "net/dev", "net/sockstat"} {
		b, err := os.ReadFile(filepath.Join("testdata/vm/1", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, []byte{})
	}
	f.Add([]byte("27 1 254:1 / / rw - ext4 /dev/vda1 rw\n35 27 0:50 / /srv rw - nfs4 h:/x rw\n"), []byte("cpu 1 2\ncpu99999999999999999999 1\n"))
	f.Add([]byte("eth0: 18446744073709551615 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n"), []byte("eth0: 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"))
	// One directory for every input, in memory where there is a tmpfs:
	// each input writes 20 files, and on a slow disk the fuzzer's
	// minimizing of an input then looks like a hang.
	dir := f.TempDir()
	if shm, err := os.MkdirTemp("/dev/shm", "statbox-fuzz"); err == nil {
		dir = shm
		f.Cleanup(func() { os.RemoveAll(shm) })
	}
	files := []string{"stat", "meminfo", "loadavg", "vmstat", "diskstats", "net/dev",
		"net/sockstat", "net/sockstat6", "self/mountinfo", "devices/system/cpu/online"}
	for _, name := range files {
		writeTree(f, dir, map[string]string{name: ""})
	}
	f.Fuzz(func(t *testing.T, first, second []byte) {
		cs := Collectors(Options{Proc: dir, Sys: dir, Dev: dir, Interval: interval,
			Statfs: func(string, *unix.Statfs_t) error { return unix.ENOENT }})
		for i, body := range [][]byte{first, second} {
			for _, name := range files {
				if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for _, c := range cs {
				c.Collect(t0.Add(time.Duration(i)*interval), func(name string, v float64) {
					if v != v || v > 1e300 || v < -1e300 {
						t.Errorf("%s: %s = %v", c.Name(), name, v)
					}
					if v < 0 {
						t.Errorf("%s: %s = %v, negative", c.Name(), name, v)
					}
				})
			}
		}
	})
}
