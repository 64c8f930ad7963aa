//go:build !(386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64 || wasm)

package ebpf

import (
	"fmt"
	"runtime"

	"github.com/cilium/ebpf"
)

// The objects are built for little-endian machines only (bpf2go -target
// bpfel, the build constraint above is its list): on the others the
// package builds, and Open says why it has no probes.

var errByteOrder = fmt.Errorf("%w: no eBPF objects built for %s (big-endian)", ErrUnsupported, runtime.GOARCH)

func loadCounters() (*ebpf.CollectionSpec, error)   { return nil, errByteOrder }
func loadRunqlat() (*ebpf.CollectionSpec, error)    { return nil, errByteOrder }
func loadBiolatency() (*ebpf.CollectionSpec, error) { return nil, errByteOrder }
