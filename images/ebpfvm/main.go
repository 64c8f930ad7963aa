// Command ebpfvm runs kernel/ebpf's tests on the image's kernel (Debian
// 12's 6.1) under qemu, since the eBPF verifier of that kernel is older
// than a development machine's and refuses programs a newer one accepts.
//
//	CGO_ENABLED=0 go test -c -o images/out/ebpf.test ./kernel/ebpf
//	CGO_ENABLED=0 go build -o images/out/ebpfvm ./images/ebpfvm
//	images/out/ebpfvm -kernel images/out/cache/kernel -test images/out/ebpf.test
//
// (make ebpf-test-image-kernel). On the host it writes an initramfs of
// itself as /init, the test binary, kernel/ebpf's sources (TestGenerated
// reads them) and the modules of a virtio disk and ext4, makes an ext4 disk
// for the tests' temporary files (TestBiolatency needs a block device),
// boots the kernel directly under qemu with the console on its standard
// output, and exits 0 only if the tests passed. As the guest's init it
// mounts what the tests need, loads the modules, runs the tests and powers
// off. It must be built static (CGO_ENABLED=0).
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// modules are loaded in this order, each after what it depends on.
var modules = []string{
	"lib/crc16", "fs/mbcache", "fs/jbd2/jbd2", "crypto/crc32c_generic", "fs/ext4/ext4",
	"drivers/virtio/virtio_ring", "drivers/virtio/virtio",
	"drivers/virtio/virtio_pci_modern_dev", "drivers/virtio/virtio_pci_legacy_dev",
	"drivers/virtio/virtio_pci", "drivers/block/virtio_blk",
}

const resultLine = "ebpfvm: tests "

func main() {
	if os.Getpid() == 1 {
		guest()
		return
	}
	if filepath.Base(os.Args[0]) == "true" { // /bin/true for the tests
		return
	}
	kernel := flag.String("kernel", "images/out/cache/kernel", "Debian's linux-image package, extracted")
	test := flag.String("test", "images/out/ebpf.test", "kernel/ebpf's test binary, static")
	src := flag.String("src", ".", "the statbox repository")
	timeout := flag.Duration("timeout", 10*time.Minute, "give up on qemu after this")
	flag.Parse()
	if err := host(*kernel, *test, *src, *timeout, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "ebpfvm:", err)
		os.Exit(1)
	}
}

func host(kernel, test, src string, timeout time.Duration, args []string) error {
	vmlinuz, err := filepath.Glob(filepath.Join(kernel, "boot", "vmlinuz-*"))
	if err != nil || len(vmlinuz) != 1 {
		return fmt.Errorf("no single vmlinuz in %s/boot (make deps-image)", kernel)
	}
	moddirs, _ := filepath.Glob(filepath.Join(kernel, "lib", "modules", "*"))
	if len(moddirs) != 1 {
		return fmt.Errorf("no single module tree in %s/lib/modules", kernel)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "ebpfvm")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	var c cpio
	c.dir("bin", "dev", "proc", "sys", "tmp", "mnt", "mods", "src", "src/kernel", "src/kernel/ebpf")
	for _, f := range [][2]string{{"init", self}, {"bin/true", self}, {"ebpf.test", test}, {"src/go.mod", filepath.Join(src, "go.mod")}} {
		if err := c.file(f[0], f[1], 0o755); err != nil {
			return err
		}
	}
	ebpfDir := filepath.Join(src, "kernel", "ebpf")
	if err := filepath.WalkDir(ebpfDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == ebpfDir {
			return err
		}
		rel, _ := filepath.Rel(ebpfDir, p)
		if d.IsDir() {
			c.dir("src/kernel/ebpf/" + rel)
			return nil
		}
		return c.file("src/kernel/ebpf/"+rel, p, 0o644)
	}); err != nil {
		return err
	}
	for _, m := range modules {
		if err := c.file("mods/"+filepath.Base(m)+".ko", filepath.Join(moddirs[0], "kernel", m+".ko"), 0o644); err != nil {
			return err
		}
	}
	initrd := filepath.Join(dir, "initrd.cpio")
	if err := os.WriteFile(initrd, c.close(), 0o644); err != nil {
		return err
	}
	disk := filepath.Join(dir, "disk.img")
	if err := os.WriteFile(disk, nil, 0o644); err != nil {
		return err
	}
	if err := os.Truncate(disk, 128<<20); err != nil {
		return err
	}
	if out, err := exec.Command("mke2fs", "-q", "-F", "-t", "ext4", disk).CombinedOutput(); err != nil {
		return fmt.Errorf("mke2fs: %v: %s", err, out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// TCG on purpose: the same on every CI machine, KVM or not.
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", "-machine", "q35", "-m", "1024", "-smp", "2",
		"-nographic", "-no-reboot", "-kernel", vmlinuz[0], "-initrd", initrd,
		"-drive", "file="+disk+",format=raw,if=virtio",
		"-append", "console=ttyS0 panic=-1 quiet ebpfvm.args="+strings.Join(args, ","))
	var console bytes.Buffer
	cmd.Stdout = io.MultiWriter(os.Stdout, &console)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("qemu: %w", err)
	}
	if !strings.Contains(console.String(), resultLine+"passed") {
		return errors.New("the tests did not pass on " + filepath.Base(vmlinuz[0]))
	}
	return nil
}

