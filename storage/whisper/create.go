package whisper

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// CreateOptions are the settings of a new file. The zero value is whisper.py's
// default: xFilesFactor 0.5, average, every byte allocated on disk.
type CreateOptions struct {
	XFilesFactor      float64 // used when XFilesFactorSet, else 0.5; stored as float32
	XFilesFactorSet   bool
	AggregationMethod AggregationMethod // 0 means average
	// Sparse leaves the archives as a hole, as whisper.py's sparse=True does.
	// By default the archives are allocated, as whisper.py's zero-filling does
	// (with fallocate(2) where the file system has it: the same bytes, faster).
	Sparse bool
}

// ErrExists matches, with errors.Is, Create's error when the file is
// already there.
var ErrExists = errors.New("file exists")

// existsError says what whisper.py's InvalidConfiguration says.
type existsError struct{ path string }

func (e *existsError) Error() string        { return "File " + e.path + " already exists!" }
func (e *existsError) Is(target error) bool { return target == ErrExists }

var tmpSeq atomic.Uint64

// Create makes a whisper file at path with the given archives, after
// ValidateArchiveList (which sorts them). The file is written under a
// temporary name in the same directory, synced, and linked into place only
// when complete, so a full disk, a crash or a power cut never leaves a
// half-written file at path, and an existing file is never replaced.
func Create(path string, archives []Retention, opts CreateOptions) error {
	if err := ValidateArchiveList(archives); err != nil {
		return err
	}
	if _, err := os.Lstat(path); err == nil {
		return &existsError{path}
	}
	h, err := NewHeader(archives, opts)
	if err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp"+strconv.Itoa(os.Getpid())+"."+strconv.FormatUint(tmpSeq.Add(1), 10))
	fd, err := unix.Open(tmp, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o666)
	if err != nil {
		return &os.PathError{Op: "create", Path: tmp, Err: err}
	}
	err = writeNew(fd, &h, opts.Sparse)
	if err == nil {
		// On disk before its name is: ext4 may commit the rename before the
		// data, and a power cut then leaves a file of zeros at path, which
		// no whisper reader can open (seen in the appliance image's
		// hard-kill test).
		if err = unix.Fdatasync(fd); err != nil {
			err = fmt.Errorf("fdatasync: %w", err)
		}
	}
	if e := unix.Close(fd); err == nil && e != nil {
		err = e
	}
	if err == nil {
		err = unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, path, unix.RENAME_NOREPLACE)
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
			// No RENAME_NOREPLACE here: link(2) refuses to replace too.
			if err = unix.Link(tmp, path); err == nil {
				unix.Unlink(tmp)
			}
		}
		if errors.Is(err, unix.EEXIST) {
			err = &existsError{path}
		} else if err != nil {
			err = &os.PathError{Op: "rename", Path: path, Err: err}
		}
	} else {
		err = &os.PathError{Op: "create", Path: path, Err: err}
	}
	if err != nil {
		unix.Unlink(tmp)
	}
	return err
}

// NewHeader lays out the header of a file holding archives, which must
// already be validated and sorted.
func NewHeader(archives []Retention, opts CreateOptions) (Header, error) {
	h := Header{AggregationMethod: opts.AggregationMethod, XFilesFactor: 0.5}
	xff := 0.5
	if h.AggregationMethod == 0 {
		h.AggregationMethod = Average
	}
	if !h.AggregationMethod.Valid() {
		return h, fmt.Errorf("Unrecognized aggregation method: %d", opts.AggregationMethod)
	}
	if opts.XFilesFactorSet {
		xff = opts.XFilesFactor
	}
	if !(xff >= 0 && xff <= 1) {
		return h, fmt.Errorf("Invalid xFilesFactor %v, not between 0 and 1", xff)
	}
	h.XFilesFactor = float32(xff)
	offset := int64(MetadataSize + len(archives)*ArchiveInfoSize)
	var oldest int64
	for _, r := range archives {
		if offset > 1<<32-1 {
			return h, fmt.Errorf("archives of %d bytes do not fit whisper's 32-bit offsets", offset)
		}
		h.Archives = append(h.Archives, ArchiveInfo{Offset: uint32(offset), SecondsPerPoint: r.SecondsPerPoint, Points: r.Points})
		offset += int64(r.Points) * PointSize
		oldest = max(oldest, r.Seconds())
	}
	if oldest > 1<<32-1 {
		return h, fmt.Errorf("a retention of %d seconds does not fit whisper's 32-bit field", oldest)
	}
	h.MaxRetention = uint32(oldest)
	return h, nil
}

func writeNew(fd int, h *Header, sparse bool) error {
	hdr := AppendHeader(make([]byte, 0, h.Size()), h)
	if _, err := unix.Pwrite(fd, hdr, 0); err != nil {
		return err
	}
	size := h.FileSize()
	if sparse {
		return unix.Ftruncate(fd, size)
	}
	err := unix.Fallocate(fd, 0, int64(len(hdr)), size-int64(len(hdr)))
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) {
		return writeZeros(fd, int64(len(hdr)), size)
	}
	return err
}

func writeZeros(fd int, from, to int64) error {
	zeros := make([]byte, 64<<10)
	for from < to {
		n := min(int64(len(zeros)), to-from)
		w, err := unix.Pwrite(fd, zeros[:n], from)
		if err != nil {
			return err
		}
		from += int64(w)
	}
	return nil
}
