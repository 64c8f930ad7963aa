// Command mkimage builds the statbox appliance's disk image (images/) from
// Debian's kernel package, statbox and statbox-init, without root and
// without loop mounts: a GPT disk with an EFI system partition holding a
// unified kernel image and an ext4 data partition. See images/README.md.
package main

import (
	"bytes"
	"debug/pe"
	"encoding/binary"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Fixed identifiers, so two builds give the same bytes; a box tells its
// partitions apart by GPT name, not by these.
const (
	diskGUID  = "5a7b0c00-0000-4000-8000-000000000001"
	espGUID   = "5a7b0c00-0000-4000-8000-0000000000e5"
	dataGUID  = "5a7b0c00-0000-4000-8000-0000000000da"
	ext4UUID  = "5a7b0c00-0000-4000-8000-0000000000f5"
	ext4Hash  = "5a7b0c00-0000-4000-8000-0000000000a5"
	fatSerial = "5a7b0c00"

	espTypeGUID   = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
	linuxTypeGUID = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"

	mib = 1 << 20
)

// bootModules are loaded at every boot: the file systems of the two
// partitions, the power button as an input device, EFI variables.
var bootModules = []string{
	"ext4", "crc32c_generic", "vfat", "nls_cp437", "nls_ascii", "nls_utf8",
	"button", "evdev", "efivarfs",
}

// hardwareModules are shipped and loaded when a device present asks for
// one by modalias: disks and NICs of common small servers and of qemu.
// Their dependencies come along.
var hardwareModules = []string{
	// qemu and other hypervisors
	"virtio_pci", "virtio_blk", "virtio_scsi", "virtio_net", "virtio_rng",
	// disks: SATA, NVMe, USB sticks
	"ahci", "sd_mod", "nvme", "xhci_pci", "ehci_pci", "usb_storage", "uas",
	"crc32c_intel",
	// NICs
	"e1000", "e1000e", "igb", "igc", "r8169", "tg3",
}

func main() {
	var (
		kernel   = flag.String("kernel", "", "`DIR` where Debian's linux-image package is extracted (dpkg-deb -x)")
		statbox  = flag.String("statbox", "", "static statbox binary")
		initBin  = flag.String("init", "", "static statbox-init binary")
		stub     = flag.String("stub", "/usr/lib/systemd/boot/efi/linuxx64.efi.stub", "systemd's EFI stub for the unified kernel image")
		espFiles = flag.String("esp", "", "`DIR` copied to the root of the EFI system partition (statbox.conf)")
		schemas  = flag.String("schemas", "", "`DIR` whose *.conf (storage-schemas.conf, storage-aggregation.conf) go to conf/ on the EFI system partition")
		cmdline  = flag.String("cmdline", "console=tty0 console=ttyS0,115200 panic=10 quiet", "kernel command line")
		version  = flag.String("version", "dev", "version written into the image's os-release")
		work     = flag.String("work", "images/out/work", "scratch `DIR`")
		out      = flag.String("o", "images/out/statbox.img", "disk image to write")
		espMiB   = flag.Int64("esp-size", 64, "EFI system partition size, MiB")
		dataMiB  = flag.Int64("data-size", 16, "data partition size, MiB, before it grows to fill the disk on first boot")
	)
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("mkimage: ")
	if *kernel == "" || *statbox == "" || *initBin == "" {
		log.Fatal("-kernel, -statbox and -init are required")
	}
	epoch := int64(0)
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		var err error
		if epoch, err = strconv.ParseInt(s, 10, 64); err != nil {
			log.Fatalf("SOURCE_DATE_EPOCH: %v", err)
		}
	}
	b := builder{kernel: *kernel, work: *work, epoch: epoch}
	if err := b.build(*statbox, *initBin, *stub, *espFiles, *schemas, *cmdline, *version, *out, *espMiB, *dataMiB); err != nil {
		log.Fatal(err)
	}
}

type builder struct {
	kernel, work string
	epoch        int64
}

