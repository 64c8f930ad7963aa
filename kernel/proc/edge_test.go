package proc

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"statbox/kernel"
)

func TestDelta(t *testing.T) {
	for _, tc := range []struct {
		name     string
		old, cur uint64
		want     uint64
		ok       bool
		wraps    uint64
	}{
		{"rise", 10, 15, 5, true, 0},
		{"still", 7, 7, 0, true, 0},
		// Diamond's wrap: cur - old + (2^32-1), one short of the modulus.
		{"32-bit wrap", 1<<32 - 100, 50, 149, true, 1},
		{"reset from low", 1000, 10, 0, false, 0},
		{"reset of a 64-bit counter", 1 << 40, 5, 0, false, 0},
		{"reset from 64-bit upper half", 1<<64 - 5, 3, 0, false, 0},
	} {
		var c Counts
		d, ok := delta(tc.old, tc.cur, &c)
		if d != tc.want || ok != tc.ok || c.Wraps.Load() != tc.wraps {
			t.Errorf("%s: delta(%d, %d) = %d, %v (wraps %d), want %d, %v (wraps %d)",
				tc.name, tc.old, tc.cur, d, ok, c.Wraps.Load(), tc.want, tc.ok, tc.wraps)
		}
		if !tc.ok && c.Resets.Load() != 1 {
			t.Errorf("%s: reset not counted", tc.name)
		}
	}
}

func TestRound(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		prec int
		want float64
	}{
		{2.5, 0, 2}, {3.5, 0, 4}, {1.005, 2, 1}, {1.015, 2, 1.01}, {0.125, 2, 0.12}, {12.3456, 3, 12.346}, {-0.5, 0, 0},
	} {
		if got := round(tc.v, tc.prec); got != tc.want {
			t.Errorf("round(%v, %d) = %v, want %v (Python's %%.%df)", tc.v, tc.prec, got, tc.want, tc.prec)
		}
	}
}

// rounds runs one collector over successive /proc contents, 10 s apart,
// returning what each round emitted and its error.
func rounds(t *testing.T, mk func(Options) kernel.Collector, files ...map[string]string) ([]map[string]float64, []error, *Counts) {
	t.Helper()
	dir := t.TempDir()
	counts := new(Counts)
	c := mk(Options{Proc: dir, Sys: dir, Dev: dir, Interval: interval, Counts: counts}.withDefaults())
	var out []map[string]float64
	var errs []error
	for i, f := range files {
		writeTree(t, dir, f)
		got, err := collect(t, c, t0.Add(time.Duration(i)*interval))
		out, errs = append(out, got), append(errs, err)
	}
	return out, errs, counts
}

func TestCPUOddInput(t *testing.T) {
	mk := func(o Options) kernel.Collector { return newCPU(o) }
	got, errs, counts := rounds(t, mk,
		// A 2.6.18 kernel: seven columns, no steal or guest.
		map[string]string{"stat": "cpu  100 0 50 1000 5 1 2\ncpu0 100 0 50 1000 5 1 2\nintr 1 2 3\n"},
		// iowait went back (proc(5) allows it): that field is skipped.
		map[string]string{"stat": "cpu  200 0 60 1900 4 1 2\ncpu0 200 0 60 1900 4 1 2\n"},
		// cpu1 comes online; a garbage line is skipped, with an error.
		map[string]string{"stat": "cpu  300 0 70 2800 6 1 2\ncpu0 300 0 70 2800 6 1 2\ncpu1 7 0 7 7 7 0 0\ncpuX 1 2\n"},
	)
	if len(got[0]) != 2*7+1 || got[0]["cpu.total.user"] != 0 || got[0]["cpu.cpu0.irq"] != 0 {
		t.Errorf("first round: %v, want 15 zeros and cpu_count", got[0])
	}
	if _, ok := got[0]["cpu.total.steal"]; ok {
		t.Error("steal emitted for a kernel without it")
	}
	if got[1]["cpu.total.user"] != 10 || got[1]["cpu.total.idle"] != 90 || got[1]["cpu.cpu0.system"] != 1 {
		t.Errorf("second round: %v", got[1])
	}
	if _, ok := got[1]["cpu.total.iowait"]; ok || counts.Resets.Load() != 2 {
		t.Errorf("iowait going back: emitted %v, resets %d; want skipped, 2", got[1]["cpu.total.iowait"], counts.Resets.Load())
	}
	if got[2]["cpu.cpu1.user"] != 0 || got[2]["cpu.total.iowait"] != 0.2 || got[2]["cpu.cpu_count"] != 2 {
		t.Errorf("third round: %v", got[2])
	}
	if errs[2] == nil || errs[0] != nil || errs[1] != nil {
		t.Errorf("errors %v, want only the third round's malformed line", errs)
	}
}

