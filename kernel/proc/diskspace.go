package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"statbox/kernel"
)

// diskspaceTypes is Diamond's DiskSpaceCollector "filesystems" default.
// vfat (an EFI partition), tmpfs, overlay and squashfs are not in it, so
// they are not reported.
var diskspaceTypes = [...]string{"ext2", "ext3", "ext4", "xfs", "glusterfs", "nfs", "nfs4", "ntfs", "hfs", "fat32", "fat16", "btrfs"}

// networkTypes are the ones whose statfs waits for a server.
var networkTypes = [...]string{"glusterfs", "nfs", "nfs4"}

// diskspaceCollector is Diamond's DiskSpaceCollector: per mounted file
// system of the types above, diskspace.<name>.byte_{used,free,avail,
// percentfree} and inodes_{used,free,avail,percentfree}, where <name> is
// the file system's label, or its mount point with / and . made _ ("/" is
// "root"). It reads /proc/self/mountinfo rather than /proc/mounts, for the
// device number Diamond gets from stat(2): a stat of a hung NFS mount
// would block the round.
type diskspaceCollector struct {
	o      Options
	path   string
	labels string
	buf    []byte
	f      [][]byte
	mounts map[string]*mountState // by mount point as /proc prints it
	seen   map[[2]uint64]bool
	round  uint64
}

type mountState struct {
	names     [8]string
	nameOf    string // the <name> the names were built for
	mountName string // <name> from the mount point, made once
	round     uint64
	pending   atomic.Bool // a statfs of it is still running
}

func newDiskSpace(o Options) *diskspaceCollector {
	return &diskspaceCollector{o: o, path: o.proc("self/mountinfo"), labels: filepath.Join(o.Dev, "disk/by-label"),
		mounts: map[string]*mountState{}, seen: map[[2]uint64]bool{}}
}

func (c *diskspaceCollector) Name() string { return "diskspace" }

var diskspaceMetrics = [8]string{"byte_percentfree", "byte_used", "byte_free", "byte_avail",
	"inodes_percentfree", "inodes_used", "inodes_free", "inodes_avail"}

func (c *diskspaceCollector) Collect(now time.Time, emit kernel.Emit) error {
	buf, err := readFile(c.path, c.buf)
	c.buf = buf
	if err != nil {
		return err
	}
	c.round++
	clear(c.seen)
	var labels map[string]string // read once a mount is reported
	bad, skipped := 0, 0
	var firstErr error
	for rest := buf; len(rest) > 0; {
		var line []byte
		line, rest = nextLine(rest)
		// id parent major:minor root mountpoint options [optional...] - type source superoptions
		c.f = fields(c.f, line)
		f := c.f
		sep := -1
		for i := 6; i < len(f); i++ {
			if len(f[i]) == 1 && f[i][0] == '-' {
				sep = i
				break
			}
		}
		if len(f) < 6 || sep < 0 || sep+2 >= len(f) {
			bad++
			continue
		}
		mountPoint, fsType, device := f[4], f[sep+1], f[sep+2]
		if !oneOf(fsType, diskspaceTypes[:]) || bytes.HasPrefix(mountPoint, []byte("/export/home")) {
			continue
		}
		if !(bytes.IndexByte(device, '/') >= 0 || bytes.IndexByte(device, ':') >= 0 || string(device) == "tmpfs") ||
			len(mountPoint) == 0 || mountPoint[0] != '/' {
			continue
		}
		major, minor, ok := bytes.Cut(f[2], []byte(":"))
		ma, ok1 := parseUint(major)
		mi, ok2 := parseUint(minor)
		if !ok || !ok1 || !ok2 {
			bad++
			continue
		}
		// Bind mounts of one file system: the first is reported.
		if c.seen[[2]uint64{ma, mi}] {
			continue
		}
		c.seen[[2]uint64{ma, mi}] = true

		st := c.mounts[string(mountPoint)]
		if st == nil {
			st = &mountState{}
			c.mounts[string(mountPoint)] = st
		}
		st.round = c.round
		if labels == nil {
			labels = c.readLabels()
		}
		c.name(st, mountPoint, device, labels)

		var sfs unix.Statfs_t
		path := unescapeMount(mountPoint)
		if oneOf(fsType, networkTypes[:]) || bytes.IndexByte(device, ':') >= 0 {
			err = c.statfsBounded(st, path, &sfs)
		} else {
			err = c.o.Statfs(path, &sfs)
		}
		if err != nil {
			skipped++
			if firstErr == nil {
				firstErr = fmt.Errorf("statfs %s: %w", path, err)
			}
			continue
		}
		publishStatfs(st, &sfs, emit)
	}
	for mp, st := range c.mounts {
		if st.round != c.round && !st.pending.Load() {
			delete(c.mounts, mp)
		}
	}
	if bad > 0 {
		c.o.Counts.Malformed.Add(uint64(bad))
	}
	switch {
	case firstErr != nil:
		return fmt.Errorf("%d mounts skipped: %w", skipped, firstErr)
	case bad > 0:
		return fmt.Errorf("%s: %s lines malformed, skipped", c.path, plural(bad))
	}
	return nil
}

