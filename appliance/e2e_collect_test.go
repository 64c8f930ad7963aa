package appliance

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// collectSchemas keeps host metrics at one point a second, so that with
// --collect-interval 1s every round's point stays.
const collectSchemas = `[statbox]
pattern = ^statbox\.
retentions = 1s:1h

[servers]
pattern = ^servers\.
retentions = 1s:1h

[default]
pattern = .*
retentions = 10s:6h,1m:7d,10m:5y
`

// TestE2ECollect runs `statbox run` with host collection every second and
// waits for Diamond's metric families in the whisper tree under
// servers.<host>., then asks /render for values the test can check against
// /proc itself.
func TestE2ECollect(t *testing.T) {
	t.Parallel()
	bin := buildStatbox(t)
	data := filepath.Join(t.TempDir(), "data")
	d := startDaemon(t, bin, data, "--conf-dir", writeConfDir(t, collectSchemas),
		"--collect=true", "--collect-interval", "1s", "--self-interval", "1s")
	host, _, _ := strings.Cut(mustHostname(t), ".") // Diamond's "smart" host name
	tree := filepath.Join(data, "whisper", "servers", host)

	// What this machine has, read by the test: the families that must show.
	want := []string{"cpu/total/user.wsp", "cpu/cpu0/idle.wsp", "cpu/cpu_count.wsp", "memory/MemTotal.wsp",
		"memory/MemUsedPercentage.wsp", "loadavg/01.wsp", "loadavg/processes_total.wsp", "vmstat/pgfault.wsp",
		"sockets/used.wsp", "sockets/tcp_inuse.wsp"}
	if name := diskspaceMount(t); name != "" {
		want = append(want, "diskspace/"+name+"/byte_free.wsp", "diskspace/"+name+"/inodes_used.wsp")
	} else {
		t.Log("no mount of a type Diamond reports (ext4, xfs, btrfs...): diskspace not checked")
	}
	if ifname := networkInterface(t); ifname != "" {
		want = append(want, "network/"+ifname+"/rx_byte.wsp", "network/"+ifname+"/tx_packets.wsp")
	} else {
		t.Log("no interface Diamond reports (eth*, ens*, ...): network not checked")
	}
	disk := busyDisk(t, data)
	if disk != "" {
		want = append(want, "iostat/"+disk+"/reads.wsp", "iostat/"+disk+"/util_percentage.wsp", "iostat/"+disk+"/await.wsp")
	} else {
		t.Log("no disk Diamond reports (sd*, vd*, nvme*...) with I/O: iostat not checked")
	}
	// The eBPF probes need root (and BTF): as root, their family must show.
	if os.Geteuid() == 0 {
		want = append(want, "ebpf/proc/exec.wsp", "ebpf/syscalls/per_second.wsp")
	} else {
		e2eMissing(t, "not root: the eBPF probes cannot load, ebpf not checked")
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var missing []string
		for _, w := range want {
			if _, err := os.Stat(filepath.Join(tree, w)); err != nil {
				missing = append(missing, w)
			}
		}
		if len(missing) == 0 {
			break
		}
		if disk != "" {
			busyDisk(t, data) // keep the disk doing I/O, so iostat publishes
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s the tree under %s lacks %v\nwarnings:\n%s", tree, missing, d.warnings())
		}
		time.Sleep(200 * time.Millisecond)
	}

	// The families, as Grafana's query editor lists them.
	resp, err := http.Get("http://" + d.HTTP + "/metrics/find?query=servers.*.*")
	if err != nil {
		t.Fatal(err)
	}
	var nodes []struct{ Text string }
	err = json.NewDecoder(resp.Body).Decode(&nodes)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("/metrics/find: %v", err)
	}
	found := map[string]bool{}
	for _, n := range nodes {
		found[n.Text] = true
	}
	for _, w := range want {
		if family, _, _ := strings.Cut(w, "/"); !found[family] {
			t.Errorf("/metrics/find?query=servers.*.* lacks %s: %v", family, nodes)
		}
	}

	prefix := "servers." + host + "."
	last := func(target string) (float64, int) {
		series, _ := d.render(t, "-5min", "now", prefix+target)
		var v float64
		n := 0
		for _, s := range series {
			for _, p := range s.Points {
				if !p.Null {
					v, n = p.Value, n+1
				}
			}
		}
		return v, n
	}
	meminfo := procFieldsE2E(t, "/proc/meminfo")
	if v, _ := last("memory.MemTotal"); v != num(t, meminfo["MemTotal:"][0])*1024 {
		t.Errorf("memory.MemTotal = %v, /proc/meminfo says %v kB", v, meminfo["MemTotal:"][0])
	}
	stat := procFieldsE2E(t, "/proc/stat")
	ncpu := 0
	for k := range stat {
		if regexp.MustCompile(`^cpu[0-9]+$`).MatchString(k) {
			ncpu++
		}
	}
	if v, _ := last("cpu.cpu_count"); v != float64(ncpu) {
		t.Errorf("cpu.cpu_count = %v, /proc/stat has %d CPUs", v, ncpu)
	}
	if v, n := last("loadavg.processes_total"); n == 0 || v < 1 {
		t.Errorf("loadavg.processes_total = %v (%d points), want at least this process", v, n)
	}
	// Ticks a second summed over all fields and CPUs: about 100 (USER_HZ)
	// per CPU. Averaged over the rounds, so a late round does not matter.
	var sum float64
	var rounds int
	for _, f := range []string{"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"} {
		series, _ := d.render(t, "-5min", "now", prefix+"cpu.total."+f)
		n := 0
		for _, s := range series {
			for _, p := range s.Points {
				if !p.Null {
					sum += p.Value
					n++
				}
			}
		}
		rounds = max(rounds, n)
	}
	// The first round's zeros count as rounds, so the mean may sit a
	// little below 100 a CPU.
	if mean := sum / float64(rounds) / float64(ncpu); rounds < 2 || mean < 30 || mean > 200 {
		t.Errorf("cpu.total.* sum to %v ticks a second a CPU over %d rounds, want about 100", mean, rounds)
	}
	if v, n := last("memory.MemUsedPercentage"); n == 0 || v <= 0 || v > 100 {
		t.Errorf("memory.MemUsedPercentage = %v", v)
	}
	// The round's own cost, a self-metric.
	series, _ := d.render(t, "-5min", "now", "statbox."+e2eHost(t)+".collect.cpuMicroseconds")
	got := false
	for _, s := range series {
		for _, p := range s.Points {
			got = got || (!p.Null && p.Value > 0)
		}
	}
	if !got {
		t.Error("no statbox.<host>.collect.cpuMicroseconds")
	}
	d.stop()
	if !strings.Contains(d.Logs(), "collection stopped") {
		t.Errorf("no 'collection stopped' in the log:\n%s", d.Logs())
	}
}

