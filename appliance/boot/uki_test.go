package boot

import (
	"os"
	"strings"
	"testing"
)

// The image make image built, when there is one: its UKI comes out whole.
func TestExtractUKI(t *testing.T) {
	img := os.Getenv("STATBOX_IMAGE")
	if img == "" {
		img = "../../images/out/statbox.img"
	}
	f, err := os.Open(img)
	if err != nil {
		t.Skipf("no image to read (make image): %v", err)
	}
	defer f.Close()
	b, err := ExtractUKI(f)
	if err != nil {
		t.Fatal(err)
	}
	u, err := ParseUKI(b)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(u.Cmdline, "console=ttyS0") || len(u.Initrd) < 1<<20 {
		t.Errorf("UKI: cmdline %q, initrd %d bytes", u.Cmdline, len(u.Initrd))
	}
	if _, err := ParseUKI(b[:len(b)/2]); err == nil {
		t.Error("half a UKI parsed")
	}
}
