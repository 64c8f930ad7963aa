package ebpf

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var updateSum = flag.Bool("update-sum", false, "rewrite generated.sum from the files as they are (make generate does)")

// generated.sum records what the checked-in objects were built from: the
// hash of each C source and header (vmlinux.h and libbpf's included), the
// go:generate lines with their flags, and bpf2go's version; and the hash
// of each file bpf2go wrote. TestGenerated fails when a source changed
// since, so an object that no longer matches its C cannot go unnoticed.
//
// It compares sources, not compiled bytes, on purpose: clang 14 and
// clang 19 build the same C into different objects, and CI's clang need
// not be the one that generated; rebuilding and comparing objects would
// fail on every machine but the generating one. The output hashes catch
// the other mistakes: an object edited by hand, or regenerated without
// the record (make generate writes both at once).
const sumFile = "generated.sum"

func TestGenerated(t *testing.T) {
	want, err := generatedSum()
	if err != nil {
		t.Fatal(err)
	}
	if *updateSum {
		if err := os.WriteFile(sumFile, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	have, err := os.ReadFile(sumFile)
	if err != nil {
		t.Fatalf("%v: run make generate", err)
	}
	if string(have) == want {
		return
	}
	haveLines := strings.Split(string(have), "\n")
	for _, line := range strings.Split(want, "\n") {
		if !slices.Contains(haveLines, line) {
			t.Errorf("changed since the objects were generated: %s", line)
		}
	}
	t.Error("the checked-in eBPF objects are stale: run make generate (needs clang, llvm, bpftool: make deps-ebpf) and commit")
}

// generatedSum computes what generated.sum should hold.
func generatedSum() (string, error) {
	var b strings.Builder
	b.WriteString("# Written by make generate; TestGenerated checks it. See generate_test.go.\n")
	// bpf2go's version is the module's, as go.mod requires it (a test
	// binary's build info lists no dependencies).
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(string(mod), "\n") {
		f := strings.Fields(l)
		if i := slices.Index(f, "github.com/cilium/ebpf"); i >= 0 && i+1 < len(f) {
			fmt.Fprintf(&b, "tool   bpf2go %s\n", f[i+1])
		}
	}
	goFiles, _ := filepath.Glob("*.go")
	for _, f := range goFiles {
		if strings.HasSuffix(f, "_test.go") || strings.HasSuffix(f, "_bpfel.go") {
			continue
		}
		lines, err := generateLines(f)
		if err != nil {
			return "", err
		}
		for _, l := range lines {
			fmt.Fprintf(&b, "run    %s: %s\n", f, l)
		}
	}
	for _, kind := range []struct{ name, glob string }{
		{"input ", "*.c"}, {"input ", "headers/*.h"},
		{"output", "*_bpfel.go"}, {"output", "*_bpfel.o"},
	} {
		files, _ := filepath.Glob(kind.glob)
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return "", err
			}
			h := sha256.Sum256(data)
			fmt.Fprintf(&b, "%s %s  %s\n", kind.name, hex.EncodeToString(h[:]), f)
		}
	}
	return b.String(), nil
}

// generateLines returns the go:generate directives of a Go file.
func generateLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		if l, ok := strings.CutPrefix(s.Text(), "//go:generate "); ok {
			lines = append(lines, l)
		}
	}
	return lines, s.Err()
}
