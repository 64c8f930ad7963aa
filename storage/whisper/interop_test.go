package whisper

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var interopSchemes = []struct {
	name     string
	archives []Retention
}{
	{"single", []Retention{{60, 10}}},
	{"wraps", []Retention{{10, 6}, {60, 5}}},
	{"three", []Retention{{1, 60}, {10, 60}, {60, 60}}},
	{"uneven", []Retention{{5, 7}, {15, 9}, {45, 20}, {90, 31}}},
	{"carbon", []Retention{{10, 2160}, {60, 10080}, {600, 262800}}},
}

var interopXFF = []float32{0, 0.3, 0.5, 1}

// TestInteropWithWhisperPy does the same creates and updates with statbox and
// with whisper.py, for every retention scheme, aggregation method and a range
// of xFilesFactors, and checks that the files are byte-identical after every
// step and that fetches agree point for point.
func TestInteropWithWhisperPy(t *testing.T) {
	py := startPython(t)
	dir := t.TempDir()
	for _, sc := range interopSchemes {
		for m := Average; m <= AbsMin; m++ {
			for xi, xff := range interopXFF {
				if sc.name == "carbon" && xi > 0 {
					continue // large file: one xff is enough
				}
				name := fmt.Sprintf("%s_%s_%v", sc.name, m, xff)
				t.Run(name, func(t *testing.T) {
					seed := uint64(len(name))*7919 + uint64(m)
					interopRun(t, py, dir, name, sc.archives, m, xff, seed)
				})
			}
		}
	}
}