func mustHostname(t *testing.T) string {
	h, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// procFieldsE2E maps the first field of each line of a /proc file to the rest.
func procFieldsE2E(t *testing.T, path string) map[string][]string {
	b, err := os.ReadFile(path)
	if err != nil {
		e2eMissing(t, "%s: %v", path, err)
	}
	m := map[string][]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 1 {
			m[f[0]] = f[1:]
		}
	}
	return m
}

func num(t *testing.T, s string) float64 {
	var v float64
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("%q is not a number", s)
		}
		v = v*10 + float64(c-'0')
	}
	return v
}

// diskspaceMount is Diamond's name of the root, or of the first mount of a
// type it reports ("" for none), read from /proc/self/mountinfo.
func diskspaceMount(t *testing.T) string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		e2eMissing(t, "mountinfo: %v", err)
	}
	types := " ext2 ext3 ext4 xfs btrfs "
	first := ""
	for _, l := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(l, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 2 || !strings.Contains(types, " "+g[0]+" ") || !strings.Contains(g[1], "/") {
			continue
		}
		if f[4] == "/" {
			return "root"
		}
		if first == "" && !strings.ContainsAny(f[4], `\.`) && f[4] != "/tmp" && !strings.HasPrefix(f[4], "/export/home") {
			first = strings.ReplaceAll(f[4], "/", "_")
		}
	}
	return first
}

// networkInterface is an interface Diamond reports, or "".
func networkInterface(t *testing.T) string {
	re := regexp.MustCompile(`^\s*((eth|bond|em|p1p|eno|enp|ens|enx)[^\s:.]*):`)
	b, err := os.ReadFile("/proc/net/dev")
	if err != nil {
		e2eMissing(t, "/proc/net/dev: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if m := re.FindStringSubmatch(l); m != nil {
			return m[1]
		}
	}
	return ""
}

// busyDisk writes and syncs a file in dir and returns a whole disk Diamond
// reports whose I/O counters moved meanwhile, or "".
func busyDisk(t *testing.T, dir string) string {
	re := regexp.MustCompile(`^(sd[a-z]+|x?vd[a-z]+|nvme[0-9]+n[0-9]+)$`)
	read := func() map[string]string {
		b, err := os.ReadFile("/proc/diskstats")
		if err != nil {
			e2eMissing(t, "/proc/diskstats: %v", err)
		}
		m := map[string]string{}
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 14 && re.MatchString(f[2]) {
				m[f[2]] = f[3] + " " + f[7] // reads, writes
			}
		}
		return m
	}
	before := read()
	p := filepath.Join(dir, "busy")
	if err := os.WriteFile(p, make([]byte, 1<<20), 0o644); err == nil {
		if f, err := os.OpenFile(p, os.O_RDWR, 0); err == nil {
			f.Sync()
			f.Close()
		}
	}
	for dev, v := range read() {
		if before[dev] != v {
			return dev
		}
	}
	return ""
}
