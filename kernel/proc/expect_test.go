package proc

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The test's own reading of Diamond's collectors, written from
// diamond-names.md and kept apart from the code under test: what each
// collector should emit for a round whose /proc is cur, after a round
// whose /proc was prev ("" for a first round). sec is the configured
// interval, elapsed the time between the rounds.

func expectCPU(t *testing.T, prev, cur string, sec float64) map[string]float64 {
	fields := []string{"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest", "guest_nice"}
	read := func(dir string) map[string][]string {
		m := map[string][]string{}
		for _, f := range fieldsOf(t, filepath.Join(dir, "stat")) {
			if strings.HasPrefix(f[0], "cpu") {
				m[f[0]] = f[1:]
			}
		}
		return m
	}
	want := map[string]float64{}
	now := read(cur)
	var before map[string][]string
	if prev != "" {
		before = read(prev)
	}
	count := 0
	for cpu, vals := range now {
		seg := cpu
		if cpu == "cpu" {
			seg = "total"
		} else {
			count++
		}
		for i := 0; i < len(vals) && i < len(fields); i++ {
			v := 0.0
			if b := before[cpu]; b != nil {
				// A counter that went back (iowait may) is skipped.
				if num(t, vals[i]) < num(t, b[i]) {
					continue
				}
				v = dec((num(t, vals[i])-num(t, b[i]))/sec, 2)
			}
			want["cpu."+seg+"."+fields[i]] = v
		}
	}
	want["cpu.cpu_count"] = float64(count)
	return want
}

func expectMemory(t *testing.T, cur string) map[string]float64 {
	keep := "MemTotal MemFree MemAvailable Buffers Cached Active Dirty Inactive Shmem SwapTotal SwapFree SwapCached VmallocTotal VmallocUsed VmallocChunk Committed_AS"
	want := map[string]float64{}
	for _, f := range fieldsOf(t, filepath.Join(cur, "meminfo")) {
		k := strings.TrimSuffix(f[0], ":")
		if len(f) == 3 && strings.Contains(" "+keep+" ", " "+k+" ") {
			want["memory."+k] = num(t, f[1]) * 1024
		}
	}
	if total, ok := want["memory.MemTotal"]; ok {
		if avail, ok := want["memory.MemAvailable"]; ok {
			want["memory.MemUsedPercentage"] = dec(dec(100*(total-avail)/total, 2), 0)
		}
	}
	return want
}

func expectLoadavg(t *testing.T, cur string, ncpu float64) map[string]float64 {
	f := fieldsOf(t, filepath.Join(cur, "loadavg"))[0]
	want := map[string]float64{}
	for i, n := range []string{"01", "05", "15"} {
		want["loadavg."+n] = dec(num(t, f[i]), 2)
		want["loadavg."+n+"_normalized"] = dec(num(t, f[i])/ncpu, 2)
	}
	rt := strings.Split(f[3], "/")
	want["loadavg.processes_running"] = num(t, rt[0])
	want["loadavg.processes_total"] = num(t, rt[1])
	return want
}

func expectVMStat(t *testing.T, prev, cur string, sec float64) map[string]float64 {
	read := func(dir string) map[string]float64 {
		m := map[string]float64{}
		for _, f := range fieldsOf(t, filepath.Join(dir, "vmstat")) {
			switch f[0] {
			case "pgfault", "pgmajfault", "pgpgin", "pgpgout", "pswpin", "pswpout":
				m[f[0]] = num(t, f[1])
			}
		}
		return m
	}
	want := map[string]float64{}
	now := read(cur)
	for k, v := range now {
		want["vmstat."+k] = 0
		if prev != "" {
			if v < read(prev)[k] {
				delete(want, "vmstat."+k)
				continue
			}
			want["vmstat."+k] = dec((v-read(prev)[k])/sec, 2)
		}
	}
	return want
}

func expectNetwork(t *testing.T, prev, cur string, sec float64) map[string]float64 {
	cols := []string{"rx_byte", "rx_packets", "rx_errors", "rx_drop", "rx_fifo", "rx_frame", "rx_compressed", "rx_multicast",
		"tx_byte", "tx_packets", "tx_errors", "tx_drop", "tx_fifo", "tx_colls", "tx_carrier", "tx_compressed"}
	wanted := regexp.MustCompile(`^(eth|bond|em|p1p|eno|enp|ens|enx)\S*$`)
	read := func(dir string) map[string][]string {
		m := map[string][]string{}
		for _, f := range fieldsOf(t, filepath.Join(dir, "net/dev")) {
			line := strings.Join(f, " ")
			name, rest, ok := strings.Cut(line, ":")
			if ok && wanted.MatchString(name) {
				m[name] = strings.Fields(rest)
			}
		}
		return m
	}
	want := map[string]float64{}
	var before map[string][]string
	if prev != "" {
		before = read(prev)
	}
	for dev, vals := range read(cur) {
		for i, c := range cols {
			rate := 0.0
			if b := before[dev]; b != nil {
				if num(t, vals[i]) < num(t, b[i]) {
					continue // a reset: skipped
				}
				rate = (num(t, vals[i]) - num(t, b[i])) / sec
			}
			p := "network." + dev + "."
			if c == "rx_byte" || c == "tx_byte" {
				want[p+c] = dec(rate, 2)
				want[p+c[:2]+"_bit"] = dec(rate*8, 2)
			} else {
				want[p+c] = dec(rate, 0)
			}
		}
	}
	return want
}

