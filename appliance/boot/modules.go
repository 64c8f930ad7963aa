package boot

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Loader loads the kernel modules the initramfs ships, as modprobe and
// udev would: a module after the modules it depends on, and a driver only
// when a device asks for it by modalias. The image writes three files in
// depmod's formats, for its modules only: modules.dep, modules.alias and
// modules.load (the ones always loaded: file systems, the power button).
type Loader struct {
	dir     string
	sys     string              // where sysfs is mounted: /sys
	deps    map[string][]string // module file -> files it depends on
	aliases []modAlias
	always  []string
	logf    func(string, ...any)

	insmod func(path string) error // finitModule; tests record instead

	mu     sync.Mutex
	loaded map[string]bool
	seen   map[string]bool // modaliases already matched
}

type modAlias struct{ pattern, module string }

// NewLoader reads the module index in dir.
func NewLoader(dir string, logf func(string, ...any)) (*Loader, error) {
	l := &Loader{dir: dir, sys: "/sys", deps: map[string][]string{}, logf: logf, loaded: map[string]bool{}, seen: map[string]bool{}}
	if err := readLines(filepath.Join(dir, "modules.dep"), func(s string) {
		if mod, rest, ok := strings.Cut(s, ":"); ok {
			l.deps[mod] = strings.Fields(rest)
		}
	}); err != nil {
		return nil, err
	}
	if err := readLines(filepath.Join(dir, "modules.alias"), func(s string) {
		if f := strings.Fields(s); len(f) == 3 && f[0] == "alias" {
			l.aliases = append(l.aliases, modAlias{f[1], f[2] + ".ko"})
		}
	}); err != nil {
		return nil, err
	}
	if err := readLines(filepath.Join(dir, "modules.load"), func(s string) {
		if s = strings.TrimSpace(s); s != "" {
			l.always = append(l.always, s+".ko")
		}
	}); err != nil {
		return nil, err
	}
	return l, nil
}

func readLines(p string, fn func(string)) error {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("modules: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fn(sc.Text())
	}
	return sc.Err()
}

// LoadAlways loads the modules of modules.load.
func (l *Loader) LoadAlways() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for _, m := range l.always {
		errs = append(errs, l.load(m))
	}
	return errors.Join(errs...)
}

// Coldplug loads the drivers for every device sysfs shows a modalias of
// and returns how many modules it loaded. Loading a bus driver (PCI to
// virtio, USB host to USB disk) brings new devices: call it until it
// loads nothing, and again later for devices that enumerate slowly (USB).
func (l *Loader) Coldplug() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	before := len(l.loaded)
	files, _ := filepath.Glob(filepath.Join(l.sys, "bus/*/devices/*/modalias"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		ma := strings.TrimSpace(string(b))
		if ma == "" || l.seen[ma] {
			continue
		}
		l.seen[ma] = true
		for _, a := range l.aliases {
			if ok, _ := path.Match(a.pattern, ma); ok {
				l.load(a.module)
			}
		}
	}
	return len(l.loaded) - before
}

// load loads module m (a file name in dir) after its dependencies. A
// failure is logged and returned; it does not stop the others.
func (l *Loader) load(m string) error {
	if l.loaded[m] {
		return nil
	}
	l.loaded[m] = true
	if l.insmod == nil {
		l.insmod = finitModule
	}
	var errs []error
	for _, d := range l.deps[m] {
		errs = append(errs, l.load(d))
	}
	if err := l.insmod(filepath.Join(l.dir, m)); err != nil {
		l.logf("module %s: %v", m, err)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func finitModule(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	err = unix.FinitModule(int(f.Fd()), "", 0)
	// EEXIST: built in or loaded already. ENODEV: the module found no
	// hardware to drive, as crc32c_intel on a CPU without SSE4.2.
	if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENODEV) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("finit_module %s: %w", path, err)
	}
	return nil
}
