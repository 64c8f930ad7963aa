package boot

import (
	"bytes"
	"debug/pe"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

// UKIPath is where the image keeps its unified kernel image: the path
// firmware boots from a disk with no boot entries.
const UKIPath = "EFI/BOOT/BOOTX64.EFI"

// UKI is a unified kernel image's parts, as the EFI stub finds them.
type UKI struct {
	Linux, Initrd []byte
	Cmdline       string
}

// ParseUKI reads the .linux, .initrd and .cmdline sections of a unified
// kernel image: what an update is checked with, and what kexec boots.
func ParseUKI(b []byte) (UKI, error) {
	var u UKI
	f, err := pe.NewFile(bytes.NewReader(b))
	if err != nil {
		return u, fmt.Errorf("not a unified kernel image: %w", err)
	}
	defer f.Close()
	for _, name := range []string{".linux", ".initrd", ".cmdline"} {
		s := f.Section(name)
		if s == nil {
			return u, fmt.Errorf("not a unified kernel image: no %s section", name)
		}
		d, err := s.Data()
		if err != nil {
			return u, fmt.Errorf("unified kernel image %s: %w", name, err)
		}
		// A section's data is padded to the file alignment; VirtualSize
		// is what the stub uses.
		if int(s.VirtualSize) < len(d) && s.VirtualSize > 0 {
			d = d[:s.VirtualSize]
		}
		switch name {
		case ".linux":
			u.Linux = d
		case ".initrd":
			u.Initrd = d
		case ".cmdline":
			u.Cmdline = strings.TrimRight(string(d), "\x00\n ")
		}
	}
	if len(u.Linux) < 0x202+4 || string(u.Linux[0x202:0x206]) != "HdrS" {
		return u, errors.New("unified kernel image: .linux is not a Linux bzImage")
	}
	return u, nil
}

// ExtractUKI reads the unified kernel image out of a statbox disk image
// (what make image writes): the GPT's ESP, then UKIPath on its FAT file
// system. It lets `statbox update` take the same file users flash.
func ExtractUKI(img io.ReaderAt) ([]byte, error) {
	start, _, err := findGPTPartition(img, ESPName)
	if err != nil {
		return nil, err
	}
	return readFAT32File(io.NewSectionReader(img, start*512, 1<<40), UKIPath)
}

// findGPTPartition returns a partition's first and last 512-byte sector.
func findGPTPartition(img io.ReaderAt, name string) (int64, int64, error) {
	hdr := make([]byte, 92)
	if _, err := img.ReadAt(hdr, 512); err != nil || string(hdr[:8]) != "EFI PART" {
		return 0, 0, errors.New("not a GPT disk image")
	}
	lba := int64(binary.LittleEndian.Uint64(hdr[72:80]))
	n, size := int64(binary.LittleEndian.Uint32(hdr[80:84])), int64(binary.LittleEndian.Uint32(hdr[84:88]))
	if n > 1024 || size < 128 || size > 1024 {
		return 0, 0, errors.New("GPT: bad entry table")
	}
	ents := make([]byte, n*size)
	if _, err := img.ReadAt(ents, lba*512); err != nil {
		return 0, 0, fmt.Errorf("GPT entries: %w", err)
	}
	for i := int64(0); i < n; i++ {
		e := ents[i*size : (i+1)*size]
		if partName(e) == name {
			return int64(binary.LittleEndian.Uint64(e[32:40])), int64(binary.LittleEndian.Uint64(e[40:48])), nil
		}
	}
	return 0, 0, fmt.Errorf("no partition named %q", name)
}

// readFAT32File reads one file by path from a FAT32 file system. It reads
// short (8.3) names only, which is all the ESP's upper-case paths need.
func readFAT32File(fs io.ReaderAt, path string) ([]byte, error) {
	bs := make([]byte, 512)
	if _, err := fs.ReadAt(bs, 0); err != nil {
		return nil, fmt.Errorf("FAT boot sector: %w", err)
	}
	bps := int64(binary.LittleEndian.Uint16(bs[11:13]))
	spc := int64(bs[13])
	reserved := int64(binary.LittleEndian.Uint16(bs[14:16]))
	nfats := int64(bs[16])
	fatSize := int64(binary.LittleEndian.Uint32(bs[36:40]))
	cluster := uint32(binary.LittleEndian.Uint32(bs[44:48])) // root directory
	if bps == 0 || spc == 0 || fatSize == 0 || string(bs[82:87]) != "FAT32" {
		return nil, errors.New("the ESP is not FAT32")
	}
	fat := make([]byte, fatSize*bps)
	if _, err := fs.ReadAt(fat, reserved*bps); err != nil {
		return nil, fmt.Errorf("FAT: %w", err)
	}
	dataStart := (reserved + nfats*fatSize) * bps
	clusterSize := spc * bps
	readChain := func(c uint32, limit int64) ([]byte, error) {
		var out []byte
		for n := 0; c >= 2 && c < 0x0ffffff8; n++ {
			if n > len(fat)/4 {
				return nil, errors.New("FAT: cluster chain loops")
			}
			buf := make([]byte, clusterSize)
			if _, err := fs.ReadAt(buf, dataStart+int64(c-2)*clusterSize); err != nil {
				return nil, fmt.Errorf("FAT cluster %d: %w", c, err)
			}
			out = append(out, buf...)
			if limit >= 0 && int64(len(out)) >= limit {
				return out[:limit], nil
			}
			if int(c)*4+4 > len(fat) {
				return nil, errors.New("FAT: cluster out of range")
			}
			c = binary.LittleEndian.Uint32(fat[c*4:]) & 0x0fffffff
		}
		return out, nil
	}
	parts := strings.Split(path, "/")
	for i, p := range parts {
		dir, err := readChain(cluster, -1)
		if err != nil {
			return nil, err
		}
		want := shortName(p)
		found := false
		for off := 0; off+32 <= len(dir); off += 32 {
			e := dir[off : off+32]
			if e[0] == 0 {
				break
			}
			if e[0] == 0xe5 || e[11] == 0x0f || string(e[:11]) != want {
				continue
			}
			cluster = uint32(binary.LittleEndian.Uint16(e[20:22]))<<16 | uint32(binary.LittleEndian.Uint16(e[26:28]))
			if i == len(parts)-1 {
				return readChain(cluster, int64(binary.LittleEndian.Uint32(e[28:32])))
			}
			found = true
			break
		}
		if !found {
			return nil, fmt.Errorf("ESP: no %s", strings.Join(parts[:i+1], "/"))
		}
	}
	return nil, fmt.Errorf("ESP: no %s", path)
}

// shortName is a name's 11-byte 8.3 directory form: "BOOTX64 EFI".
func shortName(n string) string {
	base, ext, _ := strings.Cut(strings.ToUpper(n), ".")
	return fmt.Sprintf("%-8.8s%-3.3s", base, ext)
}
