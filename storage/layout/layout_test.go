package layout

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	cases := []struct {
		name string
		err  error
	}{
		{"a.b.c", nil},
		{"servers.web-01.cpu.total.user", nil},
		{"stats.timers.api.upper_90", nil},
		{"ünïcode.métric", nil},
		{"disk.used;host=a.b;dc=x", nil},
		{"", ErrEmpty},
		{strings.Repeat("a.", 2500) + "a", ErrTooLong},
		{"a..b", ErrEmptySegment},
		{".a", ErrEmptySegment},
		{"a.", ErrEmptySegment},
		{"..", ErrEmptySegment},
		{";tag=v", ErrEmptySegment},
		{"a/b", ErrByte},
		{"../../etc/passwd", ErrByte},
		{"a/b;t=v", ErrByte},
		{"df.used;mount=/var/../x", nil},
		{"a\x00b", ErrByte},
		{"a\nb", ErrByte},
		{"a\tb", ErrByte},
		{"a\x7fb", ErrByte},
		{"a." + strings.Repeat("x", 252), ErrSegmentLong},
		{"a." + strings.Repeat("x", 251), nil},
		{"a;t=" + strings.Repeat("v.", 600), nil},
	}
	for _, c := range cases {
		if err := Check([]byte(c.name)); !errors.Is(err, c.err) {
			t.Errorf("Check(%.40q) = %v, want %v", c.name, err, c.err)
		}
	}
}

func TestAppendPath(t *testing.T) {
	cases := []struct{ name, path string }{
		{"a.b.c", "a/b/c.wsp"},
		{"carbon.agents.host-1.cpuUsage", "carbon/agents/host-1/cpuUsage.wsp"},
		{"single", "single.wsp"},
	}
	for _, c := range cases {
		if got := string(AppendPath([]byte("x/"), []byte(c.name))); got != "x/"+c.path {
			t.Errorf("%q: got %q, want %q", c.name, got, "x/"+c.path)
		}
	}
}

// TestTaggedPathMatchesCarbon computes carbon's TaggedSeries.encode layout
// (TAG_HASH_FILENAMES = True, carbon's default) with Python's hashlib.
func TestTaggedPathMatchesCarbon(t *testing.T) {
	names := []string{"some.metric;tag1=value2;tag2=value.2", "cpu;host=a", "disk.used;dc=eu.west;host=b", "ü;a=b"}
	script := `import hashlib, sys
for m in sys.argv[1:]:
    h = hashlib.sha256(m.encode('utf8')).hexdigest()
    print('/'.join(['_tagged', h[0:3], h[3:6], h]) + '.wsp')`
	out, err := exec.Command("/usr/bin/python3", append([]string{"-c", script}, names...)...).Output()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no /usr/bin/python3: %v", err)
		}
		t.Skipf("no /usr/bin/python3: %v", err)
	}
	want := strings.Split(strings.TrimSpace(string(out)), "\n")
	for i, n := range names {
		if got := string(AppendPath(nil, []byte(n))); got != want[i] {
			t.Errorf("%q: got %q, want %q", n, got, want[i])
		}
	}
}
