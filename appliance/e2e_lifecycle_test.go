package appliance

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"statbox/storage/whisper"
)

// listeningSockets returns the local addresses ("127.0.0.1:8080") of the
// listening TCP sockets and of the UDP sockets that process pid holds,
// found through its descriptors' inodes in /proc/net/{tcp,tcp6,udp,udp6}.
func listeningSockets(t testing.TB, pid int) (tcp, udp []string) {
	t.Helper()
	inodes := map[string]bool{}
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(fdDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		link, err := os.Readlink(filepath.Join(fdDir, e.Name()))
		if err == nil && strings.HasPrefix(link, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = true
		}
	}
	for _, proto := range []string{"tcp", "tcp6", "udp", "udp6"} {
		b, err := os.ReadFile("/proc/net/" + proto)
		if err != nil {
			continue // no IPv6
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			// sl local rem st tx:rx tr:when retrnsmt uid timeout inode
			if len(f) < 10 || !inodes[f[9]] {
				continue
			}
			addr := hexAddr(f[1])
			switch {
			case strings.HasPrefix(proto, "tcp") && f[3] == "0A": // LISTEN
				tcp = append(tcp, addr)
			case strings.HasPrefix(proto, "udp"):
				udp = append(udp, addr)
			}
		}
	}
	return tcp, udp
}

// hexAddr turns /proc/net's "0100007F:1F90" into "127.0.0.1:8080" (IPv4) or
// "[hex]:port" (IPv6).
func hexAddr(s string) string {
	ip, port, _ := strings.Cut(s, ":")
	p, _ := strconv.ParseUint(port, 16, 16)
	if len(ip) != 8 {
		return fmt.Sprintf("[%s]:%d", ip, p)
	}
	n, _ := strconv.ParseUint(ip, 16, 32)
	return fmt.Sprintf("%d.%d.%d.%d:%d", n&0xff, n>>8&0xff, n>>16&0xff, n>>24, p)
}

// TestE2EHealthAndOff: with --carbon off --pickle off (and statsd, admin
// off) the daemon listens on nothing but its HTTP address, and /health
// answers 200; then, with carbon on, SIGHUP makes new files follow a changed
// --conf-dir (retentions and aggregation) while files made before keep
// theirs, and a broken conf on SIGHUP keeps the rules in force.
func TestE2EHealthAndOff(t *testing.T) {
	t.Parallel()
	bin := buildStatbox(t)

	t.Run("off", func(t *testing.T) {
		d := startDaemon(t, bin, filepath.Join(t.TempDir(), "data"), "--carbon", "off", "--pickle", "off")
		resp, err := e2eClient.Get("http://" + d.HTTP + "/health")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("/health: %s %q", resp.Status, body)
		}
		tcp, udp := listeningSockets(t, d.cmd.Process.Pid)
		if len(tcp) != 1 || tcp[0] != d.HTTP || len(udp) != 0 {
			t.Errorf("listening TCP %v and UDP %v; want only TCP %s", tcp, udp, d.HTTP)
		}
		for _, s := range []string{"carbon started", "pickle started"} {
			if strings.Contains(d.Logs(), s) {
				t.Errorf("log says %q with the listener off:\n%s", s, d.Logs())
			}
		}
		d.stop()
	})

	t.Run("SIGHUP", func(t *testing.T) {
		conf := t.TempDir()
		write := func(schemas, aggregation string) {
			t.Helper()
			for name, text := range map[string]string{"storage-schemas.conf": schemas, "storage-aggregation.conf": aggregation} {
				// Replaced whole, as an editor or config manager does.
				tmp := filepath.Join(conf, name+".tmp")
				if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Rename(tmp, filepath.Join(conf, name)); err != nil {
					t.Fatal(err)
				}
			}
		}
		write("[e2e]\npattern = ^e2e\\.\nretentions = 10s:1h,1m:1d\n\n[default]\npattern = .*\nretentions = 60:1440\n",
			"[default]\npattern = .*\nxFilesFactor = 0.5\naggregationMethod = average\n")
		data := filepath.Join(t.TempDir(), "data")
		d := startDaemon(t, bin, data, "--conf-dir", conf, "--pickle", "off")
		ts := baseTime()
		c := dial(t, d.Carbon)
		// create sends a point for name and returns its file's header.
		create := func(name string) whisper.Header {
			t.Helper()
			mustWrite(t, c, []byte(fmt.Sprintf("%s 1 %d\n", name, ts)))
			path := filepath.Join(data, "whisper", strings.ReplaceAll(name, ".", "/")+".wsp")
			deadline := time.Now().Add(10 * time.Second)
			for {
				f, err := whisper.Open(path, whisper.Options{ReadOnly: true})
				if err == nil {
					h := f.Header
					f.Close()
					return h
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: %v\n%s", name, err, d.Logs())
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		hup := func(logLine string) {
			t.Helper()
			n := strings.Count(d.Logs(), logLine)
			d.signal(syscall.SIGHUP)
			deadline := time.Now().Add(10 * time.Second)
			for strings.Count(d.Logs(), logLine) == n {
				if time.Now().After(deadline) {
					t.Fatalf("no %q 10 s after SIGHUP:\n%s", logLine, d.Logs())
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		check := func(h whisper.Header, name string, archives [][2]uint32, method whisper.AggregationMethod, xff float32) {
			t.Helper()
			var got [][2]uint32
			for _, a := range h.Archives {
				got = append(got, [2]uint32{a.SecondsPerPoint, a.Points})
			}
			if fmt.Sprint(got) != fmt.Sprint(archives) || h.AggregationMethod != method || h.XFilesFactor != xff {
				t.Errorf("%s: archives %v, %v, xff %v; want %v, %v, %v", name, got, h.AggregationMethod, h.XFilesFactor, archives, method, xff)
			}
		}

		before := create("e2e.hup.before")
		check(before, "before", [][2]uint32{{10, 360}, {60, 1440}}, whisper.Average, 0.5)

		write("[e2e]\npattern = ^e2e\\.\nretentions = 1m:2h,1h:30d\n\n[default]\npattern = .*\nretentions = 60:1440\n",
			"[e2e]\npattern = ^e2e\\.\nxFilesFactor = 0.1\naggregationMethod = max\n")
		hup("schemas reloaded")
		check(create("e2e.hup.after"), "after", [][2]uint32{{60, 120}, {3600, 720}}, whisper.Max, 0.1)

		// A conf the daemon cannot read leaves the last good one in force.
		write("[e2e]\npattern = ^e2e\\.\nretentions = this is not a retention\n", "")
		hup("reload failed")
		check(create("e2e.hup.broken"), "after a failed reload", [][2]uint32{{60, 120}, {3600, 720}}, whisper.Max, 0.1)

		// The file made before the reloads is as it was.
		f, err := whisper.Open(filepath.Join(data, "whisper", "e2e", "hup", "before.wsp"), whisper.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		check(f.Header, "before, after the reloads", [][2]uint32{{10, 360}, {60, 1440}}, whisper.Average, 0.5)
		f.Close()
		if !d.healthy() {
			t.Error("/health not green after the reloads")
		}
		d.stop()
	})
}
