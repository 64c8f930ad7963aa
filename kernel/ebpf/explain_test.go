package ebpf

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// The verifier answers EACCES as a missing permission does; its rejection
// must not be blamed on root, lockdown or an LSM.
func TestExplainVerifier(t *testing.T) {
	rejected := fmt.Errorf("program x: %w", &ebpf.VerifierError{Cause: unix.EACCES, Log: []string{"R0 unbounded memory access"}})
	got := explain(rejected).Error()
	if strings.Contains(got, "not permitted") || !strings.Contains(got, "verifier") {
		t.Errorf("verifier rejection explained as %q", got)
	}
	if !errors.Is(explain(rejected), unix.EACCES) {
		t.Error("the errno is no longer wrapped")
	}
	if got := explain(unix.EPERM).Error(); !strings.Contains(got, "not permitted") {
		t.Errorf("EPERM explained as %q", got)
	}
}
