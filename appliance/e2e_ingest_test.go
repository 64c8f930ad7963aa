package appliance

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pickleSender is a carbon pickle client written as senders write one, with
// Python's standard library only: pickle.dumps(protocol=2) of a list of
// (name, (timestamp, value)) behind a 4-byte big-endian length, sent with
// sendall. argv: host port then a JSON list of [name, ts, value] per frame.
const pickleSender = `
import json, pickle, socket, struct, sys
host, port = sys.argv[1], int(sys.argv[2])
s = socket.create_connection((host, port), timeout=10)
for arg in sys.argv[3:]:
    points = [(name, (ts, value)) for name, ts, value in json.loads(arg)]
    payload = pickle.dumps(points, protocol=2)
    s.sendall(struct.pack("!L", len(payload)) + payload)
s.close()
`

// sendPicklePython sends each frame (a list of points) with pickleSender.
func sendPicklePython(t testing.TB, addr string, frames ...[]expectPoint) {
	t.Helper()
	host, port, _ := strings.Cut(addr, ":")
	args := []string{"-c", pickleSender, host, port}
	for _, f := range frames {
		var b strings.Builder
		b.WriteByte('[')
		for i, p := range f {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "[%s,%d,%s]", strconv.Quote(p.Name), p.TS, strconv.FormatFloat(p.Value, 'g', -1, 64))
		}
		b.WriteByte(']')
		args = append(args, b.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "/usr/bin/python3", args...).CombinedOutput(); err != nil {
		t.Fatalf("python pickle sender: %v\n%s", err, out)
	}
}

// taggedPath is where carbon (and statbox) keep a tagged series: its
// normalised name hashed, _tagged/h[0:3]/h[3:6]/h.wsp.
func taggedPath(whisperDir, normalName string) string {
	sum := sha256.Sum256([]byte(normalName))
	h := hex.EncodeToString(sum[:])
	return filepath.Join(whisperDir, "_tagged", h[0:3], h[3:6], h+".wsp")
}

// whisperFetch runs Debian's whisper-fetch and returns its points by timestamp,
// "None" lines left out.
func whisperFetch(t testing.TB, path string, from, until int64) map[int64]float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/bin/whisper-fetch",
		"--from", strconv.FormatInt(from, 10), "--until", strconv.FormatInt(until, 10), path)
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("whisper-fetch %s: %v\n%s", path, err, stderr)
	}
	pts := map[int64]float64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		ts, val, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			t.Fatalf("whisper-fetch line %q is not ts\\tvalue", sc.Text())
		}
		if val == "None" {
			continue
		}
		n, err1 := strconv.ParseInt(ts, 10, 64)
		v, err2 := strconv.ParseFloat(val, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("whisper-fetch line %q: %v %v", sc.Text(), err1, err2)
		}
		pts[n] = v
	}
	return pts
}

