package boot

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Partition is a block device partition the kernel found, by GPT name.
type Partition struct {
	Dev  string // /dev/vda2
	Disk string // /dev/vda
	Name string // GPT partition name
}

// FindPartition waits for the disk drivers to show a partition named name
// (storage controllers probe asynchronously) and returns it.
func FindPartition(name string, wait time.Duration) (Partition, error) {
	deadline := time.Now().Add(wait)
	for {
		ents, _ := os.ReadDir("/sys/class/block")
		for _, e := range ents {
			ue := readUevent(filepath.Join("/sys/class/block", e.Name(), "uevent"))
			if ue["DEVTYPE"] != "partition" || ue["PARTNAME"] != name {
				continue
			}
			if _, err := os.Stat("/dev/" + ue["DEVNAME"]); err != nil {
				continue // devtmpfs makes the node a moment after sysfs shows it
			}
			// /sys/class/block/vda2 links to .../block/vda/vda2: the parent is the disk.
			target, err := filepath.EvalSymlinks(filepath.Join("/sys/class/block", e.Name()))
			if err != nil {
				continue
			}
			return Partition{Dev: "/dev/" + ue["DEVNAME"], Disk: "/dev/" + filepath.Base(filepath.Dir(target)), Name: name}, nil
		}
		if time.Now().After(deadline) {
			return Partition{}, fmt.Errorf("no partition named %q after %v: is the disk's driver in the image?", name, wait)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func readUevent(path string) map[string]string {
	m := map[string]string{}
	f, err := os.Open(path)
	if err != nil {
		return m
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			m[k] = v
		}
	}
	return m
}

// GrowDisk extends partition p to the end of its disk (see GrowPartition)
// and has the kernel re-read the table. It runs before anything on the
// disk is mounted, so the re-read is not refused as busy.
func GrowDisk(p Partition) (bool, error) {
	f, err := os.OpenFile(p.Disk, os.O_RDWR, 0)
	if err != nil {
		return false, fmt.Errorf("grow %s: %w", p.Dev, err)
	}
	defer f.Close()
	ss, err := unix.IoctlGetInt(int(f.Fd()), unix.BLKSSZGET)
	if err != nil {
		return false, fmt.Errorf("grow %s: sector size: %w", p.Disk, err)
	}
	grown, err := GrowPartition(f, int64(ss), p.Name)
	if err != nil || !grown {
		return grown, err
	}
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, f.Fd(), unix.BLKRRPART, 0); e != 0 {
		return true, fmt.Errorf("grow %s: re-read the partition table: %w", p.Disk, e)
	}
	return true, nil
}

// ResizeFS grows the ext4 file system mounted at dir to fill its
// partition, online. The kernel does nothing when it already does.
func ResizeFS(dir string, p Partition) error {
	sectors, err := os.ReadFile(filepath.Join("/sys/class/block", filepath.Base(p.Dev), "size"))
	if err != nil {
		return fmt.Errorf("resize %s: %w", dir, err)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(sectors)), 10, 64)
	if err != nil {
		return fmt.Errorf("resize %s: partition size: %w", dir, err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return fmt.Errorf("resize %s: %w", dir, err)
	}
	blocks := n * 512 / uint64(st.Bsize) // sysfs counts 512-byte sectors whatever the disk's
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("resize %s: %w", dir, err)
	}
	defer unix.Close(fd)
	// EXT4_IOC_RESIZE_FS = _IOW('f', 16, __u64)
	const ext4IocResizeFS = 0x40086610
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), ext4IocResizeFS, uintptr(unsafe.Pointer(&blocks))); e != 0 {
		return fmt.Errorf("resize %s to %d blocks: %w", dir, blocks, e)
	}
	return nil
}
