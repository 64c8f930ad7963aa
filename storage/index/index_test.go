package index

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"statbox/storage/layout"
)

// touch creates the whisper file of each name under data/whisper (empty:
// the index reads names, not contents).
func touch(t testing.TB, data string, names ...string) {
	t.Helper()
	for _, n := range names {
		p := filepath.Join(data, "whisper", string(layout.AppendPath(nil, []byte(n))))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var tree = []string{
	"a.b.c", "a.b.d", "a.b", "a.bb.c", "a.b-x.c", "a.c.c", "b.x", "b.y.z", "carbon.agents.h1.cpu",
	"servers.web01.load", "servers.web02.load", "servers.db01.load", "servers.web01.cpu.user",
}

func TestFind(t *testing.T) {
	data := t.TempDir()
	touch(t, data, tree...)
	os.MkdirAll(filepath.Join(data, "whisper", ".hidden"), 0o755)
	os.WriteFile(filepath.Join(data, "whisper", ".hidden", "x.wsp"), nil, 0o644)
	os.WriteFile(filepath.Join(data, "whisper", "a", "notes.txt"), nil, 0o644)
	x, err := Open(data)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if x.Len() != len(tree) {
		t.Errorf("Len = %d, want %d", x.Len(), len(tree))
	}
	for _, c := range []struct {
		pat  string
		want []string // path, with "/" for a branch, "+" for both
	}{
		{"*", []string{"a/", "b/", "carbon/", "servers/"}},
		{"a.*", []string{"a.b+", "a.b-x/", "a.bb/", "a.c/"}},
		{"a.b", []string{"a.b+"}},
		{"a.b.*", []string{"a.b.c", "a.b.d"}},
		{"a.*.c", []string{"a.b-x.c", "a.b.c", "a.bb.c", "a.c.c"}},
		{"a.b?.c", []string{"a.bb.c"}},
		{"a.{b,c}.c", []string{"a.b.c", "a.c.c"}},
		{"a.{b,b*}.c", []string{"a.b-x.c", "a.b.c", "a.bb.c"}},
		{"a.[a-b]*.c", []string{"a.b-x.c", "a.b.c", "a.bb.c"}},
		{"a.[!b]*.c", []string{"a.c.c"}},
		{"servers.web*.load", []string{"servers.web01.load", "servers.web02.load"}},
		{"servers.*.cpu.*", []string{"servers.web01.cpu.user"}},
		{"*.*.*.*", []string{"carbon.agents.h1.cpu", "servers.web01.cpu.user"}},
		{"nope.*", nil},
		{"a.b.c.d", nil},
		{"a..b", nil},
		{"", nil},
		{`a.\b.c`, []string{"a.b.c"}},
	} {
		nodes, err := x.Find(c.pat)
		if err != nil {
			t.Fatalf("Find(%q): %v", c.pat, err)
		}
		var got []string
		for _, n := range nodes {
			s := n.Path
			switch {
			case n.Leaf && n.Branch:
				s += "+"
			case n.Branch:
				s += "/"
			}
			got = append(got, s)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("Find(%q) = %q, want %q", c.pat, got, c.want)
		}
	}
	if got := x.Expand("a.*"); !slices.Equal(got, []string{"a.b"}) {
		t.Errorf("Expand(a.*) = %q", got)
	}
	if _, err := x.Find(strings.Repeat("{a,b,c}", 9)); err == nil {
		t.Error("explosive braces accepted")
	}
	want := slices.Clone(tree)
	slices.Sort(want)
	if got := x.Names(); !slices.Equal(got, want) {
		t.Errorf("Names = %q, want %q", got, want)
	}
}

func TestAddAndTaggedPersist(t *testing.T) {
	data := t.TempDir()
	touch(t, data, "x.y")
	x, err := Open(data)
	if err != nil {
		t.Fatal(err)
	}
	x.Add("x.z")
	x.Add("disk.used;dc=x;host=a")
	x.Add("disk.used;dc=y;host=b")
	x.Add("disk.used;dc=x;host=a") // again: nothing new
	if err := x.AddTagged("cpu;host=a"); err != nil {
		t.Fatal(err)
	}
	if got := x.Expand("x.*"); !slices.Equal(got, []string{"x.y", "x.z"}) {
		t.Errorf("after Add: %q", got)
	}
	h := string(layout.AppendPath(nil, []byte("disk.used;dc=x;host=a")))
	h = strings.ReplaceAll(strings.TrimSuffix(h, ".wsp"), "/", ".")
	if got := x.Expand("_tagged.*.*.*"); !slices.Contains(got, h) || len(got) != 2 {
		t.Errorf("tagged files in the tree: %q, want 2 with %s", got, h)
	}
	x.Close()

	// A torn last line (crash mid-append) and a garbage line are dropped.
	log := filepath.Join(data, "tags", "series.log")
	f, _ := os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(";bad\nmem;host=c")
	f.Close()
	x, err = Open(data)
	if err != nil {
		t.Fatal(err)
	}
	got, err := x.TaggedSeries([]string{"host=~."})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"cpu;host=a", "disk.used;dc=x;host=a", "disk.used;dc=y;host=b"}; !slices.Equal(got, want) {
		t.Errorf("replayed %q, want %q", got, want)
	}
	x.Add("mem;host=d")
	x.Close()
	b, _ := os.ReadFile(log)
	if !strings.HasSuffix(string(b), ";bad\nmem;host=d\n") {
		t.Errorf("log after torn tail: %q", b)
	}
}

func TestTaggedSeries(t *testing.T) {
	x := New()
	for _, s := range []string{
		"cpu;dc=x;host=a", "cpu;dc=y;host=b", "cpu;host=c", "mem;dc=x;host=a", "disk.used;dc=x;host=a;mount=/var",
		"cpu.idle;dc=x;host=ab",
	} {
		x.AddTagged(s)
	}
	for _, c := range []struct {
		exprs []string
		want  []string
		err   bool
	}{
		{[]string{"name=cpu"}, []string{"cpu;dc=x;host=a", "cpu;dc=y;host=b", "cpu;host=c"}, false},
		{[]string{"name=cpu", "dc=x"}, []string{"cpu;dc=x;host=a"}, false},
		{[]string{"name=cpu", "dc!=x"}, []string{"cpu;dc=y;host=b", "cpu;host=c"}, false},
		{[]string{"name=cpu", "dc="}, []string{"cpu;host=c"}, false},
		{[]string{"name=cpu", "dc!="}, []string{"cpu;dc=x;host=a", "cpu;dc=y;host=b"}, false},
		{[]string{"host=~a"}, []string{"cpu.idle;dc=x;host=ab", "cpu;dc=x;host=a", "disk.used;dc=x;host=a;mount=/var", "mem;dc=x;host=a"}, false},
		{[]string{"host=~b"}, []string{"cpu;dc=y;host=b"}, false}, // anchored: not "ab"
		{[]string{"host=~^a$"}, []string{"cpu;dc=x;host=a", "disk.used;dc=x;host=a;mount=/var", "mem;dc=x;host=a"}, false},
		{[]string{"name=~cpu", "host!=~a"}, []string{"cpu;dc=y;host=b", "cpu;host=c"}, false},
		{[]string{"name=~cpu", "dc!=~x|y"}, []string{"cpu;host=c"}, false},
		{[]string{"mount=/var"}, []string{"disk.used;dc=x;host=a;mount=/var"}, false},
		{[]string{"nosuch=1"}, nil, false},
		{[]string{"dc!=x"}, nil, true},    // matches empty only
		{[]string{"host=~.*"}, nil, true}, // matches empty
		{[]string{"host"}, nil, true},
		{[]string{"=x"}, nil, true},
		{[]string{"host=~("}, nil, true},
		{nil, nil, true},
	} {
		got, err := x.TaggedSeries(c.exprs)
		if (err != nil) != c.err {
			t.Errorf("%q: err %v", c.exprs, err)
			continue
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%q = %q, want %q", c.exprs, got, c.want)
		}
	}
	tags, _ := x.AutoCompleteTags(nil, "", 100)
	if want := []string{"dc", "host", "mount", "name"}; !slices.Equal(tags, want) {
		t.Errorf("tags %q", tags)
	}
	tags, _ = x.AutoCompleteTags([]string{"name=cpu"}, "", 100)
	if want := []string{"dc", "host"}; !slices.Equal(tags, want) {
		t.Errorf("tags of cpu %q", tags)
	}
	vals, _ := x.AutoCompleteValues([]string{"name=cpu"}, "host", "", 2)
	if want := []string{"a", "b"}; !slices.Equal(vals, want) {
		t.Errorf("values %q", vals)
	}
	vals, _ = x.AutoCompleteValues(nil, "host", "a", 100)
	if want := []string{"a", "ab"}; !slices.Equal(vals, want) {
		t.Errorf("values %q", vals)
	}
	_, vs, ok, _ := x.Tag("dc", "", 0)
	if !ok || len(vs) != 2 || vs[0].Value != "x" || vs[0].Count != 4 {
		t.Errorf("Tag(dc) = %+v", vs)
	}
}

// TestConcurrent runs Add against readers; with -race it proves the locking.
func TestConcurrent(t *testing.T) {
	x := New()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range 2000 {
			x.Add(fmt.Sprintf("a.b%d.c", i))
			x.Add(fmt.Sprintf("t;k=%d", i))
		}
	}()
	go func() {
		defer wg.Done()
		for range 200 {
			x.Expand("a.*.c")
			x.TaggedSeries([]string{"k=~1"})
			x.Names()
		}
	}()
	wg.Wait()
	if n := len(x.Expand("a.*.c")); n != 2000 {
		t.Errorf("%d names after concurrent adds", n)
	}
}

