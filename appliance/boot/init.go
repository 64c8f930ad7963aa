package boot

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Where things are on the running box. The initramfs holds init, statbox
// and the modules; the EFI system partition (the one a user can edit on any
// computer) is mounted read-only at ESPDir, the data partition at DataDir.
const (
	ModulesDir = "/lib/modules"
	StatboxBin = "/bin/statbox"
	ESPDir     = "/boot"
	DataDir    = "/data"
	ConfFile   = ESPDir + "/statbox.conf"
	SchemasDir = ESPDir + "/conf" // storage-schemas.conf, storage-aggregation.conf

	ESPName  = "statbox-esp"  // GPT partition names the image is built with
	DataName = "statbox-data" //

	// DrainTimeout bounds how long statbox may take to drain at power-off
	// before it is killed: a box that never powers off is worse.
	DrainTimeout = 90 * time.Second
)

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "statbox-init: "+format+"\n", args...)
}

// Main is PID 1. It returns only when it is not PID 1; otherwise the box
// powers off (or reboots, on ctrl-alt-del) at the end.
func Main() int {
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "statbox-init is the appliance's PID 1; it does not run as a command")
		return 2
	}
	start := time.Now()
	// Signals first: a SIGTERM during boot still powers off cleanly.
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	// ctrl-alt-del sends SIGINT to init instead of an immediate reboot.
	unix.Reboot(unix.LINUX_REBOOT_CMD_CAD_OFF)

	mountAll([]mount{
		{"proc", "/proc", "proc", 0, ""},
		{"sysfs", "/sys", "sysfs", 0, ""},
		{"devtmpfs", "/dev", "devtmpfs", 0, ""},
		{"tmpfs", "/run", "tmpfs", 0, "mode=0755"},
		{"tmpfs", "/tmp", "tmpfs", 0, "mode=1777"},
	})
	loadModules()
	// Mounted after the modules: bpffs and tracefs are what the eBPF
	// collectors need; tracefs is built in, bpf too.
	mountAll([]mount{
		{"tracefs", "/sys/kernel/tracing", "tracefs", 0, ""},
		{"debugfs", "/sys/kernel/debug", "debugfs", 0, ""},
		{"bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"},
	})

	// The data partition grows before anything on its disk is mounted:
	// the kernel re-reads a partition table only of a disk not in use.
	data, dataErr := growData()
	cfg := DefaultConfig()
	esp, err := FindPartition(ESPName, 10*time.Second)
	if err != nil {
		logf("%v; running on defaults", err)
	} else if err := mountOne(mount{esp.Dev, ESPDir, "vfat", unix.MS_RDONLY | unix.MS_NOEXEC | unix.MS_NODEV, "umask=022"}); err != nil {
		logf("%v; running on defaults", err)
	} else {
		cfg = readConfig(ConfFile)
	}
	if err := unix.Sethostname([]byte(cfg.Hostname)); err != nil {
		logf("hostname %q: %v", cfg.Hostname, err)
	}
	if mountData(data, dataErr) {
		checkUncleanShutdown()
	}
	os.MkdirAll(UpdateDir, 0o755)
	trial := inTrial()
	if !trial {
		checkLastTrial()
	}

	// statbox binds its listeners to every address, so it can start while
	// DHCP is still asking; /health turns green when it is up.
	go func() {
		if err := SetupNetwork(cfg, logf); err != nil {
			logf("network: %v", err)
		}
	}()
	button := WatchPowerButton(logf)
	logf("booted in %v (since the kernel: %v)", time.Since(start).Round(time.Millisecond), uptime())
	return supervise(cfg, sigs, button, trial)
}

// loadModules loads the file systems' modules and the drivers of the
// devices present, and goes on looking for new devices for a while in the
// background: a USB disk shows up a second or two after its host driver.
func loadModules() {
	l, err := NewLoader(ModulesDir, logf)
	if err != nil {
		logf("%v: no modules loaded", err)
		return
	}
	if err := l.LoadAlways(); err != nil {
		logf("some modules did not load; the box goes on without them")
	}
	n := 0
	for i := 0; i < 10; i++ {
		k := l.Coldplug()
		if k == 0 {
			break
		}
		n += k
	}
	logf("modules: %d loaded for the devices present", n)
	go func() {
		for i := 0; i < 40; i++ {
			time.Sleep(250 * time.Millisecond)
			if k := l.Coldplug(); k > 0 {
				logf("modules: %d more for devices that came late", k)
			}
		}
	}()
}

