package boot

import (
	"os"
	"path/filepath"
	"testing"

	"statbox/storage/whisper"
)

// After a power cut, a file whose blocks never reached the disk reads as
// zeros: it goes to quarantine, a good file and other files stay.
func TestQuarantine(t *testing.T) {
	root, q := filepath.Join(t.TempDir(), "whisper"), filepath.Join(t.TempDir(), "quarantine")
	good := filepath.Join(root, "a", "good.wsp")
	os.MkdirAll(filepath.Dir(good), 0o755)
	if err := whisper.Create(good, []whisper.Retention{{SecondsPerPoint: 10, Points: 60}}, whisper.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	zeros := filepath.Join(root, "a", "b", "zeros.wsp")
	os.MkdirAll(filepath.Dir(zeros), 0o755)
	os.WriteFile(zeros, make([]byte, 4096), 0o644)
	tmp := filepath.Join(root, "a", ".x.wsp.tmp12.3")
	os.WriteFile(tmp, make([]byte, 100), 0o644)
	os.WriteFile(filepath.Join(root, "notes.txt"), []byte("hi"), 0o644)

	checked, moved, err := Quarantine(root, q, t.Logf)
	if err != nil || checked != 2 || moved != 1 {
		t.Fatalf("Quarantine = %d checked, %d moved, %v; want 2, 1", checked, moved, err)
	}
	for _, p := range []string{good, filepath.Join(q, "a", "b", "zeros.wsp"), filepath.Join(root, "notes.txt")} {
		if _, err := os.Stat(p); err != nil {
			t.Error(err)
		}
	}
	for _, p := range []string{zeros, tmp} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s is still there", p)
		}
	}
}