func TestGlobstar(t *testing.T) {
	x := New()
	for _, n := range tree {
		x.Add(n)
	}
	for _, c := range []struct {
		pat  string
		want []string
	}{
		{"a.**.c", []string{"a.b-x.c", "a.b.c", "a.bb.c", "a.c", "a.c.c"}}, // a.c: "**" is zero levels too
		{"**.load", []string{"servers.db01.load", "servers.web01.load", "servers.web02.load"}},
		{"servers.**", []string{"servers.db01", "servers.db01.load", "servers.web01", "servers.web01.cpu", "servers.web01.cpu.user", "servers.web01.load", "servers.web02", "servers.web02.load"}},
		{"b.**.**.z", []string{"b.y.z"}},
	} {
		nodes, _ := x.Find(c.pat)
		var got []string
		for _, n := range nodes {
			got = append(got, n.Path)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("Find(%q) = %q, want %q", c.pat, got, c.want)
		}
	}
}

func TestRebuild(t *testing.T) {
	data := t.TempDir()
	touch(t, data, "a.b", "a.c")
	x, err := Open(data)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	os.Remove(filepath.Join(data, "whisper", "a", "b.wsp"))
	touch(t, data, "a.d")
	x.Add("a.e") // as if created by the cache; no file needed for the test
	if n, err := x.Rebuild(data); err != nil || n != 2 {
		t.Fatalf("Rebuild = %d, %v", n, err)
	}
	if got := x.Expand("a.*"); !slices.Equal(got, []string{"a.c", "a.d"}) {
		t.Errorf("after rebuild: %q", got)
	}
	// A symlinked file counts; an unreadable directory is skipped.
	os.Symlink(filepath.Join(data, "whisper", "a", "c.wsp"), filepath.Join(data, "whisper", "a", "l.wsp"))
	os.MkdirAll(filepath.Join(data, "whisper", "locked"), 0o000)
	if os.Getuid() != 0 {
		defer os.Chmod(filepath.Join(data, "whisper", "locked"), 0o755)
	}
	x.Rebuild(data)
	if got := x.Expand("a.*"); !slices.Equal(got, []string{"a.c", "a.d", "a.l"}) {
		t.Errorf("with a symlink: %q", got)
	}
}