func TestNetworkOddInput(t *testing.T) {
	head := "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
	line := func(name string, rxBytes, rxPackets uint64) string {
		return name + ":" + strings.Repeat(" ", 1) + u(rxBytes) + " " + u(rxPackets) + " 0 0 0 0 0 0 1000 10 0 0 0 0 0 0\n"
	}
	mk := func(o Options) kernel.Collector { return newNetwork(o) }
	got, errs, counts := rounds(t, mk,
		map[string]string{"net/dev": head + line("    lo", 5, 5) + line("  eth0", 4294967000, 100) + line("  ens3", 1<<40, 7) +
			line("veth12ab", 1, 1) + line("docker0", 1, 1) + line("  bond0.100", 0, 0) + "  em1:123 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n"},
		// eth0's 32-bit byte counter wraps; ens3 is reset; em1 disappears.
		map[string]string{"net/dev": head + line("    lo", 9, 9) + line("  eth0", 200, 110) + line("  ens3", 10, 8) + line("  bond0.100", 5, 1)},
		// em1 is back: it starts again from 0.
		map[string]string{"net/dev": head + line("  eth0", 300, 120) + line("  ens3", 20, 9) + "  em1:999 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n"},
	)
	for _, name := range []string{"lo", "veth12ab", "docker0"} {
		if _, ok := got[0]["network."+name+".rx_byte"]; ok {
			t.Errorf("%s reported; Diamond's interfaces exclude it", name)
		}
	}
	for _, name := range []string{"eth0", "ens3", "em1", "bond0.100"} {
		if v, ok := got[0]["network."+name+".rx_byte"]; !ok || v != 0 {
			t.Errorf("%s first round rx_byte = %v, %v; want 0", name, v, ok)
		}
	}
	// (200 + 2^32-1 - 4294967000) / 10 s = 49.5 B/s
	if got[1]["network.eth0.rx_byte"] != 49.5 || got[1]["network.eth0.rx_bit"] != 396 || got[1]["network.eth0.rx_packets"] != 1 {
		t.Errorf("wrap: %v", pick(got[1], "network.eth0.rx_"))
	}
	if _, ok := got[1]["network.ens3.rx_byte"]; ok || counts.Resets.Load() != 1 {
		t.Errorf("reset: rx_byte emitted %v, resets %d; want skipped, 1", ok, counts.Resets.Load())
	}
	if got[1]["network.ens3.rx_packets"] != 0 { // 0.1/s, printed as 0
		t.Errorf("ens3 rx_packets = %v, want 0 (precision 0)", got[1]["network.ens3.rx_packets"])
	}
	if got[2]["network.ens3.rx_byte"] != 1 || got[2]["network.em1.rx_byte"] != 0 || got[2]["network.eth0.tx_packets"] != 0 {
		t.Errorf("third round: %v", got[2])
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("round %d: %v", i, err)
		}
	}
}