func publishStatfs(st *mountState, s *unix.Statfs_t, emit kernel.Emit) {
	frsize := float64(s.Frsize)
	if s.Frsize == 0 {
		frsize = float64(s.Bsize)
	}
	if s.Blocks > 0 {
		// Diamond divides f_bfree, blocks free to root too, not f_bavail.
		emit(st.names[0], round(float64(s.Bfree)/float64(s.Blocks)*100, 2))
	}
	emit(st.names[1], round(frsize*float64(s.Blocks-min(s.Bfree, s.Blocks)), 2))
	emit(st.names[2], round(frsize*float64(s.Bfree), 2))
	emit(st.names[3], round(frsize*float64(s.Bavail), 2))
	if s.Files > 0 {
		emit(st.names[4], round(float64(s.Ffree)/float64(s.Files)*100, 0))
	}
	emit(st.names[5], float64(s.Files-min(s.Ffree, s.Files)))
	emit(st.names[6], float64(s.Ffree))
	// statvfs's f_favail is f_ffree on Linux (glibc copies it).
	emit(st.names[7], float64(s.Ffree))
}

// errHung is a statfs given up on.
var errHung = errors.New("no answer within the timeout (network file system away?)")

// statfsBounded runs statfs in a goroutine and waits for it at most
// StatfsTimeout: a hard NFS mount whose server is gone blocks statfs for
// as long as the server stays away. While a call is stuck, the mount is
// skipped without starting another, so stuck goroutines never pile up.
func (c *diskspaceCollector) statfsBounded(st *mountState, path string, out *unix.Statfs_t) error {
	if !st.pending.CompareAndSwap(false, true) {
		c.o.Counts.Timeouts.Add(1)
		return errHung
	}
	type result struct {
		s   unix.Statfs_t
		err error
	}
	done := make(chan result, 1)
	statfs := c.o.Statfs
	go func() {
		var r result
		r.err = statfs(path, &r.s)
		st.pending.Store(false)
		done <- r
	}()
	t := time.NewTimer(c.o.StatfsTimeout)
	defer t.Stop()
	select {
	case r := <-done:
		*out = r.s
		return r.err
	case <-t.C:
		c.o.Counts.Timeouts.Add(1)
		return errHung
	}
}

// name sets st's metric names for the mount's <name>, built again only
// when it changes (a label set, a device remounted).
func (c *diskspaceCollector) name(st *mountState, mountPoint, device []byte, labels map[string]string) {
	name, ok := labels[string(device)]
	if !ok {
		if st.mountName == "" {
			st.mountName = mountName(mountPoint)
		}
		name = st.mountName
	}
	if name == st.nameOf {
		return
	}
	st.nameOf = name
	for i, m := range diskspaceMetrics {
		st.names[i] = "diskspace." + name + "." + m
	}
}

// mountName is Diamond's <name> for a mount point without a label, from
// the text of /proc/mounts, escapes and all: Diamond drops the backslash
// of "\040" and keeps the digits.
func mountName(mountPoint []byte) string {
	name := strings.NewReplacer("/", "_", ".", "_", `\`, "").Replace(string(mountPoint))
	switch name {
	case "_":
		return "root"
	case "_tmp":
		return "tmp"
	}
	return name
}

// readLabels maps device paths to the labels udev links under
// /dev/disk/by-label; an empty map when there is no udev (statbox as init).
func (c *diskspaceCollector) readLabels() map[string]string {
	m := map[string]string{}
	ents, err := os.ReadDir(c.labels)
	if err != nil {
		return m
	}
	for _, e := range ents {
		dev, err := filepath.EvalSymlinks(filepath.Join(c.labels, e.Name()))
		if err != nil {
			continue
		}
		// udev escapes / in a label as \x2f.
		m[dev] = strings.ReplaceAll(e.Name(), `\x2f`, "/")
	}
	return m
}

// unescapeMount undoes the octal escapes (\040 for a space) the kernel
// writes in mount points.
func unescapeMount(b []byte) string {
	if bytes.IndexByte(b, '\\') < 0 {
		return string(b)
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+3 < len(b) && isOctal(b[i+1]) && isOctal(b[i+2]) && isOctal(b[i+3]) {
			out = append(out, (b[i+1]-'0')<<6|(b[i+2]-'0')<<3|(b[i+3]-'0'))
			i += 3
			continue
		}
		out = append(out, b[i])
	}
	return string(out)
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

func oneOf(b []byte, set []string) bool {
	for _, s := range set {
		if string(b) == s {
			return true
		}
	}
	return false
}