// TestE2ECarbonTCPUDPPickle sends points by carbon plaintext over TCP and
// UDP and by pickle from a Python client, plain and tagged names, fixed
// timestamps and -1 ("now"), and reads them back through /render while the
// daemon runs and through the files with Debian's whisper-fetch after SIGTERM.
func TestE2ECarbonTCPUDPPickle(t *testing.T) {
	t.Parallel()
	requirePython(t, true)
	bin := buildStatbox(t)
	data := filepath.Join(t.TempDir(), "data")
	d := startDaemon(t, bin, data)
	whisperDir := filepath.Join(data, "whisper")
	t0 := baseTime()

	// Fixed timestamps, read back at exactly those timestamps. Names are
	// the normal forms; tagged ones are sent with their tags out of order.
	fixed := []expectPoint{
		{"e2e.tcp.a", t0, 1.5},
		{"e2e.tcp.a", t0 + 10, -2.25},
		{"e2e.tcp.big", t0, 1e300},
		{"e2e.tcp.tag;y=2;z=1", t0, 7},
		{"e2e.udp.a", t0, 11},
		{"e2e.udp.b", t0, 12},
		{"e2e.udp.b", t0 + 20, 12.5},
		{"e2e.udp.tag;a=1;b=2", t0, 14},
		{"e2e.pickle.a", t0, 21.5},
		{"e2e.pickle.a", t0 + 10, 22},
		{"e2e.pickle.tag;y=2;z=1", t0, 23},
	}
	// Three series of 500 points in one pickle frame: more than one of
	// CPython's 1000-item APPENDS batches.
	var many []expectPoint
	for i := 0; i < 1500; i++ {
		many = append(many, expectPoint{fmt.Sprintf("e2e.pickle.many.s%d", i%3), t0 - 5000 + int64(i/3)*10, float64(i)})
	}
	// Points sent with timestamp -1: stored at the daemon's now.
	nowPts := []expectPoint{
		{"e2e.tcp.now", -1, 42},
		{"e2e.udp.now", -1, 43},
		{"e2e.pickle.now", -1, 44},
		{"e2e.tcp.nowtag;y=2;z=1", -1, 45},
	}
	before := time.Now().Unix()

	c := dial(t, d.Carbon)
	mustWrite(t, c, []byte("e2e.tcp.a 1.5 "+strconv.FormatInt(t0, 10)+"\r\n"+
		"e2e.tcp.a -2.25 "+strconv.FormatInt(t0+10, 10)+"\n"+
		"  e2e.tcp.big\t1e300   "+strconv.FormatInt(t0, 10)+"\n"+
		"e2e.tcp.tag;z=1;y=2 7 "+strconv.FormatInt(t0, 10)+"\n"+
		"e2e.tcp.now 42 -1\n"+
		"e2e.tcp.nowtag;z=1;y=2 45 -1.0\n"))
	c.Close()
	sendUDP(t, d.Carbon,
		[]byte(fmt.Sprintf("e2e.udp.a 11 %d", t0)), // no newline: a datagram's last line needs none
		[]byte(fmt.Sprintf("e2e.udp.b 12 %d\ne2e.udp.b 12.5 %d\ne2e.udp.tag;b=2;a=1 14 %d\n", t0, t0+20, t0)),
		[]byte("e2e.udp.now 43 -1\n"))
	sendPicklePython(t, d.Pickle,
		[]expectPoint{
			{"e2e.pickle.a", t0, 21.5},
			{"e2e.pickle.a", t0 + 10, 22},
			{"e2e.pickle.tag;z=1;y=2", t0, 23},
			{"e2e.pickle.now", -1, 44},
		},
		many)

	d.waitPoints(t, 15*time.Second, append(fixed, many...)...)

	// The JSON is graphite-web's, byte for byte, for a plain series.
	_, body := d.render(t, strconv.FormatInt(t0-10, 10), strconv.FormatInt(t0+10, 10), "e2e.tcp.a")
	want := fmt.Sprintf(`[{"target": "e2e.tcp.a", "tags": {"name": "e2e.tcp.a"}, "datapoints": [[1.5, %d], [-2.25, %d]]}]`, t0, t0+10)
	if body != want {
		t.Errorf("render body\n got %s\nwant %s", body, want)
	}
	series, _ := d.render(t, strconv.FormatInt(t0-10, 10), strconv.FormatInt(t0, 10), "e2e.tcp.tag;y=2;z=1", "e2e.udp.tag;a=1;b=2")
	if len(series) != 2 {
		t.Fatalf("render of two tagged series gave %d", len(series))
	}
	for _, s := range series {
		if s.Tags["name"] == "" {
			t.Errorf("series %s has tags %v, without name", s.Target, s.Tags)
		}
	}

	// The -1 points: one point each, at a time between sending and now.
	nowFound := map[string]int64{}
	deadline := time.Now().Add(15 * time.Second)
	for len(nowFound) < len(nowPts) {
		for _, p := range nowPts {
			series, _ := d.render(t, strconv.FormatInt(before-20, 10), "now", p.Name)
			for _, s := range series {
				for _, q := range s.Points {
					if !q.Null && q.Value == p.Value {
						nowFound[p.Name] = q.TS
					}
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("points sent with timestamp -1: found only %v", nowFound)
		}
		if len(nowFound) < len(nowPts) {
			time.Sleep(50 * time.Millisecond)
		}
	}
	after := time.Now().Unix()
	for name, ts := range nowFound {
		if ts < before-before%10 || ts > after {
			t.Errorf("%s sent with timestamp -1 is at %d, not within [%d, %d]", name, ts, before, after)
		}
	}

	d.stop()

	// Now the files, read by whisper.py.
	path := func(name string) string {
		if strings.Contains(name, ";") {
			return taggedPath(whisperDir, name)
		}
		return filepath.Join(whisperDir, strings.ReplaceAll(name, ".", "/")+".wsp")
	}
	byName := map[string][]expectPoint{}
	for _, p := range append(fixed, many...) {
		byName[p.Name] = append(byName[p.Name], p)
	}
	for name, pts := range byName {
		lo, hi := pts[0].TS, pts[0].TS
		for _, p := range pts {
			lo, hi = min(lo, p.TS), max(hi, p.TS)
		}
		got := whisperFetch(t, path(name), lo-10, hi)
		for _, p := range pts {
			if v, ok := got[p.TS]; !ok || v != p.Value && math.Abs(v-p.Value) > 1e-6*math.Abs(p.Value) {
				// whisper-fetch prints "%f": six decimals.
				t.Errorf("whisper-fetch %s (%s) at %d: %v (found %v), want %v", name, path(name), p.TS, v, ok, p.Value)
			}
		}
		if len(got) != len(pts) {
			t.Errorf("whisper-fetch %s: %d points, want %d: %v", name, len(got), len(pts), got)
		}
	}
	for name, ts := range nowFound {
		got := whisperFetch(t, path(name), ts-10, ts)
		if len(got) != 1 {
			t.Errorf("whisper-fetch %s around %d: %v, want one point", name, ts, got)
		}
	}
	// Tagged names live only under their normal form's hash.
	for _, raw := range []string{"e2e.tcp.tag;z=1;y=2", "e2e.udp.tag;b=2;a=1", "e2e.pickle.tag;z=1;y=2"} {
		if _, err := os.Stat(taggedPath(whisperDir, raw)); err == nil {
			t.Errorf("%s has a file under its unnormalised name's hash", raw)
		}
	}
	if t.Failed() {
		t.Logf("statbox log:\n%s", d.Logs())
	}
}
