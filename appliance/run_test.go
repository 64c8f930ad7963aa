package appliance

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
	buildDir  string
)

// TestMain removes the binary buildStatbox made.
func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// buildStatbox builds the statbox binary once per test run.
func buildStatbox(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "statbox-bin"); buildErr != nil {
			return
		}
		builtBin = filepath.Join(buildDir, "statbox")
		out, err := exec.Command("go", "build", "-o", builtBin, "statbox/cmd/statbox").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// TestRunHealthAndSIGTERM starts `statbox run` as a process, waits for a
// green /health, and stops it with SIGTERM: it must exit 0.
func TestRunHealthAndSIGTERM(t *testing.T) {
	bin := buildStatbox(t)
	data := filepath.Join(t.TempDir(), "data")
	addr := freeAddr(t)
	cmd := exec.Command(bin, "run", "--data", data, "--http", addr,
		"--statsd", "off", "--admin", "off", "--carbon", "off", "--pickle", "off", "--collect=false")
	var logs strings.Builder
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitHealthy(t, "http://"+addr+"/health")
	if _, err := os.Stat(filepath.Join(data, "whisper")); err != nil {
		t.Fatalf("data dir: %v", err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, logs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("no exit 20 s after SIGTERM\n%s", logs.String())
	}
	for _, want := range []string{"storage started", "http started", "draining", "storage stopped", "stopped"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--flush-interval", "0s"}, {"extra"}, {"--log-level", "loud"}, {"--nope"}} {
		if code := Run(args, io.Discard, io.Discard); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

func waitHealthy(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not healthy after 20 s: %v", url, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
