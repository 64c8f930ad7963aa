package index

import (
	"slices"
	"strings"
	"testing"
)

// FuzzFind: no pattern crashes Find or makes it return a path twice, out of
// order, or one that is not in the index.
func FuzzFind(f *testing.F) {
	for _, s := range []string{"*", "a.*", "a.{b,c}.*", "a.[a-z]*.c", "[!", "{", "}{", "**", "a.**.c", "a;b=c", `\*`, "[]-]", "?.?"} {
		f.Add(s)
	}
	x := New()
	for _, n := range tree {
		x.Add(n)
	}
	names := x.Names()
	f.Fuzz(func(t *testing.T, pattern string) {
		nodes, err := x.Find(pattern)
		if err != nil {
			return
		}
		for i, n := range nodes {
			if i > 0 && nodes[i-1].Path >= n.Path {
				t.Fatalf("%q: %q then %q", pattern, nodes[i-1].Path, n.Path)
			}
			if n.Leaf && !slices.Contains(names, n.Path) {
				t.Fatalf("%q: leaf %q not in the index", pattern, n.Path)
			}
			if !n.Leaf && !n.Branch {
				t.Fatalf("%q: %q neither leaf nor branch", pattern, n.Path)
			}
		}
	})
}

// FuzzTaggedSeries: no expression crashes the tag matcher.
func FuzzTaggedSeries(f *testing.F) {
	for _, s := range []string{"name=cpu", "dc!=x", "host=~a", "host!=~(", "=", "!=~", "a=~^$", "k="} {
		f.Add(s, "name=~c")
	}
	x := New()
	for _, s := range []string{"cpu;dc=x;host=a", "cpu;host=b", "mem;dc=y;host=a"} {
		x.AddTagged(s)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		got, err := x.TaggedSeries([]string{a, b})
		if err != nil {
			return
		}
		if !slices.IsSorted(got) {
			t.Fatalf("%q %q: unsorted %q", a, b, got)
		}
		x.AutoCompleteTags([]string{a}, strings.ToLower(b), 3)
		x.AutoCompleteValues([]string{a}, "host", "", 3)
	})
}
