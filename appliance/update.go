package appliance

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"statbox/appliance/boot"
)

// maxUpdate bounds an uploaded unified kernel image: ours is about 15 MiB.
const maxUpdate = 256 << 20

// updateHandler is POST /update on the appliance (statbox run
// --update-dir): it checks the body is a unified kernel image and stores
// it for statbox-init, which tries it once (images/README.md).
func updateHandler(dir string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(io.LimitReader(r.Body, maxUpdate+1))
		if err != nil {
			http.Error(w, "reading the upload: "+err.Error()+"\n", http.StatusBadRequest)
			return
		}
		if len(b) > maxUpdate {
			http.Error(w, "the upload is larger than any unified kernel image\n", http.StatusRequestEntityTooLarge)
			return
		}
		if _, err := boot.ParseUKI(b); err != nil {
			http.Error(w, err.Error()+"\n", http.StatusBadRequest)
			return
		}
		if err := writeSynced(filepath.Join(dir, boot.NextUKIName), b); err != nil {
			http.Error(w, "storing the update: "+err.Error()+"\n", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, "update stored: the box restarts into it and keeps it once /health is green\n")
	})
}

// writeSynced writes b to path under a temporary name, synced, then renames
// it into place, so init never sees half an update.
func writeSynced(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".part"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// Update is `statbox update URL FILE`: it sends the system in FILE (a disk
// image from make image, or its unified kernel image) to the appliance at
// URL, which tries it once and keeps it only if it comes up.
func Update(args []string, stdout, stderr io.Writer) int {
	if len(args) != 2 {
		fmt.Fprintln(stderr, "usage: statbox update http://BOX:8080 statbox.img")
		return 2
	}
	url, file := strings.TrimSuffix(args[0], "/"), args[1]
	uki, err := readUpdate(file)
	if err != nil {
		fmt.Fprintf(stderr, "statbox update: %s: %v\n", file, err)
		return 1
	}
	c := http.Client{Timeout: 5 * time.Minute}
	resp, err := c.Post(url+"/update", "application/efi", bytes.NewReader(uki))
	if err != nil {
		fmt.Fprintln(stderr, "statbox update:", err)
		return 1
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusAccepted {
		fmt.Fprintf(stderr, "statbox update: %s: %s", resp.Status, msg)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %s", url, msg)
	return 0
}

// readUpdate returns the unified kernel image in file: the file itself, or
// the one on a disk image's EFI system partition.
func readUpdate(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	magic := make([]byte, 2)
	if _, err := f.ReadAt(magic, 0); err != nil {
		return nil, err
	}
	var uki []byte
	if string(magic) == "MZ" {
		uki, err = io.ReadAll(f)
	} else {
		uki, err = boot.ExtractUKI(f)
	}
	if err != nil {
		return nil, err
	}
	if _, err := boot.ParseUKI(uki); err != nil {
		return nil, err
	}
	return uki, nil
}