func TestIOStatOddInput(t *testing.T) {
	mk := func(o Options) kernel.Collector { return newIOStat(o) }
	disk := func(maj, min int, name string, v ...uint64) string {
		s := u(uint64(maj)) + " " + u(uint64(min)) + " " + name
		for _, x := range v {
			s += " " + u(x)
		}
		return s + "\n"
	}
	// reads merged sectors ms writes merged sectors ms inflight io_ms weighted
	r1 := disk(8, 0, "sda", 100, 0, 800, 50, 10, 0, 80, 20, 0, 60, 70) +
		disk(8, 1, "sda1", 4294967000, 0, 800, 50, 0, 0, 0, 0, 0, 60, 70) +
		disk(259, 0, "nvme0n1", 1, 0, 8, 1, 1, 0, 8, 1, 0, 1, 1, 0, 0, 0, 0) +
		disk(259, 1, "nvme0n1p1", 1, 0, 8, 1, 1, 0, 8, 1, 0, 1, 1) +
		disk(253, 0, "dm-0", 5, 0, 8, 1, 1, 0, 8, 1, 0, 1, 1) +
		disk(7, 0, "loop0", 1, 0, 8, 1, 1, 0, 8, 1, 0, 1, 1) +
		disk(1, 0, "ram0", 1, 0, 8, 1, 1, 0, 8, 1, 0, 1, 1) +
		disk(11, 0, "sr0", 1, 0, 8, 1, 1, 0, 8, 1, 0, 1, 1) +
		disk(179, 0, "mmcblk0", 1, 0, 8, 1, 1, 0, 8, 1, 0, 1, 1) +
		disk(3, 1, "hda1", 1, 2, 3, 4) // a 2.6.18 partition: 4 columns
	r2 := disk(8, 0, "sda", 110, 2, 880, 60, 30, 1, 240, 80, 3, 160, 370) +
		disk(8, 1, "sda1", 20, 0, 900, 50, 0, 0, 0, 0, 0, 60, 70) + // reads wrap at 32 bits
		disk(259, 0, "nvme0n1", 1, 0, 8, 1, 1, 0, 8, 1, 0, 1, 1, 0, 0, 0, 0) + // idle
		disk(259, 1, "nvme0n1p1", 2, 0, 16, 1, 1, 0, 8, 1, 0, 1, 1) +
		disk(253, 0, "dm-0", 1, 0, 8, 1, 1, 0, 8, 1, 0, 1, 1) + // re-created: reset
		disk(179, 0, "mmcblk0", 9, 0, 8, 1, 1, 0, 8, 1, 0, 1, 1) +
		disk(3, 1, "hda1", 1, 2, 3, 4)
	got, errs, _ := rounds(t, mk, map[string]string{"diskstats": r1}, map[string]string{"diskstats": r2})
	if len(got[0]) != 0 {
		t.Errorf("first round published %v; Diamond publishes nothing", got[0])
	}
	want := map[string]float64{
		"reads": 10, "reads_merged": 2, "reads_byte": 40960, "reads_milliseconds": 10,
		"writes": 20, "writes_merged": 1, "writes_byte": 81920, "writes_milliseconds": 60,
		"io_in_progress": 3, "io_milliseconds": 100, "io_milliseconds_weighted": 300,
		"read_requests_merged_per_second": 0.2, "write_requests_merged_per_second": 0.1,
		"reads_per_second": 1, "writes_per_second": 2, "read_byte_per_second": 4096, "write_byte_per_second": 8192,
		"average_request_size_byte": 4096, "io": 30, "average_queue_length": 0.03, "util_percentage": 1,
		"read_await": 1, "write_await": 3, "iops": 3, "service_time": 3.333, "await": 2.333, "concurrent_io": 0.01,
	}
	sda := pick(got[1], "iostat.sda.")
	for k, v := range want {
		if sda["iostat.sda."+k] != v {
			t.Errorf("iostat.sda.%s = %v, want %v", k, sda["iostat.sda."+k], v)
		}
	}
	if len(sda) != len(want) {
		t.Errorf("sda: %d metrics, want %d", len(sda), len(want))
	}
	// 20 + (2^32-1) - 4294967000 = 315 reads
	if got[1]["iostat.sda1.reads"] != 315 {
		t.Errorf("sda1 wrap: reads = %v, want 315", got[1]["iostat.sda1.reads"])
	}
	if got[1]["iostat.nvme0n1p1.reads"] != 1 {
		t.Errorf("nvme0n1p1 missing: %v", pick(got[1], "iostat.nvme"))
	}
	for _, dev := range []string{"nvme0n1", "dm-0", "loop0", "ram0", "sr0", "mmcblk0", "hda1"} {
		if m := pick(got[1], "iostat."+dev+"."); len(m) != 0 {
			t.Errorf("%s published: %v", dev, m)
		}
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("round %d: %v", i, err)
		}
	}
}

