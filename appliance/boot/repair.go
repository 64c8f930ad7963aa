package boot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"statbox/storage/whisper"
)

// CleanMarker exists on the data partition while the box is powered off
// cleanly: init removes it at boot and writes it back once statbox has
// drained at power-off. A boot that does not find it follows a power cut
// or a crash, and checks the whisper tree before statbox opens it.
const CleanMarker = DataDir + "/.clean-shutdown"

// QuarantineDir holds whisper files moved aside after an unclean shutdown,
// under their path in the tree: kept for a person to look at, out of the
// way of statbox, which creates the series anew on its next point.
const QuarantineDir = DataDir + "/quarantine"

// Quarantine opens every .wsp file under root and moves the ones whisper
// cannot read (a header of zeros, a size the header does not account for)
// to the same path under dir. It returns how many it checked and moved.
func Quarantine(root, dir string, logf func(string, ...any)) (checked, moved int, err error) {
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") && strings.Contains(d.Name(), ".tmp") {
			// A create the crash cut short, never linked into place.
			os.Remove(p)
			return nil
		}
		if !strings.HasSuffix(p, ".wsp") {
			return nil
		}
		checked++
		f, oerr := whisper.Open(p, whisper.Options{ReadOnly: true})
		if oerr == nil {
			f.Close()
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		dst := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("quarantine %s: %w", rel, err)
		}
		if err := os.Rename(p, dst); err != nil {
			return fmt.Errorf("quarantine %s: %w", rel, err)
		}
		moved++
		logf("quarantined %s: %v", rel, oerr)
		return nil
	})
	if moved > 0 {
		unix.Sync()
	}
	return checked, moved, err
}

// checkUncleanShutdown removes CleanMarker for this boot, durably, and when
// it was missing quarantines what the crash broke.
func checkUncleanShutdown() {
	if err := os.Remove(CleanMarker); err == nil {
		syncDir(DataDir)
		return
	}
	logf("no clean power-off recorded: checking the whisper files")
	checked, moved, err := Quarantine(filepath.Join(DataDir, "whisper"), QuarantineDir, logf)
	if err != nil {
		logf("checking whisper files: %v", err)
	}
	logf("checked %d whisper files, moved %d unreadable ones to %s", checked, moved, QuarantineDir)
}

// markClean records a clean power-off: statbox has drained and synced.
func markClean() {
	if err := os.WriteFile(CleanMarker, nil, 0o644); err != nil {
		logf("clean power-off marker: %v", err)
		return
	}
	syncDir(DataDir)
}

func syncDir(dir string) {
	if fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err == nil {
		unix.Fsync(fd)
		unix.Close(fd)
	}
}