// statboxArgs is the command line statbox runs with on the box.
func statboxArgs(cfg Config) []string {
	args := []string{StatboxBin, "run", "--data", DataDir, "--update-dir", UpdateDir}
	if _, err := os.Stat(filepath.Join(SchemasDir, "storage-schemas.conf")); err == nil {
		args = append(args, "--conf-dir", SchemasDir)
	}
	return append(args, cfg.Flags...)
}

// supervise runs statbox, restarts it when it dies (after a pause that
// grows, so a crash loop does not eat the box), reaps every child, and
// powers off on the power button, SIGTERM, or reboots on SIGINT.
func supervise(cfg Config, sigs <-chan os.Signal, button <-chan struct{}, trial bool) int {
	args := statboxArgs(cfg)
	updates := time.NewTicker(2 * time.Second)
	defer updates.Stop()
	rollback := make(chan struct{}, 1)
	if trial {
		if url := healthURL(args); url != "" {
			go runTrial(url, rollback)
		} else {
			// Nothing to ask: the update stays untried, and the next
			// firmware boot goes back to the old system.
			logf("update: statbox runs with --http off; the trial cannot be judged, so it is not promoted")
		}
	}
	var (
		pid     int
		backoff = time.Second
		restart <-chan time.Time
		started time.Time
	)
	run := func() {
		p, err := os.StartProcess(StatboxBin, args, &os.ProcAttr{
			Dir:   DataDir,
			Env:   []string{"PATH=/bin", "HOME=/run"},
			Files: []*os.File{os.Stdin, os.Stdout, os.Stderr},
		})
		if err != nil {
			logf("start statbox: %v", err)
			restart = time.After(backoff)
			return
		}
		pid, started = p.Pid, time.Now()
		p.Release() // reaped below with wait4(-1), not by os.Process
		logf("statbox started: pid %d: %s", pid, strings.Join(args, " "))
	}
	run()
	for {
		select {
		case <-restart:
			restart = nil
			run()
		case <-updates.C:
			if u, ok := stagedUpdate(); ok {
				if err := loadTrial(u); err != nil {
					logf("update: %v; moved to %s", err, failedUKI)
					os.Rename(nextUKI, failedUKI)
					continue
				}
				logf("update: staged and loaded; draining statbox, then kexec into it")
				return shutdown(pid, sigs, unix.LINUX_REBOOT_CMD_KEXEC)
			}
		case <-rollback:
			return shutdown(pid, sigs, unix.LINUX_REBOOT_CMD_RESTART)
		case <-button:
			logf("power button pressed")
			return shutdown(pid, sigs, unix.LINUX_REBOOT_CMD_POWER_OFF)
		case s := <-sigs:
			switch s {
			case syscall.SIGTERM:
				return shutdown(pid, sigs, unix.LINUX_REBOOT_CMD_POWER_OFF)
			case syscall.SIGINT:
				return shutdown(pid, sigs, unix.LINUX_REBOOT_CMD_RESTART)
			}
			for _, r := range reap() {
				if r.pid != pid {
					continue
				}
				logf("statbox exited: %s; restarting in %v", r.status, backoff)
				pid = 0
				if time.Since(started) > time.Minute {
					backoff = time.Second
				}
				restart = time.After(backoff)
				backoff = min(2*backoff, time.Minute)
			}
		}
	}
}

type reaped struct {
	pid    int
	status string
}

// reap collects every child that has exited: PID 1 inherits orphans too.
func reap() []reaped {
	var out []reaped
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return out
		}
		st := fmt.Sprintf("exit status %d", ws.ExitStatus())
		if ws.Signaled() {
			st = "killed by " + ws.Signal().String()
		}
		out = append(out, reaped{pid, st})
	}
}