func TestMemoryLoadavgSocketsOddInput(t *testing.T) {
	// A 3.10 kernel: no MemAvailable, so no MemUsedPercentage; HugePages
	// lines have no unit and are not Diamond's.
	mem, errs, _ := rounds(t, func(o Options) kernel.Collector { return newMemory(o) },
		map[string]string{"meminfo": "MemTotal:  1000 kB\nMemFree: 250 kB\nHugePages_Total: 0\nActive(anon): 5 kB\nDirty: x kB\n"})
	if len(mem[0]) != 2 || mem[0]["memory.MemTotal"] != 1024000 || mem[0]["memory.MemFree"] != 256000 || errs[0] == nil {
		t.Errorf("meminfo: %v, %v", mem[0], errs[0])
	}
	mem, _, _ = rounds(t, func(o Options) kernel.Collector { return newMemory(o) },
		map[string]string{"meminfo": "MemTotal: 1000 kB\nMemAvailable: 334 kB\n"})
	if mem[0]["memory.MemUsedPercentage"] != 67 { // 66.6 printed whole
		t.Errorf("MemUsedPercentage = %v, want 67", mem[0]["memory.MemUsedPercentage"])
	}

	load, errs, _ := rounds(t, func(o Options) kernel.Collector { return newLoadavg(o) },
		map[string]string{"loadavg": "0.72 1.05 12.50 3/271 4242\n", "devices/system/cpu/online": "0-1,4-5\n"},
		map[string]string{"loadavg": "0.72 garbage\n"})
	want := map[string]float64{"loadavg.01": 0.72, "loadavg.05": 1.05, "loadavg.15": 12.5, "loadavg.01_normalized": 0.18,
		"loadavg.05_normalized": 0.26, "loadavg.15_normalized": 3.12, "loadavg.processes_running": 3, "loadavg.processes_total": 271}
	same(t, load[0], want)
	if errs[1] == nil {
		t.Error("malformed loadavg: no error")
	}

	// No IPv6: no sockstat6, and that is fine.
	socks, errs, _ := rounds(t, func(o Options) kernel.Collector { return newSockets(o) },
		map[string]string{"net/sockstat": "sockets: used 7\nTCP: inuse 10 orphan 1 tw 2 alloc 3 mem 4\nUDP: inuse 5 mem 6\nUDPLITE: inuse 9\n"},
		map[string]string{"net/sockstat6": "TCP6: inuse 51\nUDP6: inuse 2\nUDPLITE6: inuse 8\nRAW6: inuse 1\n"})
	same(t, socks[0], map[string]float64{"sockets.used": 7, "sockets.tcp_inuse": 10, "sockets.tcp_orphan": 1, "sockets.tcp_tw": 2,
		"sockets.tcp_alloc": 3, "sockets.tcp_mem": 4, "sockets.udp_inuse": 5, "sockets.udp_mem": 6})
	if socks[1]["sockets.tcp_inuse"] != 61 || socks[1]["sockets.udp_inuse"] != 7 || errs[0] != nil || errs[1] != nil {
		t.Errorf("with sockstat6: %v, errors %v", socks[1], errs)
	}
}

// TestMissingFiles: with nothing under /proc every collector returns an
// error and emits nothing, and panics never.
func TestMissingFiles(t *testing.T) {
	dir := t.TempDir()
	for _, c := range Collectors(Options{Proc: dir, Sys: dir, Dev: dir}) {
		got, err := collect(t, c, t0)
		if err == nil || len(got) != 0 {
			t.Errorf("%s on an empty /proc: %v, %v; want an error and nothing", c.Name(), got, err)
		}
	}
}

// fakeFS answers statfs for the paths it knows; hang blocks until released.
type fakeFS struct {
	mu    sync.Mutex
	calls map[string]int
	hang  chan struct{}
}

func (f *fakeFS) statfs(path string, st *unix.Statfs_t) error {
	f.mu.Lock()
	f.calls[path]++
	f.mu.Unlock()
	switch path {
	case "/", "/mnt/my disk", "/tmp", "/var/lib.d":
		*st = unix.Statfs_t{Bsize: 4096, Frsize: 4096, Blocks: 1000, Bfree: 400, Bavail: 350, Files: 300, Ffree: 200}
		return nil
	case "/srv/nfs":
		<-f.hang
		return unix.EIO
	}
	return unix.ENOENT
}

