package boot

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"unicode/utf16"
)

// GrowPartition moves the GPT's backup copy to the end of the disk and
// extends the partition named name, which must be the last one, to the new
// end. A written image is smaller than the disk it lands on: this is what
// makes the data partition fill the disk on first boot. It reports whether
// it changed anything; on a disk already grown it writes nothing.
//
// Backup header and entries are written first, then the primary ones: a
// power cut in between leaves a primary table that is still whole.
func GrowPartition(disk *os.File, sectorSize int64, name string) (bool, error) {
	st, err := disk.Seek(0, 2)
	if err != nil {
		return false, fmt.Errorf("gpt: disk size: %w", err)
	}
	lastLBA := st/sectorSize - 1
	hdr := make([]byte, sectorSize)
	if _, err := disk.ReadAt(hdr, sectorSize); err != nil {
		return false, fmt.Errorf("gpt: read header: %w", err)
	}
	if string(hdr[:8]) != "EFI PART" {
		return false, errors.New("gpt: no GPT header at LBA 1")
	}
	hsize := binary.LittleEndian.Uint32(hdr[12:16])
	if hsize < 92 || int64(hsize) > sectorSize {
		return false, fmt.Errorf("gpt: header size %d", hsize)
	}
	if headerCRC(hdr[:hsize]) != binary.LittleEndian.Uint32(hdr[16:20]) {
		return false, errors.New("gpt: primary header checksum mismatch")
	}
	entriesLBA := int64(binary.LittleEndian.Uint64(hdr[72:80]))
	n := int64(binary.LittleEndian.Uint32(hdr[80:84]))
	esize := int64(binary.LittleEndian.Uint32(hdr[84:88]))
	if n <= 0 || n > 1024 || esize < 128 || esize > 1024 {
		return false, fmt.Errorf("gpt: %d entries of %d bytes", n, esize)
	}
	entries := make([]byte, n*esize)
	if _, err := disk.ReadAt(entries, entriesLBA*sectorSize); err != nil {
		return false, fmt.Errorf("gpt: read entries: %w", err)
	}
	if crc32.ChecksumIEEE(entries) != binary.LittleEndian.Uint32(hdr[88:92]) {
		return false, errors.New("gpt: partition entries checksum mismatch")
	}
	entrySectors := (n*esize + sectorSize - 1) / sectorSize
	lastUsable := lastLBA - entrySectors - 1
	// The partition ends on a MiB boundary, as partitioning tools align.
	align := max(1, (1<<20)/sectorSize)
	newEnd := (lastUsable+1)/align*align - 1

	target, maxEnd := int64(-1), int64(0)
	for i := int64(0); i < n; i++ {
		e := entries[i*esize : (i+1)*esize]
		if bytes.Equal(e[:16], make([]byte, 16)) {
			continue
		}
		end := int64(binary.LittleEndian.Uint64(e[40:48]))
		maxEnd = max(maxEnd, end)
		if partName(e) == name {
			target = i
		}
	}
	if target < 0 {
		return false, fmt.Errorf("gpt: no partition named %q", name)
	}
	e := entries[target*esize : (target+1)*esize]
	end := int64(binary.LittleEndian.Uint64(e[40:48]))
	if end != maxEnd {
		return false, fmt.Errorf("gpt: partition %q is not the last one", name)
	}
	alt := int64(binary.LittleEndian.Uint64(hdr[32:40]))
	if alt == lastLBA && end >= newEnd {
		return false, nil
	}
	if newEnd < end {
		return false, fmt.Errorf("gpt: the disk (%d sectors) is smaller than the table says", lastLBA+1)
	}
	binary.LittleEndian.PutUint64(e[40:48], uint64(newEnd))
	ecrc := crc32.ChecksumIEEE(entries)

	backupEntries := lastLBA - entrySectors
	backup := bytes.Clone(hdr[:hsize])
	binary.LittleEndian.PutUint64(backup[24:32], uint64(lastLBA)) // MyLBA
	binary.LittleEndian.PutUint64(backup[32:40], 1)               // AlternateLBA
	binary.LittleEndian.PutUint64(backup[48:56], uint64(lastUsable))
	binary.LittleEndian.PutUint64(backup[72:80], uint64(backupEntries))
	binary.LittleEndian.PutUint32(backup[88:92], ecrc)
	binary.LittleEndian.PutUint32(backup[16:20], headerCRC(backup))
	backup = append(backup, make([]byte, sectorSize-int64(hsize))...)

	primary := bytes.Clone(hdr[:hsize])
	binary.LittleEndian.PutUint64(primary[32:40], uint64(lastLBA))
	binary.LittleEndian.PutUint64(primary[48:56], uint64(lastUsable))
	binary.LittleEndian.PutUint32(primary[88:92], ecrc)
	binary.LittleEndian.PutUint32(primary[16:20], headerCRC(primary))

	for _, w := range []struct {
		b   []byte
		lba int64
	}{{entries, backupEntries}, {backup, lastLBA}, {entries, entriesLBA}, {primary, 1}} {
		if _, err := disk.WriteAt(w.b, w.lba*sectorSize); err != nil {
			return false, fmt.Errorf("gpt: write at LBA %d: %w", w.lba, err)
		}
		if err := disk.Sync(); err != nil {
			return false, fmt.Errorf("gpt: sync: %w", err)
		}
	}
	if err := fixProtectiveMBR(disk, lastLBA); err != nil {
		return false, err
	}
	return true, nil
}

// fixProtectiveMBR makes the protective MBR's one partition cover the disk,
// as the UEFI spec asks (capped at 2^32-1 sectors).
func fixProtectiveMBR(disk *os.File, lastLBA int64) error {
	mbr := make([]byte, 512)
	if _, err := disk.ReadAt(mbr, 0); err != nil {
		return fmt.Errorf("gpt: read mbr: %w", err)
	}
	if mbr[510] != 0x55 || mbr[511] != 0xaa || mbr[446+4] != 0xee {
		return nil
	}
	binary.LittleEndian.PutUint32(mbr[446+12:446+16], uint32(min(lastLBA, 0xffffffff)))
	if _, err := disk.WriteAt(mbr, 0); err != nil {
		return fmt.Errorf("gpt: write mbr: %w", err)
	}
	return disk.Sync()
}

func headerCRC(h []byte) uint32 {
	c := bytes.Clone(h)
	clear(c[16:20])
	return crc32.ChecksumIEEE(c)
}

// partName decodes an entry's UTF-16LE name.
func partName(e []byte) string {
	u := make([]uint16, 0, 36)
	for i := 56; i+1 < 128; i += 2 {
		c := binary.LittleEndian.Uint16(e[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}
