package boot

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// LoadModules loads every module that modules.dep in dir lists, each after
// the modules it depends on, with finit_module. The image ships only the
// modules it means to load, so all of them are loaded; a driver whose
// hardware is absent loads and stays idle. Failures are returned together
// and do not stop the others: a box without, say, an Intel NIC still boots.
func LoadModules(dir string, logf func(string, ...any)) error {
	deps, order, err := readModulesDep(filepath.Join(dir, "modules.dep"))
	if err != nil {
		return err
	}
	loaded := map[string]bool{}
	var errs []error
	var load func(string)
	load = func(m string) {
		if loaded[m] {
			return
		}
		loaded[m] = true
		// modules.dep lists dependencies in the order modprobe removes
		// them: the last one is loaded first.
		d := deps[m]
		for i := len(d) - 1; i >= 0; i-- {
			load(d[i])
		}
		if err := finitModule(filepath.Join(dir, m)); err != nil {
			errs = append(errs, err)
			logf("module %s: %v", m, err)
		}
	}
	for _, m := range order {
		load(m)
	}
	return errors.Join(errs...)
}

// readModulesDep reads depmod's format: "path.ko: dep1.ko dep2.ko".
func readModulesDep(path string) (map[string][]string, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("modules: %w", err)
	}
	defer f.Close()
	deps := map[string][]string{}
	var order []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		mod, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		order = append(order, mod)
		deps[mod] = strings.Fields(rest)
	}
	return deps, order, sc.Err()
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
