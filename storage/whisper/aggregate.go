package whisper

import "math"

// aggregator folds the points of one lower-archive interval in order, giving
// the value whisper.py's aggregate() gives for the same list: Python's max and
// min keep the first of equal values and never replace with NaN, absmax and
// absmin compare abs(), and avg_zero counts a missing or zero point as 0.
type aggregator struct {
	method AggregationMethod
	known  int
	total  int
	sum    float64 // sum of known values, in order
	pick   float64 // last, max, min, absmax, absmin
}

func (g *aggregator) reset(m AggregationMethod) { *g = aggregator{method: m} }

func (g *aggregator) missing() { g.total++ }

func (g *aggregator) add(v float64) {
	g.total++
	first := g.known == 0
	g.known++
	g.sum += v
	switch g.method {
	case Last:
		g.pick = v
	case Max:
		if first || v > g.pick {
			g.pick = v
		}
	case Min:
		if first || v < g.pick {
			g.pick = v
		}
	case AbsMax:
		if first || math.Abs(v) > math.Abs(g.pick) {
			g.pick = v
		}
	case AbsMin:
		if first || math.Abs(v) < math.Abs(g.pick) {
			g.pick = v
		}
	}
}

// value returns the aggregate and whether enough points were known: at least
// one, and a known fraction of at least xff.
func (g *aggregator) value(xff float32) (float64, bool) {
	if g.known == 0 || float64(g.known)/float64(g.total) < float64(xff) {
		return 0, false
	}
	switch g.method {
	case Average:
		return g.sum / float64(g.known), true
	case Sum:
		return g.sum, true
	case AvgZero:
		// Python's `x or 0` turns None and 0.0 into 0; adding 0 to a sum
		// changes nothing, so the sum of the known values stands.
		return g.sum / float64(g.total), true
	default:
		return g.pick, true
	}
}

// Aggregate folds values with method as whisper.py's aggregate() does, with
// Missing standing for None.
func Aggregate(method AggregationMethod, values []float64) (float64, bool) {
	var g aggregator
	g.reset(method)
	for _, v := range values {
		if IsMissing(v) {
			g.missing()
		} else {
			g.add(v)
		}
	}
	return g.value(0)
}