func expectSockets(t *testing.T, cur string) map[string]float64 {
	want := map[string]float64{}
	add := func(file string, six bool) {
		for _, f := range fieldsOf(t, filepath.Join(cur, file)) {
			proto := strings.ToLower(strings.TrimSuffix(f[0], ":"))
			for i := 1; i+1 < len(f); i += 2 {
				key := f[i]
				switch {
				case proto == "sockets" && key == "used" && !six:
					want["sockets.used"] += num(t, f[i+1])
				case (proto == "tcp" || proto == "udp") && !six && (key == "inuse" || key == "mem" || proto == "tcp" && (key == "orphan" || key == "tw" || key == "alloc")):
					want["sockets."+proto+"_"+key] += num(t, f[i+1])
				case (proto == "tcp6" || proto == "udp6") && six && key == "inuse":
					want["sockets."+proto[:3]+"_inuse"] += num(t, f[i+1])
				}
			}
		}
	}
	add("net/sockstat", false)
	add("net/sockstat6", true)
	return want
}

func expectIOStat(t *testing.T, prev, cur string, elapsed float64) map[string]float64 {
	devices := regexp.MustCompile(`^(PhysicalDrive[0-9]+|md[0-9]+|sd[a-z]+[0-9]*|x?vd[a-z]+[0-9]*|disk[0-9]+|nvme[0-9]+n[0-9]+(p[0-9]+)?|dm-[0-9]+)$`)
	read := func(dir string) map[string][]float64 {
		m := map[string][]float64{}
		for _, f := range fieldsOf(t, filepath.Join(dir, "diskstats")) {
			if len(f) < 14 || !devices.MatchString(f[2]) {
				continue
			}
			var v []float64
			for _, s := range f[3:14] {
				v = append(v, num(t, s))
			}
			m[f[2]] = v
		}
		return m
	}
	want := map[string]float64{}
	if prev == "" {
		return want
	}
	before := read(prev)
	for dev, v := range read(cur) {
		b, ok := before[dev]
		if !ok {
			continue
		}
		d := func(i int) float64 { return v[i] - b[i] }
		reset := false
		for i := range v {
			reset = reset || i != 8 && v[i] < b[i]
		}
		if reset {
			continue
		}
		reads, writes := d(0), d(4)
		io := reads + writes
		if io == 0 {
			continue
		}
		m := map[string]float64{
			"reads": reads, "reads_merged": d(1), "reads_byte": d(2) * 512, "reads_milliseconds": d(3),
			"writes": writes, "writes_merged": d(5), "writes_byte": d(6) * 512, "writes_milliseconds": d(7),
			"io_in_progress": v[8], "io_milliseconds": d(9), "io_milliseconds_weighted": d(10),
			"read_requests_merged_per_second": d(1) / elapsed, "write_requests_merged_per_second": d(5) / elapsed,
			"reads_per_second": reads / elapsed, "writes_per_second": writes / elapsed,
			"read_byte_per_second": d(2) * 512 / elapsed, "write_byte_per_second": d(6) * 512 / elapsed,
			"average_request_size_byte": (d(2) + d(6)) * 512 / io, "io": io,
			"average_queue_length": d(10) / elapsed / 1000, "util_percentage": d(9) / elapsed / 10,
			"read_await": 0, "write_await": 0, "iops": io / elapsed,
			"service_time": d(9) / io, "await": (d(3) + d(7)) / io,
		}
		if reads > 0 {
			m["read_await"] = d(3) / reads
		}
		if writes > 0 {
			m["write_await"] = d(7) / writes
		}
		m["concurrent_io"] = (m["reads_per_second"] + m["writes_per_second"]) * m["service_time"] / 1000
		for k, x := range m {
			want["iostat."+strings.ReplaceAll(dev, "/", "_")+"."+k] = dec(x, 3)
		}
	}
	return want
}
