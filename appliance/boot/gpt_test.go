package boot

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGrowPartition lays out a disk with sfdisk, as images/mkimage does,
// "writes" it to a larger disk and grows it, then has sfdisk check the result.
func TestGrowPartition(t *testing.T) {
	sfdisk, err := exec.LookPath("sfdisk")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("sfdisk missing (fdisk package)")
		}
		t.Skip("sfdisk missing (fdisk package)")
	}
	p := filepath.Join(t.TempDir(), "disk.img")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(20 << 20); err != nil {
		t.Fatal(err)
	}
	c := exec.Command(sfdisk, "--quiet", "--no-reread", "--no-tell-kernel", p)
	c.Stdin = strings.NewReader("label: gpt\nunit: sectors\n" +
		"start=2048, size=8192, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=\"statbox-esp\"\n" +
		"start=10240, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=\"statbox-data\"\n")
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("sfdisk: %v: %s", err, out)
	}
	if _, err := GrowPartition(f, 512, "statbox-esp"); err == nil || !strings.Contains(err.Error(), "not the last") {
		t.Fatalf("growing a partition that is not the last: err = %v", err)
	}
	if grown, err := GrowPartition(f, 512, "statbox-data"); err != nil || grown {
		t.Fatalf("on a disk of the table's size: grown %v, err %v", grown, err)
	}
	if err := f.Truncate(100 << 20); err != nil {
		t.Fatal(err)
	}
	if grown, err := GrowPartition(f, 512, "statbox-data"); err != nil || !grown {
		t.Fatalf("grown %v, err %v", grown, err)
	}
	out, err := exec.Command(sfdisk, "--verify", p).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "No errors detected") {
		t.Fatalf("sfdisk --verify after growing: %v: %s", err, out)
	}
	dump, err := exec.Command(sfdisk, "--dump", p).CombinedOutput()
	if err != nil {
		t.Fatalf("sfdisk --dump: %v: %s", err, dump)
	}
	// 100 MiB = 204800 sectors; the backup entries take the last 33, and
	// the partition ends on a MiB boundary before them: 202752 - 10240.
	if !strings.Contains(string(dump), "start=       10240, size=      192512") {
		t.Errorf("data partition not grown to the last MiB:\n%s", dump)
	}
	if grown, err := GrowPartition(f, 512, "statbox-data"); err != nil || grown {
		t.Fatalf("growing twice: grown %v, err %v", grown, err)
	}
}
