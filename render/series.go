package render

import (
	"math"
	"slices"
)

// Series is a named run of values at a fixed step, graphite-web's TimeSeries:
// Values[i] is at Start+i*Step, NaN where graphite-web has None. The drawing
// attributes set by color(), dashed() and the like travel with it to the
// graph renderer.
type Series struct {
	Name           string
	PathExpression string
	Start, End     int64
	Step           int64
	Values         []float64
	// ConsolidationFunc and ValuesPerPoint say how Values are read: when
	// ValuesPerPoint > 1, each run of that many values reads as one, as
	// graphite-web's TimeSeries iterates after consolidate().
	ConsolidationFunc string
	ValuesPerPoint    int
	XFilesFactor      float64

	Color          string
	LineWidth      float64
	Dashed         float64
	Alpha          float64
	Stacked        bool
	SecondYAxis    bool
	DrawAsInfinite bool
	// StackName is the stack a stacked() series belongs to.
	StackName string
}

// null is graphite-web's None.
var null = math.NaN()

func isNull(v float64) bool { return v != v }

// Points returns the values as graphite-web iterates them: consolidated in
// runs of ValuesPerPoint by ConsolidationFunc, a run with too few non-null
// values (under XFilesFactor) giving null.
func (s *Series) Points() []float64 {
	if s.ValuesPerPoint <= 1 {
		return s.Values
	}
	n := s.ValuesPerPoint
	out := make([]float64, 0, (len(s.Values)+n-1)/n)
	for i := 0; i < len(s.Values); i += n {
		out = append(out, consolidate(s.ConsolidationFunc, s.Values[i:min(i+n, len(s.Values))], n, s.XFilesFactor))
	}
	return out
}

// consolidate reduces one run of values; n is the nominal run length, which
// the last run may fall short of.
func consolidate(fn string, run []float64, n int, xff float64) float64 {
	var sum, minV, maxV, first, last float64
	cnt := 0
	for _, v := range run {
		if isNull(v) {
			continue
		}
		if cnt == 0 {
			minV, maxV, first = v, v, v
		}
		sum += v
		minV = math.Min(minV, v)
		maxV = math.Max(maxV, v)
		last = v
		cnt++
	}
	if cnt == 0 || float64(cnt)/float64(n) < xff {
		return null
	}
	switch fn {
	case "sum":
		return sum
	case "max":
		return maxV
	case "min":
		return minV
	case "first":
		return first
	case "last":
		return last
	case "avg_zero":
		return sum / float64(len(run))
	}
	return sum / float64(cnt)
}

// materialize applies any pending consolidation to Values, so a function
// may read and write them directly.
func (s *Series) materialize() {
	if s.ValuesPerPoint > 1 {
		s.Values = s.Points()
		s.Step *= int64(s.ValuesPerPoint)
		s.ValuesPerPoint = 1
	}
}

// copyWith is graphite-web's TimeSeries.copy: the same attributes, a new
// name and values.
func (s *Series) copyWith(name string, values []float64) *Series {
	c := *s
	c.Name = name
	c.Values = values
	return &c
}

// clone copies s with its own values.
func (s *Series) clone() *Series {
	c := *s
	c.Values = slices.Clone(s.Values)
	return &c
}

// gcd and lcm align series of different steps, as graphite-web's normalize.
func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func lcm(a, b int64) int64 {
	if a == b {
		return a
	}
	if a < b {
		a, b = b, a
	}
	return a / gcd(a, b) * b
}

// normalize brings series to one step (the least common multiple of theirs)
// by consolidation and returns the common start, end and step, as
// graphite-web's normalize; the series are changed in place.
func normalize(list []*Series) (start, end, step int64) {
	step = 1
	for i, s := range list {
		if i == 0 {
			step = s.Step
		} else {
			step = lcm(step, s.Step)
		}
	}
	for i, s := range list {
		s.ValuesPerPoint = int(step / s.Step)
		if i == 0 || s.Start < start {
			start = s.Start
		}
		if i == 0 || s.End > end {
			end = s.End
		}
	}
	end -= (end - start) % step
	return start, end, step
}
