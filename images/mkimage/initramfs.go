package main

import (
	"bytes"
	"compress/gzip"
	"debug/elf"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// A cpio "newc" archive, the format the kernel unpacks an initramfs from,
// written entry by entry in sorted order with one mtime and owner, so the
// same inputs give the same bytes.

type cpioEntry struct {
	name  string // without a leading slash
	mode  uint32 // type and permission bits, as in stat(2)
	data  []byte
	rdev  [2]uint32
	ino   uint32
	mtime int64
}

const (
	sIFDIR = 0o040000
	sIFREG = 0o100000
	sIFCHR = 0o020000
)

func writeCpio(w io.Writer, entries []cpioEntry, mtime int64) error {
	slices.SortFunc(entries, func(a, b cpioEntry) int { return strings.Compare(a.name, b.name) })
	entries = append(entries, cpioEntry{name: "TRAILER!!!"})
	var off int64
	pad := func() error {
		n := (4 - off%4) % 4
		_, err := w.Write(make([]byte, n))
		off += n
		return err
	}
	for i, e := range entries {
		nlink := 1
		if e.mode&sIFDIR != 0 {
			nlink = 2
		}
		t := mtime
		if e.name == "TRAILER!!!" {
			t = 0
		}
		hdr := fmt.Sprintf("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
			i+1, e.mode, 0, 0, nlink, t, len(e.data), 0, 0, e.rdev[0], e.rdev[1], len(e.name)+1, 0)
		if e.name == "TRAILER!!!" {
			hdr = fmt.Sprintf("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
				0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, len(e.name)+1, 0)
		}
		n, err := io.WriteString(w, hdr+e.name+"\x00")
		off += int64(n)
		if err != nil {
			return err
		}
		if err := pad(); err != nil {
			return err
		}
		n, err = w.Write(e.data)
		off += int64(n)
		if err != nil {
			return err
		}
		if err := pad(); err != nil {
			return err
		}
	}
	return nil
}

// gzipped compresses deterministically: no name, no mtime in the header.
func gzipped(b []byte) ([]byte, error) {
	var out bytes.Buffer
	zw, err := gzip.NewWriterLevel(&out, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// module is one kernel module of the package: its file and what it needs.
type module struct {
	path    string
	depends []string // hard dependencies, by module name
	softPre []string // "softdep=pre:" modules, loaded first when present
	aliases []string // modalias patterns of the devices it drives
}

// indexModules finds every .ko under the kernel package's module tree, by
// module name (dashes as underscores, as the kernel names them).
func indexModules(root string) (map[string]string, error) {
	idx := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasSuffix(p, ".ko.xz") || strings.HasSuffix(p, ".ko.zst") || strings.HasSuffix(p, ".ko.gz") {
			return fmt.Errorf("%s is compressed: this builder reads plain .ko files (Debian 12 ships them so)", p)
		}
		if strings.HasSuffix(p, ".ko") {
			idx[modName(path.Base(p))] = p
		}
		return nil
	})
	return idx, err
}

func modName(file string) string {
	return strings.ReplaceAll(strings.TrimSuffix(file, ".ko"), "-", "_")
}

// readModinfo reads the depends= and softdep= fields of a module's
// .modinfo section, what depmod would put in modules.dep and modules.softdep.
func readModinfo(p string) (module, error) {
	m := module{path: p}
	f, err := elf.Open(p)
	if err != nil {
		return m, err
	}
	defer f.Close()
	s := f.Section(".modinfo")
	if s == nil {
		return m, fmt.Errorf("%s: no .modinfo section", p)
	}
	b, err := s.Data()
	if err != nil {
		return m, fmt.Errorf("%s: %w", p, err)
	}
	for _, kv := range bytes.Split(b, []byte{0}) {
		k, v, _ := strings.Cut(string(kv), "=")
		switch k {
		case "depends":
			for _, d := range strings.Split(v, ",") {
				if d != "" {
					m.depends = append(m.depends, modName(d))
				}
			}
		case "alias":
			m.aliases = append(m.aliases, v)
		case "softdep":
			// "pre: a b post: c"
			pre := false
			for _, w := range strings.Fields(v) {
				switch w {
				case "pre:":
					pre = true
				case "post:":
					pre = false
				default:
					if pre {
						m.softPre = append(m.softPre, modName(w))
					}
				}
			}
		}
	}
	return m, nil
}

// resolveModules returns the wanted modules and everything they depend on,
// with a modules.dep and a modules.alias for them in depmod's formats, flat
// file names. A wanted module the kernel has built in is skipped.
func resolveModules(moddir string, wanted []string, logf func(string, ...any)) (files map[string]string, dep, alias []byte, err error) {
	idx, err := indexModules(filepath.Join(moddir, "kernel"))
	if err != nil {
		return nil, nil, nil, err
	}
	builtin, _ := os.ReadFile(filepath.Join(moddir, "modules.builtin"))
	isBuiltin := map[string]bool{}
	for _, l := range strings.Fields(string(builtin)) {
		isBuiltin[modName(path.Base(l))] = true
	}
	files = map[string]string{} // name -> path
	deps := map[string][]string{}
	var aliases []string
	var visit func(name string, soft bool) error
	visit = func(name string, soft bool) error {
		if _, ok := deps[name]; ok || isBuiltin[name] {
			return nil
		}
		p, ok := idx[name]
		if !ok {
			if soft {
				return nil // a softdep may be an alias (crc32c); the wanted list names the module
			}
			return fmt.Errorf("module %s: not in the kernel package", name)
		}
		m, err := readModinfo(p)
		if err != nil {
			return err
		}
		files[name] = p
		deps[name] = append(m.softPre, m.depends...)
		for _, a := range m.aliases {
			aliases = append(aliases, fmt.Sprintf("alias %s %s\n", a, name))
		}
		for _, d := range m.softPre {
			if err := visit(d, true); err != nil {
				return err
			}
		}
		for _, d := range m.depends {
			if err := visit(d, false); err != nil {
				return err
			}
		}
		return nil
	}
	for _, w := range wanted {
		if err := visit(modName(w), false); err != nil {
			return nil, nil, nil, err
		}
	}
	var depBuf bytes.Buffer
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(&depBuf, "%s.ko:", n)
		for _, d := range deps[n] {
			if _, ok := files[d]; ok {
				fmt.Fprintf(&depBuf, " %s.ko", d)
			}
		}
		depBuf.WriteByte('\n')
	}
	slices.Sort(aliases)
	logf("%d modules (%d asked for), %d aliases", len(files), len(wanted), len(aliases))
	return files, depBuf.Bytes(), []byte(strings.Join(aliases, "")), nil
}
