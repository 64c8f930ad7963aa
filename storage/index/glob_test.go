package index

import (
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

func TestFnmatch(t *testing.T) {
	for _, c := range []struct {
		pat, name string
		want      bool
	}{
		{"*", "abc", true},
		{"*", "", true},
		{"a*c", "abbbc", true},
		{"a*c", "abbb", false},
		{"?", "é", true},
		{"??", "é", false},
		{"[a-c]x", "bx", true},
		{"[a-c]x", "dx", false},
		{"[!a-c]x", "dx", true},
		{"[!a-c]x", "ax", false},
		{"[]]", "]", true},
		{"[!]]", "a", true},
		{"[a-]", "-", true},
		{"[-a]", "-", true},
		{"[z-a]", "m", false},
		{"[abc", "[abc", true},
		{"a[", "a[", true},
		{"*b*b*", "abxbx", true},
		{"*.wsp", "x.wsp", true},
	} {
		if got := fnmatch(c.pat, c.name); got != c.want {
			t.Errorf("fnmatch(%q, %q) = %v, want %v", c.pat, c.name, got, c.want)
		}
	}
}

func TestExpandBraces(t *testing.T) {
	for _, c := range []struct {
		pat  string
		want []string
	}{
		{"a", []string{"a"}},
		{"{a,b}", []string{"a", "b"}},
		{"x{a,b}y{1,2}", []string{"xay1", "xay2", "xby1", "xby2"}},
		{"{a,{b,c}}", []string{"a", "b", "c"}},
		{"{a", []string{"{a"}},
		{"a}", []string{"a}"}},
		{"{}", []string{""}},
		{"{a,a}", []string{"a"}},
	} {
		g, err := compileGlob(c.pat)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, v := range g.variants {
			got = append(got, v.pat)
		}
		slices.Sort(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("%q expands to %q, want %q", c.pat, got, c.want)
		}
	}
	if _, err := compileGlob(strings.Repeat("{a,b,c}", 10)); err == nil {
		t.Error("3^10 variants accepted")
	}
}

// TestFnmatchPython compares fnmatch with Python's own on a grid of patterns
// and names, through Debian's python3 (its standard library is all it needs).
func TestFnmatchPython(t *testing.T) {
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s missing", py)
		}
		t.Skip("no /usr/bin/python3")
	}
	pats := []string{"*", "a*", "*b", "a?c", "[ab]*", "[!ab]*", "[a-c]?", "[]a]*", "[!]]", "[z-a]", "[a-]", "[-z]x",
		"a[", "[abc", "*[0-9]", "??", "?*?", "*a*b", "é?", "[é-ë]*", "[!é]", "a**b", "[^a]", "[\\]x"}
	names := []string{"", "a", "b", "ab", "abc", "ac", "a]", "]", "-", "x", "-x", "a[", "[abc", "z", "m", "9", "a9",
		"é", "éa", "ë1", "aab", "ba", "^", "\\x", "[", "a-", "aXb"}
	in, _ := json.Marshal([2][]string{pats, names})
	cmd := exec.Command(py, "-c", `
import fnmatch, json, sys
pats, names = json.load(sys.stdin)
json.dump([[fnmatch.fnmatchcase(n, p) for n in names] for p in pats], sys.stdout)`)
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	var want [][]bool
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	for i, p := range pats {
		for j, n := range names {
			if got := fnmatch(p, n); got != want[i][j] {
				t.Errorf("fnmatch(%q, %q) = %v, Python says %v", p, n, got, want[i][j])
			}
		}
	}
}
