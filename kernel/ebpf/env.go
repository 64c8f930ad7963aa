package ebpf

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"
)

// Where the kernel publishes what Open checks and mounts.
const (
	btfPath      = "/sys/kernel/btf/vmlinux"
	lockdownPath = "/sys/kernel/security/lockdown"
	tracefsPath  = "/sys/kernel/tracing"
	bpffsPath    = "/sys/fs/bpf"
)

// Filesystem magic numbers (include/uapi/linux/magic.h).
const (
	tracefsMagic = 0x74726163
	bpffsMagic   = 0xcafe4a11
)

// ErrUnsupported is wrapped by Open's error when eBPF cannot run here at
// all; the rest of the message says what the machine lacks.
var ErrUnsupported = errors.New("eBPF unavailable")

// check tells what keeps eBPF tracing from running here, or nil. Each
// reason names what is missing, so the operator knows what to change.
func check() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: not root (loading eBPF needs root or CAP_BPF and CAP_PERFMON)", ErrUnsupported)
	}
	if _, err := os.Stat(btfPath); err != nil {
		return fmt.Errorf("%w: BTF missing: %s absent (kernel built without CONFIG_DEBUG_INFO_BTF)", ErrUnsupported, btfPath)
	}
	// lockdown reads like "none [integrity] confidentiality"; integrity
	// still lets tracing programs run, confidentiality forbids reading
	// kernel memory, which every probe here does.
	if b, err := os.ReadFile(lockdownPath); err == nil && strings.Contains(string(b), "[confidentiality]") {
		return fmt.Errorf("%w: lockdown: the kernel is locked down in confidentiality mode, which forbids eBPF tracing", ErrUnsupported)
	}
	// The programs are built for 5.8's feature set (tp_btf, CO-RE
	// relocations the loader resolves against this kernel's BTF).
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil {
		release := unix.ByteSliceToString(u.Release[:])
		if major, minor, ok := kernelVersion(release); ok && (major < 5 || major == 5 && minor < 8) {
			return fmt.Errorf("%w: kernel %s is older than 5.8, which the probes need", ErrUnsupported, release)
		}
	}
	return nil
}

// kernelVersion reads the major and minor numbers off a release such as
// "6.18.44-fc-v1045".
func kernelVersion(release string) (major, minor int, ok bool) {
	a, rest, ok1 := strings.Cut(release, ".")
	b, _, _ := strings.Cut(rest, ".")
	if i := strings.IndexFunc(b, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		b = b[:i]
	}
	var err1, err2 error
	major, err1 = strconv.Atoi(a)
	minor, err2 = strconv.Atoi(b)
	return major, minor, ok1 && err1 == nil && err2 == nil
}

// prepare lifts the locked-memory limit that kernels before 5.11 charge
// eBPF maps to, and mounts tracefs and bpffs where a minimal init left them
// out, for the tools an operator reaches for next (bpftool, perf). Only the
// memlock limit matters to the probes themselves: tp_btf programs need no
// tracefs, and nothing is pinned.
func prepare(log *slog.Logger) error {
	if err := rlimit.RemoveMemlock(); err != nil {
		return fmt.Errorf("%w: lift the memlock limit: %v", ErrUnsupported, err)
	}
	mountIfMissing(log, "tracefs", tracefsPath, tracefsMagic)
	mountIfMissing(log, "bpf", bpffsPath, bpffsMagic)
	return nil
}

func mountIfMissing(log *slog.Logger, fstype, dir string, magic int64) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		log.Info("ebpf: cannot mount "+fstype, "dir", dir, "reason", err)
		return
	}
	if int64(st.Type) == magic {
		return
	}
	if err := unix.Mount(fstype, dir, fstype, 0, ""); err != nil {
		log.Info("ebpf: cannot mount "+fstype, "dir", dir, "reason", err)
		return
	}
	log.Debug("ebpf: mounted "+fstype, "dir", dir)
}

// explain adds to a load or attach error what the kernel most likely
// lacked, since the kernel itself only answers with an errno.
func explain(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.As(err, new(*ebpf.VerifierError)):
		// The verifier refuses with EACCES too: its log says why, and
		// the program, not the machine's permissions, is to blame.
		return fmt.Errorf("%w (the verifier of this kernel rejected the program)", err)
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		return fmt.Errorf("%w (not permitted: not root, lockdown, or an LSM forbids bpf)", err)
	case errors.Is(err, ebpf.ErrNotSupported), errors.Is(err, unix.EOPNOTSUPP):
		return fmt.Errorf("%w (this kernel lacks the tracepoint or the program type)", err)
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ESRCH):
		return fmt.Errorf("%w (not in this kernel's BTF: a tracepoint or field it lacks)", err)
	case errors.Is(err, unix.EINVAL):
		return fmt.Errorf("%w (the kernel refused it, most likely too old for it)", err)
	}
	return err
}