// guest is /init: it runs the tests and powers off whatever happens.
func guest() {
	defer func() {
		unix.Sync()
		unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	}()
	for _, m := range [][3]string{
		{"proc", "/proc", "proc"}, {"sys", "/sys", "sysfs"}, {"dev", "/dev", "devtmpfs"},
		{"cgroup2", "/sys/fs/cgroup", "cgroup2"}, {"securityfs", "/sys/kernel/security", "securityfs"},
	} {
		if err := unix.Mount(m[0], m[1], m[2], 0, ""); err != nil {
			fmt.Println("ebpfvm: mount", m[1], err)
		}
	}
	if b, err := os.ReadFile("/proc/version"); err == nil {
		fmt.Print("ebpfvm: ", string(b))
	}
	for _, m := range modules {
		f, err := os.Open("/mods/" + filepath.Base(m) + ".ko")
		if err == nil {
			err = unix.FinitModule(int(f.Fd()), "", 0)
			f.Close()
		}
		if err != nil && err != unix.EEXIST {
			fmt.Println("ebpfvm: load", m, err)
		}
	}
	loopbackUp()
	for i := 0; i < 100; i++ {
		if _, err := os.Stat("/dev/vda"); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := unix.Mount("/dev/vda", "/mnt", "ext4", 0, ""); err != nil {
		fmt.Println("ebpfvm: mount /dev/vda:", err)
	}
	args := []string{"-test.v", "-test.count=1", "-test.timeout=300s"}
	if b, err := os.ReadFile("/proc/cmdline"); err == nil {
		for _, f := range strings.Fields(string(b)) {
			if v, ok := strings.CutPrefix(f, "ebpfvm.args="); ok && v != "" {
				args = append(args, strings.Split(v, ",")...)
			}
		}
	}
	cmd := exec.Command("/ebpf.test", args...)
	cmd.Dir = "/src/kernel/ebpf"
	cmd.Env = []string{"PATH=/bin", "TMPDIR=/mnt", "HOME=/"}
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stdout
	if err := cmd.Run(); err != nil {
		fmt.Println(resultLine+"failed:", err)
		return
	}
	fmt.Println(resultLine + "passed")
}

// loopbackUp brings lo up, which the TCP tests connect over.
func loopbackUp() {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	var ifr [unix.IFNAMSIZ + 24]byte
	copy(ifr[:], "lo")
	*(*uint16)(unsafe.Pointer(&ifr[unix.IFNAMSIZ])) = unix.IFF_UP | unix.IFF_RUNNING
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCSIFFLAGS, uintptr(unsafe.Pointer(&ifr[0]))); e != 0 {
		fmt.Println("ebpfvm: lo up:", e)
	}
}

// cpio writes an initramfs in the kernel's "newc" format.
type cpio struct {
	b   bytes.Buffer
	ino int
}

func (c *cpio) entry(name string, mode uint32, data []byte) {
	c.ino++
	fmt.Fprintf(&c.b, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		c.ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
	c.b.WriteString(name + "\x00")
	c.pad()
	c.b.Write(data)
	c.pad()
}

func (c *cpio) pad() {
	for c.b.Len()%4 != 0 {
		c.b.WriteByte(0)
	}
}

func (c *cpio) dir(names ...string) {
	for _, n := range names {
		c.entry(n, unix.S_IFDIR|0o755, nil)
	}
}

func (c *cpio) file(name, src string, perm uint32) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	c.entry(name, unix.S_IFREG|perm, b)
	return nil
}

func (c *cpio) close() []byte {
	c.entry("TRAILER!!!", 0, nil)
	return c.b.Bytes()
}
