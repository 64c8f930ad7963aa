package boot

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Updates without reflashing, A/B with a one-time try (images/README.md):
// statbox stores an uploaded UKI as UpdateDir/next.efi; init moves it to
// trying.efi and kexecs it with TrialFlag on the command line, without
// touching the ESP. The new system's init promotes it to UKIPath on the ESP
// only once its statbox answers /health. Anything else (a panic, a hang
// and a reset, a power cut, no green /health) ends in a firmware boot of
// the old UKIPath, whose init then marks the update failed.
const (
	UpdateDir    = DataDir + "/update"
	NextUKIName  = "next.efi" // what statbox run --update-dir stores an upload as
	TrialFlag    = "statbox.trial"
	TrialTimeout = 120 * time.Second // for the new system's /health to go green

	nextUKI   = UpdateDir + "/" + NextUKIName
	tryingUKI = UpdateDir + "/trying.efi"
	failedUKI = UpdateDir + "/failed.efi"
)

// inTrial reports whether this boot is an update's trial.
func inTrial() bool {
	b, _ := os.ReadFile("/proc/cmdline")
	for _, f := range strings.Fields(string(b)) {
		if f == TrialFlag {
			return true
		}
	}
	return false
}

// checkLastTrial runs at a boot that is not a trial: a trying.efi left
// over means the firmware booted the old system back, so the try failed.
func checkLastTrial() {
	if _, err := os.Stat(tryingUKI); err == nil {
		logf("update: the last update's trial did not come up; it stays in %s, this system stays", failedUKI)
		os.Rename(tryingUKI, failedUKI)
		syncDir(UpdateDir)
	}
}

// stagedUpdate reports a UKI statbox has stored, after checking it parses.
func stagedUpdate() (UKI, bool) {
	b, err := os.ReadFile(nextUKI)
	if err != nil {
		return UKI{}, false
	}
	u, err := ParseUKI(b)
	if err != nil {
		logf("update: %v; moved to %s", err, failedUKI)
		os.Rename(nextUKI, failedUKI)
		syncDir(UpdateDir)
		return UKI{}, false
	}
	return u, true
}

// loadTrial hands the update's kernel to kexec, and marks it tried before
// it runs: a second boot never tries it again.
func loadTrial(u UKI) error {
	dir := "/run/update"
	os.MkdirAll(dir, 0o700)
	kp, ip := filepath.Join(dir, "linux"), filepath.Join(dir, "initrd")
	if err := os.WriteFile(kp, u.Linux, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(ip, u.Initrd, 0o600); err != nil {
		return err
	}
	k, err := os.Open(kp)
	if err != nil {
		return err
	}
	defer k.Close()
	i, err := os.Open(ip)
	if err != nil {
		return err
	}
	defer i.Close()
	if err := unix.KexecFileLoad(int(k.Fd()), int(i.Fd()), u.Cmdline+" "+TrialFlag, 0); err != nil {
		return fmt.Errorf("kexec_file_load: %w", err)
	}
	if err := os.Rename(nextUKI, tryingUKI); err != nil {
		return err
	}
	syncDir(UpdateDir)
	return nil
}

// runTrial waits for this (new) system's statbox to answer /health, then
// promotes the update; when it does not in time, it asks for a reboot,
// which the firmware turns into a boot of the old system.
func runTrial(url string, reboot chan<- struct{}) {
	logf("update: trial boot; waiting up to %v for %s", TrialTimeout, url)
	c := http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(TrialTimeout)
	for time.Now().Before(deadline) {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				if err := promote(); err != nil {
					logf("update: promoting: %v; rebooting into the old system", err)
					break
				}
				logf("update: /health is green; promoted to %s/%s", ESPDir, UKIPath)
				return
			}
		}
		time.Sleep(time.Second)
	}
	logf("update: /health never went green; rebooting into the old system")
	reboot <- struct{}{}
}

// promote copies trying.efi over the ESP's UKI: to a new name first,
// synced, then renamed over the old, so the old file is whole until the
// one rename.
func promote() error {
	b, err := os.ReadFile(tryingUKI)
	if err != nil {
		return err
	}
	if err := unix.Mount("", ESPDir, "", unix.MS_REMOUNT|unix.MS_NOEXEC|unix.MS_NODEV, ""); err != nil {
		return fmt.Errorf("remount %s read-write: %w", ESPDir, err)
	}
	defer unix.Mount("", ESPDir, "", unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOEXEC|unix.MS_NODEV, "")
	dst := filepath.Join(ESPDir, UKIPath)
	tmp := dst + ".new"
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
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	syncDir(filepath.Dir(dst))
	unix.Sync()
	os.Remove(tryingUKI)
	syncDir(UpdateDir)
	return nil
}

// healthURL is where statbox, run with args, answers /health: its --http
// address, on loopback when it listens on every address. "" when the HTTP
// listener is off.
func healthURL(args []string) string {
	addr := ":8080"
	for i, a := range args {
		a = strings.TrimPrefix(a, "-")
		switch {
		case strings.HasPrefix(a, "-http="):
			addr = strings.TrimPrefix(a, "-http=")
		case strings.HasPrefix(a, "http="):
			addr = strings.TrimPrefix(a, "http=")
		case (a == "-http" || a == "http") && i+1 < len(args):
			addr = args[i+1]
		}
	}
	if strings.EqualFold(addr, "off") || addr == "" {
		return ""
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/health"
}
