package whispertool

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"statbox/storage/whisper"
)

// Debian's whisper-resize 1.1.4 cannot --aggregate under Python 3: with
// several archives it subscripts a zip object, with one it bisects a map
// object. If this starts passing, whisper-resize works and runResize should
// follow it instead of its own reading of the option.
func TestResizeAggregateCrashesInPython(t *testing.T) {
	t.Parallel()
	p := fixturePair(t, "UTC")
	for _, f := range []string{"avg", "single"} {
		py := p.runPy("resize", "@"+f+".wsp", "60:100", "--aggregate")
		if py.code != 1 || !strings.Contains(py.stderr, "TypeError") {
			t.Errorf("whisper-resize --aggregate on %s: exit %d, stderr %q", f, py.code, py.stderr)
		}
	}
}

// TestResizeAggregate checks what --aggregate does here: each interval of
// each new archive holds the aggregate of the old points inside it, if
// enough of them are known.
func TestResizeAggregate(t *testing.T) {
	t.Parallel()
	p := fixturePair(t, "UTC", `
whisper.create('minutes.wsp', [(60, 60)], xFilesFactor=0.5)
live('minutes.wsp', now - 3540, now, 60, lambda t: float(t // 60 % 60), lambda t: t // 60 % 10 in (1, 2, 3))
whisper.create('two.wsp', [(60, 60), (600, 12)], xFilesFactor=0)
live('two.wsp', now - 7200, now, 60, lambda t: 1.0 if t < now - 3600 else 2.0)
`)
	for _, tc := range []struct {
		file, method string
		want         func(known []float64) float64
	}{
		{"minutes", "average", func(k []float64) float64 { return sum(k) / float64(len(k)) }},
		{"minutes", "max", func(k []float64) float64 { return k[len(k)-1] }},
		{"minutes", "sum", sum},
	} {
		path := filepath.Join(p.goDir, tc.file+".wsp")
		old := fetchAll(t, path, 60)
		gx := p.runGo("resize", "@"+tc.file+".wsp", "300:12", "--aggregate", "--aggregationMethod", tc.method, "--nobackup")
		if gx.code != 0 || !strings.Contains(gx.stdout, "Migrating data with aggregation...\n") {
			t.Fatalf("resize --aggregate: %+v", gx)
		}
		got := fetchAll(t, path, 300)
		for start, v := range got {
			var known []float64
			missing := 0
			for ts := start; ts < start+300; ts += 60 {
				if ov, ok := old[ts]; ok {
					known = append(known, ov)
				} else {
					missing++
				}
			}
			if len(known) < 3 {
				t.Errorf("%s: interval %d has %v from %d of 5 points, under the xFilesFactor", tc.method, start, v, len(known))
			} else if w := tc.want(known); v != w {
				t.Errorf("%s: interval %d = %v, want %v (from %v)", tc.method, start, v, w, known)
			}
		}
		if len(got) < 6 {
			t.Errorf("%s: only %d intervals: %v", tc.method, len(got), got)
		}
		p.sync() // back to the old file for the next method
	}

	// Each new archive comes from the most precise old points that cover it:
	// the last hour from the minutes (2.0), the hour before from the
	// ten-minute archive (1.0).
	path := filepath.Join(p.goDir, "two.wsp")
	if gx := p.runGo("resize", "@two.wsp", "1200:6", "--aggregate"); gx.code != 0 {
		t.Fatalf("resize --aggregate: %+v", gx)
	}
	got := fetchAll(t, path, 1200)
	for start, v := range got {
		want := 1.0
		if start >= now-3600 {
			want = 2.0
		}
		if start+1200 > now-3600 && start < now-3600 {
			continue // straddles the two sources
		}
		if v != want {
			t.Errorf("two: interval %d = %v, want %v", start, v, want)
		}
	}
}

func sum(values []float64) float64 {
	s := 0.0
	for _, v := range values {
		s += v
	}
	return s
}

// fetchAll is the known points of the archive of path with the given step.
func fetchAll(t *testing.T, path string, step uint32) map[int64]float64 {
	t.Helper()
	f, err := whisper.Open(path, whisper.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ai, err := f.Header.ArchiveBySeconds(step)
	if err != nil {
		t.Fatal(err)
	}
	a := f.Header.Archives[ai]
	rng, values := f.ReadArchive(nil, ai, now-a.Retention(), now)
	points := map[int64]float64{}
	for k, v := range values {
		if !math.IsNaN(v) {
			points[rng.From+int64(k)*rng.Step] = v
		}
	}
	return points
}

// whisper.py's merge copies a stored NaN like any other value (it only skips
// None), and so does whisper.Merge, which tells whisper.Missing from a NaN.
func TestMergeStoredNaN(t *testing.T) {
	t.Parallel()
	p := fixturePair(t, "UTC", `
whisper.create('nan.wsp', [(60, 10), (300, 10)], xFilesFactor=0)
whisper.update_many('nan.wsp', [(now - 60 * i, float('nan') if i % 2 else 1.0) for i in range(10)], now=now)
whisper.create('nan-dst.wsp', [(60, 10), (300, 10)], xFilesFactor=0)
`)
	// fill and resize filter None themselves, and keep the NaNs.
	p.check("fill", "@nan.wsp", "@empty.wsp")
	p.check("resize", "@nan.wsp", "60:20", "--newfile", "@nan-resized.wsp")
	py := p.runPy("merge", "@nan.wsp", "@nan-dst.wsp")
	gx := p.runGo("merge", "@nan.wsp", "@nan-dst.wsp")
	p.compare("merge", py, gx)
	p.compareFiles("merge")
}