func (b *builder) build(statbox, initBin, stub, espFiles, schemas, cmdline, version, out string, espMiB, dataMiB int64) error {
	os.RemoveAll(b.work)
	if err := os.MkdirAll(b.work, 0o755); err != nil {
		return err
	}
	kver, vmlinuz, err := b.findKernel()
	if err != nil {
		return err
	}
	initrd, err := b.initramfs(kver, statbox, initBin)
	if err != nil {
		return err
	}
	uki, err := b.uki(stub, vmlinuz, initrd, cmdline, version, kver)
	if err != nil {
		return err
	}
	esp, err := b.esp(uki, espFiles, schemas, espMiB)
	if err != nil {
		return err
	}
	data, err := b.data(dataMiB)
	if err != nil {
		return err
	}
	if err := b.disk(out, esp, data, espMiB, dataMiB); err != nil {
		return err
	}
	st, err := os.Stat(out)
	if err != nil {
		return err
	}
	log.Printf("%s: %d MiB (kernel %s, UKI %.1f MiB)", out, st.Size()/mib, kver, float64(size(uki))/mib)
	return nil
}

func size(p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return st.Size()
}

// findKernel finds the one kernel in the extracted package.
func (b *builder) findKernel() (string, string, error) {
	m, _ := filepath.Glob(filepath.Join(b.kernel, "boot", "vmlinuz-*"))
	if len(m) != 1 {
		return "", "", fmt.Errorf("want one boot/vmlinuz-* under %s, found %d", b.kernel, len(m))
	}
	return strings.TrimPrefix(filepath.Base(m[0]), "vmlinuz-"), m[0], nil
}

func (b *builder) initramfs(kver, statbox, initBin string) (string, error) {
	mods, dep, alias, err := resolveModules(filepath.Join(b.kernel, "lib", "modules", kver), append(bootModules, hardwareModules...), log.Printf)
	if err != nil {
		return "", err
	}
	entries := []cpioEntry{{name: "dev/console", mode: sIFCHR | 0o600, rdev: [2]uint32{5, 1}}}
	for _, d := range []string{"bin", "boot", "data", "dev", "etc", "lib", "lib/modules", "proc", "run", "sys", "tmp"} {
		entries = append(entries, cpioEntry{name: d, mode: sIFDIR | 0o755})
	}
	add := func(name, src string, mode uint32) error {
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		entries = append(entries, cpioEntry{name: name, mode: sIFREG | mode, data: data})
		return nil
	}
	if err := add("init", initBin, 0o755); err != nil {
		return "", err
	}
	if err := add("bin/statbox", statbox, 0o755); err != nil {
		return "", err
	}
	for name, p := range mods {
		if err := add("lib/modules/"+name+".ko", p, 0o644); err != nil {
			return "", err
		}
	}
	entries = append(entries,
		cpioEntry{name: "lib/modules/modules.dep", mode: sIFREG | 0o644, data: dep},
		cpioEntry{name: "lib/modules/modules.alias", mode: sIFREG | 0o644, data: alias},
		cpioEntry{name: "lib/modules/modules.load", mode: sIFREG | 0o644, data: []byte(strings.Join(bootModules, "\n") + "\n")})
	var raw bytes.Buffer
	if err := writeCpio(&raw, entries, b.epoch); err != nil {
		return "", err
	}
	gz, err := gzipped(raw.Bytes())
	if err != nil {
		return "", err
	}
	p := filepath.Join(b.work, "initramfs.cpio.gz")
	log.Printf("initramfs: %.1f MiB, %.1f MiB compressed", float64(raw.Len())/mib, float64(len(gz))/mib)
	return p, os.WriteFile(p, gz, 0o644)
}

// uki joins systemd's EFI stub, the kernel, the initramfs and the command
// line into one EFI program: the sections go after the stub's own, at
// addresses read from its PE header, as ukify would place them.
func (b *builder) uki(stub, vmlinuz, initrd, cmdline, version, kver string) (string, error) {
	f, err := pe.Open(stub)
	if err != nil {
		return "", fmt.Errorf("EFI stub: %w", err)
	}
	oh, ok := f.OptionalHeader.(*pe.OptionalHeader64)
	if !ok {
		f.Close()
		return "", fmt.Errorf("EFI stub %s is not PE32+", stub)
	}
	end := uint64(0)
	for _, s := range f.Sections {
		end = max(end, uint64(s.VirtualAddress)+uint64(max(s.VirtualSize, s.Size)))
	}
	f.Close()
	align := func(v uint64) uint64 { return (v + 0xfff) &^ 0xfff }
	osrel := filepath.Join(b.work, "os-release")
	cmd := filepath.Join(b.work, "cmdline")
	os.WriteFile(osrel, fmt.Appendf(nil, "NAME=statbox\nID=statbox\nPRETTY_NAME=\"statbox %s\"\nVERSION_ID=%s\nKERNEL=%s\n", version, version, kver), 0o644)
	os.WriteFile(cmd, []byte(cmdline+"\x00"), 0o644)
	args := []string{}
	vma := align(oh.ImageBase + end)
	for _, s := range []struct{ name, file string }{{".osrel", osrel}, {".cmdline", cmd}, {".linux", vmlinuz}, {".initrd", initrd}} {
		args = append(args, "--add-section", s.name+"="+s.file, "--change-section-vma", fmt.Sprintf("%s=%#x", s.name, vma))
		vma = align(vma + uint64(size(s.file)))
	}
	out := filepath.Join(b.work, "BOOTX64.EFI")
	if err := run("objcopy", append(args, stub, out)...); err != nil {
		return "", err
	}
	return out, stampPE(out, b.epoch)
}

