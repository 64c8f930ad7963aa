package whisper

import (
	"bytes"
	"math/rand/v2"
	"path/filepath"
	"testing"
)

// TestPropagateAscending checks the propagation UpdateMany uses for distinct
// ascending intervals, which steps from one slot to the next, against
// propagating each interval on its own (propagate, which whisper.py's
// interop test checks): two files written alike must stay byte-identical,
// with runs of consecutive intervals, gaps, and wraps of either archive.
func TestPropagateAscending(t *testing.T) {
	schemes := [][]Retention{
		{{1, 60}, {10, 60}, {60, 60}},
		{{5, 7}, {15, 9}, {45, 20}, {90, 31}},
		{{10, 30}, {60, 7}},
		{{10, 6}, {60, 5}}, // a span as long as the higher archive: propagated each
	}
	rng := rand.New(rand.NewPCG(7, 11))
	for si, scheme := range schemes {
		for m := Average; m <= AbsMin; m++ {
			dir := t.TempDir()
			var files [2]*File
			for i := range files {
				path := filepath.Join(dir, []string{"ascending", "each"}[i]+".wsp")
				err := Create(path, append([]Retention(nil), scheme...), CreateOptions{AggregationMethod: m, XFilesFactor: 0.3, XFilesFactorSet: true})
				if err != nil {
					t.Fatal(err)
				}
				if files[i], err = Open(path, Options{}); err != nil {
					t.Fatal(err)
				}
				defer files[i].Close()
			}
			now := int64(1_700_000_000)
			for round := 0; round < 200; round++ {
				now += rng.Int64N(200)
				// The same points into both, leaving some slots empty.
				var pts []Point
				for range 1 + rng.IntN(30) {
					pts = append(pts, Point{now - rng.Int64N(int64(scheme[0].SecondsPerPoint)*int64(scheme[0].Points)), float64(rng.IntN(100))})
				}
				for _, f := range files {
					if err := f.UpdateMany(append([]Point(nil), pts...), now); err != nil {
						t.Fatal(err)
					}
				}
				hi := rng.IntN(len(scheme) - 1)
				lo := hi + 1 + rng.IntN(len(scheme)-hi-1)
				lstep := int64(scheme[lo].SecondsPerPoint)
				if files[0].base(lo) == 0 {
					continue // UpdateMany propagates in the set's order then
				}
				// Ascending starts spanning less than lo's retention.
				var starts []int64
				iv := align(now-rng.Int64N(int64(scheme[hi].SecondsPerPoint)*int64(scheme[hi].Points)), lstep)
				limit := iv + int64(scheme[lo].Points)*lstep
				for iv < limit && len(starts) < 40 {
					starts = append(starts, iv)
					iv += lstep
					if rng.IntN(4) == 0 {
						iv += lstep * rng.Int64N(3)
					}
				}
				var got [2]bool
				for i, f := range files {
					err := f.write(func() (err error) {
						if i == 0 {
							got[i], err = f.propagateAscending(starts, hi, lo)
						} else {
							got[i], err = f.propagateEach(starts, hi, lo, false)
						}
						return err
					})
					if err != nil {
						t.Fatal(err)
					}
				}
				if got[0] != got[1] || !bytes.Equal(files[0].Bytes(), files[1].Bytes()) {
					t.Fatalf("scheme %d, %s, round %d: archive %d into %d, starts %v: ascending wrote %v, each %v, files differ: %v",
						si, m, round, hi, lo, starts, got[0], got[1], !bytes.Equal(files[0].Bytes(), files[1].Bytes()))
				}
			}
		}
	}
}