// shutdown drains statbox (SIGTERM: it writes every cached point and syncs),
// kills what is left, syncs and unmounts the disks, then powers off.
func shutdown(pid int, sigs <-chan os.Signal, how int) int {
	logf("shutting down: draining statbox")
	drained := pid == 0
	if pid > 0 {
		unix.Kill(pid, unix.SIGTERM)
		deadline := time.After(DrainTimeout)
	wait:
		for {
			select {
			case <-deadline:
				logf("statbox did not drain in %v; killing it", DrainTimeout)
				break wait
			case <-sigs: // SIGCHLD, or a second SIGTERM: both mean look again
			case <-time.After(time.Second):
			}
			for _, r := range reap() {
				if r.pid == pid {
					logf("statbox exited: %s", r.status)
					drained = r.status == "exit status 0"
					break wait
				}
			}
		}
	}
	unix.Kill(-1, unix.SIGKILL)
	time.Sleep(100 * time.Millisecond)
	reap()
	unix.Sync()
	if drained {
		markClean()
	}
	for _, dir := range []string{DataDir, ESPDir} {
		if err := unix.Unmount(dir, 0); err != nil && !errors.Is(err, unix.EINVAL) {
			logf("unmount %s: %v; remounting read-only", dir, err)
			unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_RDONLY, "")
		}
	}
	unix.Sync()
	switch how {
	case unix.LINUX_REBOOT_CMD_POWER_OFF:
		logf("powering off")
	case unix.LINUX_REBOOT_CMD_KEXEC:
		logf("kexec into the update")
	default:
		logf("rebooting")
	}
	if err := unix.Reboot(how); err != nil {
		logf("reboot: %v", err)
	}
	select {} // PID 1 must not exit: the kernel would panic
}

func readConfig(path string) Config {
	f, err := os.Open(path)
	if err != nil {
		logf("%v; running on defaults", err)
		return DefaultConfig()
	}
	defer f.Close()
	c, err := ParseConfig(f)
	if err != nil {
		// A typo must not take the box off the network: say so on the
		// console and carry on with the defaults.
		logf("%v; running on defaults", err)
		return DefaultConfig()
	}
	return c
}

// growData finds the data partition and grows it to the end of its disk.
func growData() (Partition, error) {
	data, err := FindPartition(DataName, 30*time.Second)
	if err != nil {
		return data, err
	}
	grown, err := GrowDisk(data)
	if err != nil {
		logf("%v", err) // the partition is still there, at its old size
		return data, nil
	}
	if grown {
		logf("data partition grown to the end of %s", data.Disk)
		// The kernel re-reads the table: wait for the partition to come back.
		time.Sleep(100 * time.Millisecond)
		return FindPartition(DataName, 10*time.Second)
	}
	return data, nil
}

// mountData mounts the data partition at DataDir and grows its file system
// to fill it. When it cannot, statbox still runs, on a tmpfs, so the box
// stays reachable and says what is wrong; it then reports false.
func mountData(data Partition, err error) bool {
	if err == nil {
		err = mountOne(mount{data.Dev, DataDir, "ext4", unix.MS_NOATIME | unix.MS_NODEV | unix.MS_NOSUID, ""})
	}
	if err != nil {
		logf("%v: WHISPER FILES GO TO MEMORY AND ARE LOST AT POWER-OFF", err)
		mountOne(mount{"tmpfs", DataDir, "tmpfs", 0, "mode=0755"})
		return false
	}
	if err := ResizeFS(DataDir, data); err != nil {
		logf("%v", err)
	}
	var st unix.Statfs_t
	if unix.Statfs(DataDir, &st) == nil {
		logf("data: %s on %s, %d MiB", data.Dev, DataDir, st.Blocks*uint64(st.Bsize)>>20)
	}
	return true
}

type mount struct {
	source, target, fstype string
	flags                  uintptr
	data                   string
}

func mountOne(m mount) error {
	if err := os.MkdirAll(m.target, 0o755); err != nil {
		return fmt.Errorf("mount %s: %w", m.target, err)
	}
	if err := unix.Mount(m.source, m.target, m.fstype, m.flags, m.data); err != nil {
		return fmt.Errorf("mount %s on %s (%s): %w", m.source, m.target, m.fstype, err)
	}
	return nil
}

func mountAll(ms []mount) {
	for _, m := range ms {
		if err := mountOne(m); err != nil && !errors.Is(err, unix.EBUSY) {
			logf("%v", err)
		}
	}
}

func uptime() string {
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return "?"
	}
	f, _, _ := strings.Cut(string(b), " ")
	return f + "s"
}