// esp makes the FAT32 EFI system partition with mtools: the UKI as the
// removable-media boot path EFI/BOOT/BOOTX64.EFI, and the user's files.
func (b *builder) esp(uki, files, schemas string, sizeMiB int64) (string, error) {
	p := filepath.Join(b.work, "esp.img")
	if err := truncate(p, sizeMiB*mib); err != nil {
		return "", err
	}
	if err := run("mkfs.vfat", "--invariant", "-i", fatSerial, "-F", "32", "-S", "512", "-s", "1", "-n", "STATBOX", p); err != nil {
		return "", err
	}
	// mtools stamps what it writes with the source file's mtime (-m), so
	// every file gets SOURCE_DATE_EPOCH first.
	stage := filepath.Join(b.work, "esp")
	if err := os.MkdirAll(filepath.Join(stage, "EFI", "BOOT"), 0o755); err != nil {
		return "", err
	}
	if err := copyFile(uki, filepath.Join(stage, "EFI", "BOOT", "BOOTX64.EFI")); err != nil {
		return "", err
	}
	if files != "" {
		if err := run("cp", "-r", files+"/.", stage); err != nil {
			return "", err
		}
	}
	if schemas != "" {
		confs, _ := filepath.Glob(filepath.Join(schemas, "*.conf"))
		os.MkdirAll(filepath.Join(stage, "conf"), 0o755)
		for _, c := range confs {
			if err := copyFile(c, filepath.Join(stage, "conf", filepath.Base(c))); err != nil {
				return "", err
			}
		}
	}
	t := time.Unix(b.epoch, 0)
	var top []string
	err := filepath.Walk(stage, func(path string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if filepath.Dir(path) == stage {
			top = append(top, path)
		}
		return os.Chtimes(path, t, t)
	})
	if err != nil {
		return "", err
	}
	if err := run("mcopy", append(append([]string{"-s", "-m", "-Q", "-i", p}, top...), "::/")...); err != nil {
		return "", err
	}
	return p, nil
}

// data makes the ext4 data partition with mke2fs -d: an empty whisper
// tree, fixed UUID and hash seed, and times from SOURCE_DATE_EPOCH.
func (b *builder) data(sizeMiB int64) (string, error) {
	stage := filepath.Join(b.work, "data")
	if err := os.MkdirAll(filepath.Join(stage, "whisper"), 0o755); err != nil {
		return "", err
	}
	// A new disk counts as cleanly shut down: no whisper check at first boot.
	if err := os.WriteFile(filepath.Join(stage, ".clean-shutdown"), nil, 0o644); err != nil {
		return "", err
	}
	t := time.Unix(b.epoch, 0)
	os.Chtimes(filepath.Join(stage, ".clean-shutdown"), t, t)
	os.Chtimes(filepath.Join(stage, "whisper"), t, t)
	os.Chtimes(stage, t, t)
	p := filepath.Join(b.work, "data.img")
	c := exec.Command("mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-L", "statbox-data", "-U", ext4UUID,
		"-E", "hash_seed="+ext4Hash+",root_owner=0:0,lazy_itable_init=0", "-m", "1", "-d", stage, p, fmt.Sprintf("%dM", sizeMiB))
	c.Env = append(os.Environ(), fmt.Sprintf("E2FSPROGS_FAKE_TIME=%d", b.epoch), "MKE2FS_DEVICE_SECTSIZE=512")
	if o, err := c.CombinedOutput(); err != nil {
		return "", fmt.Errorf("mke2fs: %v: %s", err, o)
	}
	// mke2fs -d copies each file's ctime, which no one can set on the
	// staging tree: debugfs sets every time of every inode to the epoch.
	var script strings.Builder
	paths := []string{"/", "/lost+found"}
	filepath.Walk(stage, func(path string, _ os.FileInfo, err error) error {
		if err == nil && path != stage {
			paths = append(paths, strings.TrimPrefix(path, stage))
		}
		return err
	})
	for _, ip := range paths {
		for _, f := range []string{"atime", "ctime", "mtime", "crtime"} {
			fmt.Fprintf(&script, "sif %s %s @%d\n", ip, f, b.epoch)
		}
	}
	d := exec.Command("debugfs", "-w", "-f", "-", p)
	d.Stdin = strings.NewReader(script.String())
	d.Env = c.Env
	if o, err := d.CombinedOutput(); err != nil {
		return "", fmt.Errorf("debugfs: %v: %s", err, o)
	}
	return p, nil
}