func TestDiskSpace(t *testing.T) {
	const mountinfo = `22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:1 / / rw,relatime - ext4 /dev/vda1 rw
28 27 254:2 / /boot/efi rw - vfat /dev/vda2 rw
29 27 0:30 / /run rw - tmpfs tmpfs rw
30 27 254:1 /data /srv/bind rw - ext4 /dev/vda1 rw
31 27 254:3 / /mnt/my\040disk rw shared:5 - xfs /dev/vdb rw
32 27 254:4 / /export/home/joe rw - ext4 /dev/vdc rw
33 27 254:5 / /tmp rw - btrfs /dev/vdd rw
34 27 254:6 / /var/lib.d rw - ext4 /dev/vde rw
35 27 0:50 / /srv/nfs rw - nfs4 files:/export rw
36 27 0:51 / /merged rw - overlay overlay rw
37 27 254:7 / /gone rw - ext4 /dev/vdf rw
garbage
`
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"self/mountinfo": mountinfo})
	fs := &fakeFS{calls: map[string]int{}, hang: make(chan struct{})}
	defer close(fs.hang)
	counts := new(Counts)
	c := newDiskSpace(Options{Proc: dir, Dev: dir, Counts: counts, Statfs: fs.statfs, StatfsTimeout: 10 * time.Millisecond}.withDefaults())
	one := map[string]float64{"byte_percentfree": 40, "byte_used": 600 * 4096, "byte_free": 400 * 4096, "byte_avail": 350 * 4096,
		"inodes_percentfree": 67, "inodes_used": 100, "inodes_free": 200, "inodes_avail": 200}
	want := map[string]float64{}
	for _, name := range []string{"root", "_mnt_my040disk", "tmp", "_var_lib_d"} {
		for k, v := range one {
			want["diskspace."+name+"."+k] = v
		}
	}
	for round := range 2 {
		got, err := collect(t, c, t0)
		same(t, got, want)
		// /srv/nfs hangs, /gone has no statfs, "garbage" does not parse.
		if err == nil || !strings.Contains(err.Error(), "mounts skipped") {
			t.Errorf("round %d: err %v, want the skipped mounts", round, err)
		}
	}
	if n := fs.calls["/srv/nfs"]; n != 1 {
		t.Errorf("hung NFS mount: %d statfs calls, want 1 (no second while the first hangs)", n)
	}
	if counts.Timeouts.Load() != 2 || counts.Malformed.Load() != 2 {
		t.Errorf("timeouts %d, malformed %d; want 2, 2", counts.Timeouts.Load(), counts.Malformed.Load())
	}
	if fs.calls["/srv/bind"] != 0 || fs.calls["/boot/efi"] != 0 || fs.calls["/export/home/joe"] != 0 {
		t.Errorf("statfs of a mount Diamond does not report: %v", fs.calls)
	}
}

// TestDiskSpaceLive: the mounts the collector reports on this machine,
// checked against statfs(2) called by the test.
func TestDiskSpaceLive(t *testing.T) {
	c := newDiskSpace(Options{}.withDefaults())
	got, err := collect(t, c, t0)
	if err != nil {
		t.Logf("diskspace: %v", err)
	}
	for name, used := range got {
		if !strings.HasSuffix(name, ".byte_used") {
			continue
		}
		base := strings.TrimSuffix(name, "byte_used")
		mp := "/"
		if base != "diskspace.root." {
			mp = strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(base, "diskspace."), "."), "_", "/")
		}
		var st unix.Statfs_t
		if err := unix.Statfs(mp, &st); err != nil {
			t.Logf("%s: cannot find its mount point back (%v)", name, err)
			continue
		}
		// Used plus free is the size, which does not move between calls.
		if total := used + got[base+"byte_free"]; total != float64(st.Blocks)*float64(st.Frsize) {
			t.Errorf("%s: used+free = %v, statfs says %v", mp, total, float64(st.Blocks)*float64(st.Frsize))
		}
		if inodes := got[base+"inodes_used"] + got[base+"inodes_free"]; inodes != float64(st.Files) {
			t.Errorf("%s: inodes used+free = %v, statfs says %d", mp, inodes, st.Files)
		}
	}
	t.Logf("%d diskspace metrics", len(got))
}

func pick(m map[string]float64, prefix string) map[string]float64 {
	out := map[string]float64{}
	for k, v := range m {
		if strings.HasPrefix(k, prefix) {
			out[k] = v
		}
	}
	return out
}

func u(v uint64) string { return strconv.FormatUint(v, 10) }

// TestParseDecimal: loads are parsed as strtod parses them, so that the
// normalized load rounds as Diamond's did.
func TestParseDecimal(t *testing.T) {
	for _, s := range []string{"5.69", "0.72", "12.50", "0", "1234.5678"} {
		want, _ := strconv.ParseFloat(s, 64)
		if got, ok := parseDecimal([]byte(s)); !ok || got != want {
			t.Errorf("parseDecimal(%q) = %v, %v; want %v", s, got, ok, want)
		}
	}
	for _, s := range []string{"", "-1", "1e5", "x", "1.2.3x"} {
		if _, ok := parseDecimal([]byte(s)); ok {
			t.Errorf("parseDecimal(%q) ok", s)
		}
	}
	if got := round(5.69/2, 2); got != 2.85 {
		t.Errorf("5.69/2 rounds to %v, want 2.85", got)
	}
}