// createPair creates name's file of archives in dir with statbox (opened,
// closed when the test ends) and with whisper.py, and checks they are alike.
func createPair(t *testing.T, py *pythonWhisper, dir, name string, archives []Retention, m AggregationMethod, xff float32) (f *File, pyPath string) {
	t.Helper()
	goPath := filepath.Join(dir, name+".go.wsp")
	pyPath = filepath.Join(dir, name+".py.wsp")
	opts := CreateOptions{XFilesFactor: float64(xff), XFilesFactorSet: true, AggregationMethod: m}
	if err := Create(goPath, append([]Retention(nil), archives...), opts); err != nil {
		t.Fatal(err)
	}
	pyArchives := [][2]uint32{}
	for _, a := range archives {
		pyArchives = append(pyArchives, [2]uint32{a.SecondsPerPoint, a.Points})
	}
	if a := py.do(map[string]any{"op": "create", "path": pyPath, "archives": pyArchives, "xff": xff, "agg": m.String()}); a.Error != "" {
		t.Fatal(a.Error)
	}
	f, err := Open(goPath, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	compareFiles(t, f, pyPath, "create")
	return f, pyPath
}

func interopRun(t *testing.T, py *pythonWhisper, dir, name string, archives []Retention, m AggregationMethod, xff float32, seed uint64) {
	f, pyPath := createPair(t, py, dir, name, archives, m, xff)

	rng := rand.New(rand.NewPCG(seed, 42))
	maxRet := int64(f.Header.MaxRetention)
	now := int64(1_700_000_000) + rng.Int64N(1000)
	value := func() float64 {
		switch rng.IntN(6) {
		case 0:
			return 0
		case 1:
			return -rng.Float64() * 100
		case 2:
			return float64(rng.IntN(10))
		default:
			return rng.NormFloat64() * 1e3
		}
	}
	updateMany := func(label string, pts []Point, pyPts [][2]any) {
		t.Helper()
		if err := f.UpdateMany(pts, now); err != nil {
			t.Fatalf("%s: %v", label, err)
		}
		if a := py.do(map[string]any{"op": "update_many", "path": pyPath, "points": pyPts, "now": now}); a.Error != "" {
			t.Fatalf("%s: whisper.py: %s", label, a.Error)
		}
	}
	for step := 0; step < 60; step++ {
		now += rng.Int64N(3 * int64(f.Header.Archives[0].SecondsPerPoint))
		var label string
		switch rng.IntN(5) {
		case 0: // one point, sometimes outside the retention or in the future
			ts := now - rng.Int64N(maxRet+maxRet/4) + rng.Int64N(3)
			if rng.IntN(4) == 0 {
				ts = now - rng.Int64N(4*int64(f.Header.Archives[0].SecondsPerPoint)) + rng.Int64N(3)
			}
			v := value()
			if rng.IntN(2) == 0 {
				// update_many drops a point too old and writes one from the
				// future into the first archive, where update refuses both.
				label = fmt.Sprintf("update_many([(%d, %v)], now=%d)", ts, v, now)
				updateMany(label, []Point{{ts, v}}, [][2]any{{ts, v}})
				break
			}
			label = fmt.Sprintf("update(%v, %d, now=%d)", v, ts, now)
			gerr := f.Update(v, ts, now)
			a := py.do(map[string]any{"op": "update", "path": pyPath, "value": v, "ts": ts, "now": now})
			if (gerr != nil) != (a.Error != "") || (gerr != nil && !errors.Is(gerr, ErrTimestampNotCovered)) {
				t.Fatalf("%s: statbox error %v, whisper.py error %q", label, gerr, a.Error)
			}
		case 1: // no timestamp twice, with gaps, none in the future, newest first (as the cache writes) or oldest first
			n := 1 + rng.IntN(40)
			pts := make([]Point, n)
			pyPts := make([][2]any, n)
			ts := now - rng.Int64N(maxRet/3+1)
			for i := n - 1; i >= 0; i-- {
				pts[i] = Point{ts, value()}
				pyPts[i] = [2]any{ts, pts[i].Value}
				ts -= 1 + rng.Int64N(2*int64(f.Header.Archives[0].SecondsPerPoint))
			}
			order := "ascending"
			if rng.IntN(2) == 0 {
				order = "descending"
				slices.Reverse(pts)
				slices.Reverse(pyPts)
			}
			label = fmt.Sprintf("update_many(%s %v, now=%d)", order, pts, now)
			updateMany(label, pts, pyPts)
		case 4: // a run of consecutive intervals, as a steady sender's points reach the
			// cache, newest first, sometimes longer than the first archive (it wraps)
			// and sometimes a second each apart (one interval, several points)
			step := int64(f.Header.Archives[0].SecondsPerPoint)
			n := 1 + rng.IntN(3*int(f.Header.Archives[0].Points)+2)
			gap := step
			if rng.IntN(4) == 0 {
				gap = 1 + rng.Int64N(step)
			}
			ts := now - rng.Int64N(step) - rng.Int64N(int64(n)*gap/2+1)
			pts := make([]Point, n)
			pyPts := make([][2]any, n)
			for i := range pts {
				pts[i] = Point{ts, value()}
				pyPts[i] = [2]any{ts, pts[i].Value}
				ts -= gap
			}
			label = fmt.Sprintf("update_many(run of %d at %ds, now=%d)", n, gap, now)
			updateMany(label, pts, pyPts)
		default: // a batch: runs, duplicates, gaps, some too old, a few in the future
			n := 1 + rng.IntN(40)
			pts := make([]Point, n)
			pyPts := make([][2]any, n)
			span := []int64{maxRet / 50, maxRet / 3, maxRet + maxRet/5}[rng.IntN(3)] + 1
			for i := range pts {
				ts := now - rng.Int64N(span) + rng.Int64N(2)
				if i > 0 && rng.IntN(5) == 0 {
					ts = pts[i-1].Timestamp // exact duplicate: the first given wins
				}
				pts[i] = Point{ts, value()}
				pyPts[i] = [2]any{ts, pts[i].Value}
			}
			label = fmt.Sprintf("update_many(%v, now=%d)", pts, now)
			updateMany(label, pts, pyPts)
		}
		compareFiles(t, f, pyPath, label)
		if step%5 == 0 {
			compareFetch(t, py, f, pyPath, now-rng.Int64N(maxRet+100), now-rng.Int64N(60)+30, now)
		}
	}
	compareFetch(t, py, f, pyPath, now-maxRet-10, now+10, now)
	compareFetch(t, py, f, pyPath, now+5, now+10, now)
	compareFetch(t, py, f, pyPath, now-2*maxRet, now-maxRet-1, now)
	compareFetch(t, py, f, pyPath, now-10, now-10, now)
}

func compareFiles(t *testing.T, f *File, pyPath, after string) {
	t.Helper()
	want, err := os.ReadFile(pyPath)
	if err != nil {
		t.Fatal(err)
	}
	got := f.Bytes()
	if bytes.Equal(got, want) {
		return
	}
	if len(got) != len(want) {
		t.Fatalf("after %s: statbox file is %d bytes, whisper.py's %d", after, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("after %s: files differ first at byte %d (point %d from the header): statbox % x, whisper.py % x",
				after, i, (int64(i)-f.Header.Size())/PointSize, got[i&^3:min(len(got), i&^3+12)], want[i&^3:min(len(want), i&^3+12)])
		}
	}
}

// compareFetch checks statbox's fetch of its file against whisper.py's fetch
// of its own, and whisper.py's fetch of statbox's file against statbox's
// fetch of whisper.py's: time range, step, and every value or null.
func compareFetch(t *testing.T, py *pythonWhisper, f *File, pyPath string, from, until, now int64) {
	t.Helper()
	if from > until {
		from, until = until, from
	}
	label := fmt.Sprintf("fetch(%d, %d, now=%d)", from, until, now)
	r, got, gerr := f.Fetch(nil, from, until, now)
	other, err := Open(pyPath, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	r2, got2, _ := other.Fetch(nil, from, until, now)
	for _, side := range []struct {
		path string
		r    Range
		vals []float64
		err  error
	}{{pyPath, r, got, gerr}, {f.Path(), r2, got2, gerr}} {
		a := py.do(map[string]any{"op": "fetch", "path": side.path, "from": from, "until": until, "now": now})
		if a.Error != "" {
			t.Fatalf("%s: whisper.py: %s", label, a.Error)
		}
		if string(a.Result) == "null" {
			if !errors.Is(side.err, ErrNoData) {
				t.Fatalf("%s: whisper.py has no data, statbox %v %v", label, side.r, side.err)
			}
			continue
		}
		var res [2]json.RawMessage
		var tr [3]int64
		var vals []*float64
		if err := json.Unmarshal(a.Result, &res); err != nil {
			t.Fatal(err)
		}
		json.Unmarshal(res[0], &tr)
		json.Unmarshal(res[1], &vals)
		if side.err != nil || side.r != (Range{tr[0], tr[1], tr[2]}) || len(vals) != len(side.vals) {
			t.Fatalf("%s: whisper.py gives %v with %d values, statbox %v with %d values (%v)", label, tr, len(vals), side.r, len(side.vals), side.err)
		}
		var diffs []string
		for i, v := range vals {
			g := side.vals[i]
			if (v == nil) != math.IsNaN(g) || (v != nil && *v != g) {
				diffs = append(diffs, fmt.Sprintf("[%d] whisper.py %v statbox %v", i, deref(v), g))
			}
		}
		if diffs != nil {
			t.Fatalf("%s on %s: %d values differ: %s", label, side.path, len(diffs), strings.Join(diffs[:min(5, len(diffs))], "; "))
		}
	}
}

func deref(v *float64) any {
	if v == nil {
		return nil
	}
	return *v
}

// TestInteropIntervalZero writes points near the epoch, where whisper.py's
// quirks show: a point after an interval of 0 joins its run as if
// consecutive, so a run can put an interval that is not the base's on an
// archive's first slot, or put 0 there and leave the archive looking empty.
// statbox keeps each archive's base in memory and must forget it whenever
// such a slot is written, or its next points land elsewhere than
// whisper.py's.
func TestInteropIntervalZero(t *testing.T) {
	py := startPython(t)
	dir := t.TempDir()
	for si, archives := range [][]Retention{{{10, 20}, {60, 10}}, {{5, 7}, {15, 9}, {45, 20}}, {{1, 30}, {10, 30}}} {
		for seed := range uint64(8) {
			name := fmt.Sprintf("zero_%d_%d", si, seed)
			m := Average + AggregationMethod(seed)%(AbsMin-Average+1)
			f, pyPath := createPair(t, py, dir, name, archives, m, []float32{0, 0.5}[seed%2])
			rng := rand.New(rand.NewPCG(seed, 99))
			step := int64(archives[0].SecondsPerPoint)
			span := step * int64(archives[0].Points)
			for round := range 30 {
				// now within the first archive's retention of the epoch, so
				// that interval 0 can still be written; points from 0 on.
				now := step + rng.Int64N(span-step)
				var pts []Point
				var pyPts [][2]any
				for range 1 + rng.IntN(6) {
					ts := rng.Int64N(now + 1)
					if rng.IntN(3) == 0 {
						ts = rng.Int64N(step) // interval 0
					}
					p := Point{ts, float64(rng.IntN(100))}
					pts = append(pts, p)
					pyPts = append(pyPts, [2]any{p.Timestamp, p.Value})
				}
				label := fmt.Sprintf("%s round %d: update_many(%v, now=%d)", name, round, pts, now)
				if err := f.UpdateMany(pts, now); err != nil {
					t.Fatalf("%s: %v", label, err)
				}
				if a := py.do(map[string]any{"op": "update_many", "path": pyPath, "points": pyPts, "now": now}); a.Error != "" {
					t.Fatalf("%s: whisper.py: %s", label, a.Error)
				}
				compareFiles(t, f, pyPath, label)
			}
		}
	}
}

// TestInteropOverlappingArchives writes into a file whose header, damaged,
// has its second archive start inside the first, as whisper.py does: a run
// into the first archive then writes the second's first slot, whose base
// statbox keeps in memory and must forget, and writes into the second
// archive change points of the first, so that the order of propagation
// matters (File.overlap).
func TestInteropOverlappingArchives(t *testing.T) {
	f, pyPath, py := damagedPair(t, func(data []byte) {
		// The second archive's offset, 12 slots into the first archive.
		binary.BigEndian.PutUint32(data[MetadataSize+ArchiveInfoSize:], uint32(MetadataSize+2*ArchiveInfoSize+12*PointSize))
	})
	if !f.overlap {
		t.Fatal("overlapping archives not seen")
	}
	damagedRounds(t, py, f, pyPath, 25, 190)
}

// TestInteropUnorderedArchives writes into a file whose header, damaged, lists
// the 1-minute archive before the 10-second one, as whisper.py does. There
// update_many of one point differs from update's path (File.ordered), so
// most rounds here are of one point.
func TestInteropUnorderedArchives(t *testing.T) {
	f, pyPath, py := damagedPair(t, func(data []byte) {
		first := MetadataSize + ArchiveInfoSize
		a0 := slices.Clone(data[MetadataSize:first])
		copy(data[MetadataSize:], data[first:first+ArchiveInfoSize])
		copy(data[first:], a0)
	})
	if f.ordered || f.Header.Archives[0].SecondsPerPoint != 60 {
		t.Fatalf("archives %+v not seen out of order", f.Header.Archives)
	}
	damagedRounds(t, py, f, pyPath, 3, 700)
}

// damagedPair makes the same file for statbox and whisper.py, 10s:20,1m:10
// with xFilesFactor 0, whose header damage has changed, and opens statbox's.
func damagedPair(t *testing.T, damage func(data []byte)) (f *File, pyPath string, py *pythonWhisper) {
	t.Helper()
	py = startPython(t)
	dir := t.TempDir()
	goPath, pyPath := filepath.Join(dir, "damaged.go.wsp"), filepath.Join(dir, "damaged.py.wsp")
	if err := Create(goPath, []Retention{{10, 20}, {60, 10}}, CreateOptions{XFilesFactor: 0, XFilesFactorSet: true}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(goPath)
	if err != nil {
		t.Fatal(err)
	}
	damage(data)
	for _, path := range []string{goPath, pyPath} {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if f, err = Open(goPath, Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, pyPath, py
}

// damagedRounds sends 60 rounds of 1 to maxPoints points, at most span
// seconds old, to both files through update_many, comparing them after each.
func damagedRounds(t *testing.T, py *pythonWhisper, f *File, pyPath string, maxPoints int, span int64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 5))
	now := int64(1_700_000_000)
	for round := range 60 {
		now += 10 + rng.Int64N(30)
		var pts []Point
		var pyPts [][2]any
		for range 1 + rng.IntN(maxPoints) {
			p := Point{now - rng.Int64N(span), float64(rng.IntN(100))}
			pts = append(pts, p)
			pyPts = append(pyPts, [2]any{p.Timestamp, p.Value})
		}
		label := fmt.Sprintf("round %d: update_many(%v, now=%d)", round, pts, now)
		if err := f.UpdateMany(pts, now); err != nil {
			t.Fatalf("%s: %v", label, err)
		}
		if a := py.do(map[string]any{"op": "update_many", "path": pyPath, "points": pyPts, "now": now}); a.Error != "" {
			t.Fatalf("%s: whisper.py: %s", label, a.Error)
		}
		compareFiles(t, f, pyPath, label)
	}
}
