package appliance

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestE2EPickleNamesCheckedAsPlaintext sends names that the plaintext
// receiver refuses (hotpath/carbon/PROTOCOL.md, "Name safety" and "Tags")
// over pickle, and requires them refused there too: PROTOCOL.md says
// AppendName's rules are "for other ingest paths (pickle) to share",
// ingest.go's normalizing says a name it cannot normalise is passed on "for
// the cache to refuse and count", and storage/layout.Check's doc says an
// empty segment before the ';' is refused. Each must be counted in
// statbox.<host>.dropped.badName and get no file.
func TestE2EPickleNamesCheckedAsPlaintext(t *testing.T) {
	t.Parallel()
	bin := buildStatbox(t)
	d := startDaemon(t, bin, filepath.Join(t.TempDir(), "data"),
		"--conf-dir", writeConfDir(t, selfSchemas), "--self-interval", "1s")
	g := &goodPoints{prefix: "e2e.pknames", ts: baseTime()}
	names := []struct {
		name, why string
		py2       bool // sent as a Python 2 str (SHORT_BINSTRING), bytes as they are
	}{
		{"e2e.pk.bad;tag", "a tag without '=' (plaintext: badLines.tags)", false},
		{"e2e.pk.a..b;x=1", "an empty segment before ';' (plaintext: badLines.name)", false},
		{"e2e.pk.c\u009bd", "a C1 control character (plaintext: badLines.name)", false},
		{"e2e.pk.\xff\xfe", "invalid UTF-8 (plaintext: badLines.name)", true},
	}

	// The plaintext receiver refuses each.
	c := dial(t, d.Carbon)
	for _, n := range names {
		mustWrite(t, c, []byte(n.name+" 1 1700000000\n"))
	}
	// The pickle receiver: one frame, a good point, the names, a good point.
	frame := []byte{0x80, 2, ']', '('}
	entry := func(name []byte, ts int64, v float64, py2 bool) {
		if py2 {
			frame = append(frame, 'U', byte(len(name)))
		} else {
			frame = append(frame, 'X')
			frame = binary.LittleEndian.AppendUint32(frame, uint32(len(name)))
		}
		frame = append(frame, name...)
		frame = append(frame, 'J')
		frame = binary.LittleEndian.AppendUint32(frame, uint32(int32(ts)))
		frame = append(frame, 'G')
		frame = binary.BigEndian.AppendUint64(frame, math.Float64bits(v))
		frame = append(frame, 0x86, 0x86)
	}
	p := g.next()
	entry([]byte(p.Name), p.TS, p.Value, false)
	for _, n := range names {
		entry([]byte(n.name), g.ts, 1, n.py2)
	}
	p = g.next()
	entry([]byte(p.Name), p.TS, p.Value, false)
	frame = append(frame, 'e', '.')
	mustWrite(t, dial(t, d.Pickle), pickleFrame(frame))
	d.waitPoints(t, 10*time.Second, g.all...)

	checkCounters(t, d, []string{"carbon.badLines.tags", "carbon.badLines.name", "pickle.badEntries", "dropped.badName"},
		map[string]float64{"carbon.badLines.tags": 1, "carbon.badLines.name": 3, "dropped.badName": float64(len(names))})
	d.stop()
	for _, n := range names {
		path := filepath.Join(d.Data, "whisper", strings.ReplaceAll(n.name, ".", "/")+".wsp")
		if strings.Contains(n.name, ";") {
			path = taggedPath(filepath.Join(d.Data, "whisper"), n.name)
		}
		if _, err := os.Stat(path); err == nil {
			t.Errorf("pickle stored %q, %s: %s", n.name, n.why, path)
		}
	}
	assertOnlyFiles(t, d, "e2e/pknames/g")
}
