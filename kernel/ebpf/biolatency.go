package ebpf

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
)

//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -target bpfel -no-global-types biolatency biolatency.c -- -O2 -g -Wall -Werror -I./headers

// biolatency is the per-disk block I/O latency of biolatency.c: from a
// request's start in the block layer to its completion, queueing in the
// I/O scheduler included.
type biolatency struct {
	maps  map[string]*ebpf.Map
	hist  *ebpf.Map
	progs []attached
	disks map[uint32]*disk
	d     hist
	key   uint32
	cur   hist
}

// disk is what Go keeps of one disk between intervals.
type disk struct {
	names histNameSet
	prev  hist
}

func openBiolatency(*slog.Logger, *Options) (probe, error) {
	spec, err := loadBiolatency()
	if err != nil {
		return nil, fmt.Errorf("read object: %w", err)
	}
	maps, err := newMaps(spec, "bio_hist")
	if err != nil {
		return nil, err
	}
	b := &biolatency{maps: maps, hist: maps["bio_hist"], disks: make(map[uint32]*disk)}
	for _, name := range []string{"block_rq_complete"} {
		a, err := loadAttach(spec, name, maps)
		if err != nil {
			b.close()
			return nil, err
		}
		b.progs = append(b.progs, a)
	}
	return b, nil
}

func (b *biolatency) collect(emit func(string, float64), _, _ float64) error {
	it := b.hist.Iterate()
	for it.Next(&b.key, &b.cur) {
		d := b.disks[b.key]
		if d == nil {
			d = &disk{names: histNames("ebpf.biolatency." + diskName(b.key) + ".")}
			b.disks[b.key] = d
		}
		b.d.delta(&b.cur, &d.prev)
		emitHist(emit, &d.names, summarize(&b.d))
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("read biolatency: %w", err)
	}
	return nil
}

func (b *biolatency) programs() []attached { return b.progs }

func (b *biolatency) sampled() []*attached { return nil }

func (b *biolatency) opening() {}

func (b *biolatency) close() error {
	err := closeAttached(b.progs)
	b.progs = nil
	closeMaps(b.maps)
	return err
}

// diskName turns the kernel's dev_t of a disk (major in the top 12 bits,
// minor in the low 20) into its name in /dev, as /sys/dev/block links it,
// with dots (a metric path's separator) made underscores.
func diskName(dev uint32) string {
	major, minor := dev>>20, dev&(1<<20-1)
	id := strconv.FormatUint(uint64(major), 10) + ":" + strconv.FormatUint(uint64(minor), 10)
	target, err := os.Readlink("/sys/dev/block/" + id)
	if err != nil {
		return "dev" + strconv.FormatUint(uint64(major), 10) + "_" + strconv.FormatUint(uint64(minor), 10)
	}
	return strings.ReplaceAll(filepath.Base(target), ".", "_")
}
