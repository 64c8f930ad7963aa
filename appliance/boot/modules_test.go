package boot

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// A PCI bus with a virtio disk behind it: the first round loads the PCI
// driver, whose devices the second round finds, dependencies first.
func TestLoaderColdplug(t *testing.T) {
	dir, sys := t.TempDir(), t.TempDir()
	write := func(p, s string) {
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "modules.dep"), "ext4.ko: jbd2.ko\njbd2.ko:\nvirtio_pci.ko: virtio.ko\nvirtio.ko:\nvirtio_blk.ko: virtio.ko\ne1000e.ko:\n")
	write(filepath.Join(dir, "modules.alias"), "alias pci:v00001AF4d*sv*sd*bc*sc*i* virtio_pci\n"+
		"alias virtio:d00000002v* virtio_blk\nalias pci:v00008086d000010D3sv*sd*bc*sc*i* e1000e\n")
	write(filepath.Join(dir, "modules.load"), "ext4\n")
	write(filepath.Join(sys, "bus/pci/devices/0000:00:03.0/modalias"), "pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00\n")
	write(filepath.Join(sys, "bus/pci/devices/0000:00:1f.2/modalias"), "pci:v00008086d00002922sv00001AF4sd00001100bc01sc06i01\n")

	l, err := NewLoader(dir, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	l.sys = sys
	l.insmod = func(p string) error { got = append(got, filepath.Base(p)); return nil }
	if err := l.LoadAlways(); err != nil {
		t.Fatal(err)
	}
	if n := l.Coldplug(); n != 2 {
		t.Fatalf("first round loaded %d modules, want virtio and virtio_pci", n)
	}
	// virtio_pci found the disk.
	write(filepath.Join(sys, "bus/virtio/devices/virtio0/modalias"), "virtio:d00000002v00001AF4\n")
	if n := l.Coldplug(); n != 1 {
		t.Fatalf("second round loaded %d modules, want virtio_blk", n)
	}
	if n := l.Coldplug(); n != 0 {
		t.Fatalf("third round loaded %d modules, want none", n)
	}
	want := []string{"jbd2.ko", "ext4.ko", "virtio.ko", "virtio_pci.ko", "virtio_blk.ko"}
	if !slices.Equal(got, want) {
		t.Errorf("loaded %v, want %v", got, want)
	}
}