// TestWalkNamesOrder: names holding bytes below '.' come out in whole-path
// order without a sort.
func TestWalkNamesOrder(t *testing.T) {
	x := New()
	names := []string{"a.b", "a.b-x", "a.b-x.c", "a.b.c", "a.b!.z", "a.b+.y.q", "a.b+", "b", "a-", "a.b.c-d", "a.b.c.d"}
	for _, n := range names {
		x.Add(n)
	}
	want := slices.Clone(names)
	slices.Sort(want)
	var got []string
	x.WalkNames(func(n []byte) { got = append(got, string(n)) })
	if !slices.Equal(got, want) {
		t.Errorf("WalkNames = %q\nwant %q", got, want)
	}
}

// TestLogFailure: a tagged file created while the series log cannot be
// written is indexed anyway and written to the log with the next series.
func TestLogFailure(t *testing.T) {
	data := t.TempDir()
	x, err := Open(data)
	if err != nil {
		t.Fatal(err)
	}
	good := x.log.f
	bad, _ := os.Open(os.DevNull) // read-only: every write fails
	x.log.f = bad
	x.Add("a;k=1")
	if err := x.AddTagged("b;k=2"); err == nil {
		t.Error("AddTagged acknowledged a series the log refused")
	}
	if got, _ := x.TaggedSeries([]string{"k=1"}); len(got) != 1 || x.LogErrors() != 2 {
		t.Errorf("created during the failure: %q, %d log errors", got, x.LogErrors())
	}
	x.log.f = good
	bad.Close()
	x.Add("c;k=3")
	x.Close()
	b, _ := os.ReadFile(filepath.Join(data, "tags", "series.log"))
	if string(b) != "a;k=1\nc;k=3\n" {
		t.Errorf("log after recovery: %q", b)
	}
}
