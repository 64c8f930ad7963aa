package carbon

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"testing"
)

// point is a point as a Sink saw it, with its name copied.
type point struct {
	Name  string
	TS    int64
	Value float64
}

func (p point) String() string { return fmt.Sprintf("%q %d %v", p.Name, p.TS, p.Value) }

// same compares points, NaN-free values by bits so that -0 and 0 differ.
func (p point) same(q point) bool {
	return p.Name == q.Name && p.TS == q.TS && math.Float64bits(p.Value) == math.Float64bits(q.Value)
}

// recorder is a Sink that keeps copies of what it is given.
type recorder struct{ points []point }

func (r *recorder) Store(name []byte, ts int64, v float64) {
	r.points = append(r.points, point{string(name), ts, v})
}

// discard is a Sink that keeps nothing, for allocation tests and benchmarks.
type discard struct{ n int }

func (d *discard) Store(name []byte, ts int64, v float64) { d.n++ }

const testNow = 1_000_000_000

func newTestParser() (*Parser, *recorder, *Stats) {
	r := &recorder{}
	st := &Stats{}
	p := NewParser(r, st)
	p.Now = func() int64 { return testNow }
	return p, r, st
}

// python3 returns Debian's interpreter, or skips the test (fails it under CI=true).
func python3(t testing.TB) string {
	t.Helper()
	const py = "/usr/bin/python3"
	if _, err := exec.LookPath(py); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing: %v", py, err)
		}
		t.Skipf("%s is missing", py)
	}
	return py
}

// counts is a snapshot of a Stats, for comparing.
type counts struct {
	Points, BadFields, BadValue, BadTimestamp, BadName, BadTags, LineTooLong, NaNValues, Unterminated uint64
}

func snapshot(s *Stats) counts {
	return counts{s.Points.Load(), s.BadFields.Load(), s.BadValue.Load(), s.BadTimestamp.Load(),
		s.BadName.Load(), s.BadTags.Load(), s.LineTooLong.Load(), s.NaNValues.Load(), s.Unterminated.Load()}
}