// disk lays out the GPT with sfdisk on a plain file and copies the two
// file systems in at their partitions' offsets.
func (b *builder) disk(out, esp, data string, espMiB, dataMiB int64) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	tmp := out + ".tmp"
	os.Remove(tmp)
	// 1 MiB before the ESP, 1 MiB after the data partition for the backup GPT.
	total := (1 + espMiB + dataMiB + 1) * mib
	if err := truncate(tmp, total); err != nil {
		return err
	}
	script := fmt.Sprintf(`label: gpt
label-id: %s
unit: sectors
first-lba: 2048
sector-size: 512

start=2048, size=%d, type=%s, uuid=%s, name="statbox-esp"
start=%d, size=%d, type=%s, uuid=%s, name="statbox-data"
`, diskGUID, espMiB*mib/512, espTypeGUID, espGUID, (1+espMiB)*mib/512, dataMiB*mib/512, linuxTypeGUID, dataGUID)
	c := exec.Command("sfdisk", "--quiet", "--no-reread", "--no-tell-kernel", tmp)
	c.Stdin = strings.NewReader(script)
	if o, err := c.CombinedOutput(); err != nil {
		return fmt.Errorf("sfdisk: %v: %s", err, o)
	}
	f, err := os.OpenFile(tmp, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	for _, p := range []struct {
		file string
		off  int64
	}{{esp, 1 * mib}, {data, (1 + espMiB) * mib}} {
		img, err := os.ReadFile(p.file)
		if err != nil {
			f.Close()
			return err
		}
		if _, err := f.WriteAt(img, p.off); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}

// stampPE sets the PE header's TimeDateStamp, which objcopy sets to the
// time of the build, to epoch, and recomputes the image checksum over it.
func stampPE(path string, epoch int64) error {
	img, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if len(img) < 0x40 {
		return fmt.Errorf("%s: too short for a PE image", path)
	}
	peOff := int(binary.LittleEndian.Uint32(img[0x3c:]))
	sumOff := peOff + 24 + 64 // COFF header, then the optional header's CheckSum
	if len(img) < sumOff+4 || string(img[peOff:peOff+4]) != "PE\x00\x00" {
		return fmt.Errorf("%s: no PE header", path)
	}
	binary.LittleEndian.PutUint32(img[peOff+8:], uint32(epoch))
	binary.LittleEndian.PutUint32(img[sumOff:], 0)
	// The PE checksum: 16-bit one's-complement-style sum, plus the length.
	var sum uint32
	for i := 0; i+1 < len(img); i += 2 {
		sum += uint32(binary.LittleEndian.Uint16(img[i:]))
		sum = (sum & 0xffff) + sum>>16
	}
	if len(img)%2 == 1 {
		sum += uint32(img[len(img)-1])
		sum = (sum & 0xffff) + sum>>16
	}
	sum = (sum & 0xffff) + sum>>16
	binary.LittleEndian.PutUint32(img[sumOff:], sum+uint32(len(img)))
	return os.WriteFile(path, img, 0o644)
}

func truncate(p string, n int64) error {
	os.Remove(p)
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	if err := f.Truncate(n); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

func run(name string, args ...string) error {
	c := exec.Command(name, args...)
	c.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
	if o, err := c.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %v: %s", name, err, o)
	}
	return nil
}
