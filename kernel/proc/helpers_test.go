package proc

import (
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"statbox/kernel"
)

// t0 is the first round's time in the table tests; rounds are 10 s apart.
var t0 = time.Unix(1_800_000_000, 0)

const interval = 10 * time.Second

// collect runs one collector once and returns what it emitted.
func collect(t *testing.T, c kernel.Collector, now time.Time) (map[string]float64, error) {
	t.Helper()
	got := map[string]float64{}
	err := c.Collect(now, func(name string, v float64) {
		if _, dup := got[name]; dup {
			t.Errorf("%s emitted twice", name)
		}
		got[name] = v
	})
	return got, err
}

// writeTree writes files (path relative to dir: contents) under dir,
// replacing what a previous round wrote.
func writeTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// copyTree copies the files under src into dst, as a round of /proc.
func copyTree(t *testing.T, dst, src string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		writeTree(t, dst, map[string]string{rel: string(b)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// same compares emitted values with the test's own, to the last digit
// Diamond prints (prec decimals): rounding is part of what is checked, but
// a value the test computed in another order may sit a hair from a half.
func same(t *testing.T, got, want map[string]float64) {
	t.Helper()
	var names []string
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		g, ok := got[n]
		if !ok {
			t.Errorf("%s missing (want %v)", n, want[n])
			continue
		}
		w := want[n]
		if math.Abs(g-w) > 1e-9*math.Max(1, math.Abs(w)) {
			t.Errorf("%s = %v, want %v", n, g, w)
		}
	}
	for n, v := range got {
		if _, ok := want[n]; !ok {
			t.Errorf("unexpected %s = %v", n, v)
		}
	}
}

// fieldsOf is the test's own parse of a /proc file: each line's fields.
func fieldsOf(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			out = append(out, f)
		}
	}
	return out
}

func num(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("test's own parse of %q: %v", s, err)
	}
	return v
}

// dec rounds as Python's "%.<prec>f" does, through its text.
func dec(v float64, prec int) float64 {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', prec, 64), 64)
	return r
}
