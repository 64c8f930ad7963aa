package ebpf

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// oomChildEnv makes the test binary, started again by TestOOMKill, the
// child that outgrows its memory cgroup.
const oomChildEnv = "STATBOX_EBPF_OOM_CHILD"

// oomChild waits for its parent to move it into the limited cgroup (a
// byte on stdin), then touches four times the limit.
func oomChild() {
	var b [1]byte
	if _, err := os.Stdin.Read(b[:]); err != nil {
		os.Exit(2)
	}
	mem := make([]byte, 4*oomLimit)
	for i := 0; i < len(mem); i += 4096 {
		mem[i] = 1
	}
	os.Exit(3) // not killed: the limit did not hold
}

const oomLimit = 32 << 20

// A child in a memory cgroup limited to 32 MiB touches 128 MiB: the
// cgroup's OOM killer picks it, which mark_victim counts.
func TestOOMKill(t *testing.T) {
	probes(t)
	cg := memoryCgroup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), oomChildEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := measure(t, func() {
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(cg, "cgroup.procs"), []byte(strconv.Itoa(cmd.Process.Pid)), 0); err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("move the child into %s: %v", cg, err)
		}
		stdin.Write([]byte{1})
		err := cmd.Wait()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("child: %v, want killed by the OOM killer", err)
		}
	})
	need(t, got, "ebpf.oom.kills", 1)
}

// memoryCgroup makes a memory cgroup limited to oomLimit without swap,
// under cgroup v2 where the memory controller is there, else under v1's
// memory hierarchy; it is removed when the test ends.
func memoryCgroup(t *testing.T) string {
	t.Helper()
	name := "statbox-ebpf-oom-" + strconv.Itoa(os.Getpid())
	type knob struct{ file, value string }
	var dir string
	var knobs []knob
	if ctl, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers"); err == nil && strings.Contains(string(ctl), "memory") {
		os.WriteFile("/sys/fs/cgroup/cgroup.subtree_control", []byte("+memory"), 0)
		dir = filepath.Join("/sys/fs/cgroup", name)
		knobs = []knob{{"memory.max", strconv.Itoa(oomLimit)}, {"memory.swap.max", "0"}}
	} else if _, err := os.Stat("/sys/fs/cgroup/memory/memory.limit_in_bytes"); err == nil {
		dir = filepath.Join("/sys/fs/cgroup/memory", name)
		knobs = []knob{{"memory.limit_in_bytes", strconv.Itoa(oomLimit)}, {"memory.memsw.limit_in_bytes", strconv.Itoa(oomLimit)}}
	} else {
		if !inCI {
			t.Skip("no memory cgroup controller (v1 or v2)")
		}
		t.Fatal("no memory cgroup controller (v1 or v2)")
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The killed child leaves the cgroup as it is reaped; give the
		// kernel a moment before giving up on removing it.
		for range 50 {
			if os.Remove(dir) == nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Errorf("remove cgroup %s", dir)
	})
	for _, k := range knobs {
		err := os.WriteFile(filepath.Join(dir, k.file), []byte(k.value), 0)
		if err != nil && !errors.Is(err, os.ErrNotExist) { // no swap accounting: nothing to limit
			t.Fatalf("%s: %v", k.file, err)
		}
	}
	return dir
}
