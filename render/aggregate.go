package render

import (
	"math"
	"slices"
)

// aggFunc reduces a row of values (nulls included) to one, null when it has
// nothing to reduce: graphite-web's aggFuncs and their aliases.
type aggFunc func(row []float64) float64

var aggFuncs = map[string]aggFunc{
	"average":  aggAvg,
	"avg":      aggAvg,
	"avg_zero": aggAvgZero,
	"median":   aggMedian,
	"sum":      aggSum,
	"total":    aggSum,
	"min":      aggMin,
	"max":      aggMax,
	"diff":     aggDiff,
	"stddev":   aggStddev,
	"count":    aggCount,
	"range":    aggRange,
	"rangeOf":  aggRange,
	"multiply": aggMultiply,
	"last":     aggLast,
	"current":  aggLast,
}

// aggFuncNames lists aggFuncs in graphite-web's order, for /functions options.
var aggFuncNames = []string{"average", "avg_zero", "median", "sum", "min", "max", "diff", "stddev", "count", "range", "multiply", "last", "rangeOf", "avg", "total", "current"}

func nonNull(row []float64) []float64 {
	out := make([]float64, 0, len(row))
	for _, v := range row {
		if !isNull(v) {
			out = append(out, v)
		}
	}
	return out
}

func aggSum(row []float64) float64 {
	s, n := 0.0, 0
	for _, v := range row {
		if !isNull(v) {
			s += v
			n++
		}
	}
	if n == 0 {
		return null
	}
	return s
}

func aggAvg(row []float64) float64 {
	s, n := 0.0, 0
	for _, v := range row {
		if !isNull(v) {
			s += v
			n++
		}
	}
	if n == 0 {
		return null
	}
	return s / float64(n)
}

func aggAvgZero(row []float64) float64 {
	if len(row) == 0 {
		return null
	}
	s := 0.0
	for _, v := range row {
		if !isNull(v) {
			s += v
		}
	}
	return s / float64(len(row))
}

func aggMedian(row []float64) float64 {
	v := nonNull(row)
	if len(v) == 0 {
		return null
	}
	slices.Sort(v)
	m := len(v) / 2
	if len(v)%2 == 0 {
		return (v[m-1] + v[m]) / 2
	}
	return v[m]
}

func aggMin(row []float64) float64 {
	r, n := 0.0, 0
	for _, v := range row {
		if !isNull(v) && (n == 0 || v < r) {
			r = v
		}
		if !isNull(v) {
			n++
		}
	}
	if n == 0 {
		return null
	}
	return r
}

func aggMax(row []float64) float64 {
	r, n := 0.0, 0
	for _, v := range row {
		if !isNull(v) && (n == 0 || v > r) {
			r = v
		}
		if !isNull(v) {
			n++
		}
	}
	if n == 0 {
		return null
	}
	return r
}

func aggDiff(row []float64) float64 {
	v := nonNull(row)
	if len(v) == 0 {
		return null
	}
	s := v[0]
	for _, x := range v[1:] {
		s += -x
	}
	return s
}

func aggStddev(row []float64) float64 {
	v := nonNull(row)
	if len(v) == 0 {
		return null
	}
	avg := aggSum(v) / float64(len(v))
	s := 0.0
	for _, x := range v {
		s += (x - avg) * (x - avg)
	}
	return math.Sqrt(s / float64(len(v)))
}

func aggCount(row []float64) float64 { return float64(len(nonNull(row))) }

func aggRange(row []float64) float64 {
	mx, mn := aggMax(row), aggMin(row)
	if isNull(mx) || isNull(mn) {
		return null
	}
	return mx - mn
}

func aggMultiply(row []float64) float64 {
	if len(row) == 0 {
		return null
	}
	p := 1.0
	for i, v := range row {
		if isNull(v) {
			return null
		}
		if i == 0 {
			p = v
		} else {
			p *= v
		}
	}
	return p
}

func aggLast(row []float64) float64 {
	for i := len(row) - 1; i >= 0; i-- {
		if !isNull(row[i]) {
			return row[i]
		}
	}
	return null
}

// xffOK is graphite-web's xff: enough non-null values among total.
func xffOK(nonNull, total int, xff float64) bool {
	if nonNull == 0 || total == 0 {
		return false
	}
	return float64(nonNull)/float64(total) >= xff
}

// rows calls fn with each row of the normalized series' points, the rows as
// long as the longest series, short series padded with null (izip_longest).
func rows(list []*Series, fn func(i int, row []float64)) {
	pts := make([][]float64, len(list))
	n := 0
	for i, s := range list {
		pts[i] = s.Points()
		n = max(n, len(pts[i]))
	}
	row := make([]float64, len(list))
	for i := 0; i < n; i++ {
		for j, p := range pts {
			if i < len(p) {
				row[j] = p[i]
			} else {
				row[j] = null
			}
		}
		fn(i, row)
	}
}

// formatPathExpressions joins the distinct path expressions in order.
func formatPathExpressions(list []*Series) string {
	var out []byte
	seen := map[string]bool{}
	for _, s := range list {
		if seen[s.PathExpression] {
			continue
		}
		seen[s.PathExpression] = true
		if len(out) > 0 {
			out = append(out, ',')
		}
		out = append(out, s.PathExpression...)
	}
	return string(out)
}

// aggregate is graphite-web's aggregate(): one series reducing the list
// point by point, named fnSeries(pathExpressions).
func aggregate(ctx *evalCtx, list []*Series, name string, fn aggFunc, xff float64, xffSet bool) []*Series {
	if len(list) == 0 {
		return nil
	}
	start, end, step := normalize(list)
	if !xffSet {
		xff = ctx.xff
	}
	out := &Series{
		Name: name + "Series(" + formatPathExpressions(list) + ")",
		// graphite-web sets the pathExpression of a new series to its name.
		Start: start, End: end, Step: step,
		ConsolidationFunc: "average", ValuesPerPoint: 1, XFilesFactor: xff,
	}
	out.PathExpression = out.Name
	if fast := fastAggregate(list, name, xff); fast != nil {
		out.Values = fast
		return []*Series{out}
	}
	rows(list, func(_ int, row []float64) {
		n := 0
		for _, v := range row {
			if !isNull(v) {
				n++
			}
		}
		if xffOK(n, len(row), xff) {
			out.Values = append(out.Values, fn(row))
		} else {
			out.Values = append(out.Values, null)
		}
	})
	return []*Series{out}
}

// fastAggregate reduces series column by column for sum, average, min and
// max, reading each series in order rather than row by row across all of
// them; the result is the same, summed in the same order. It returns nil
// where it does not apply (consolidated input, other functions).
func fastAggregate(list []*Series, name string, xff float64) []float64 {
	switch name {
	case "sum", "average", "min", "max":
	default:
		return nil
	}
	n := 0
	for _, s := range list {
		if s.ValuesPerPoint > 1 {
			return nil
		}
		n = max(n, len(s.Values))
	}
	acc := make([]float64, n)
	cnt := make([]int32, n)
	for _, s := range list {
		vals := s.Values
		cnt := cnt[:len(vals)]
		acc := acc[:len(vals)]
		// One loop per function keeps the inner loop free of branches on it.
		switch name {
		case "sum", "average":
			for i, v := range vals {
				if v == v {
					acc[i] += v
					cnt[i]++
				}
			}
		case "min":
			for i, v := range vals {
				if v == v && (cnt[i] == 0 || v < acc[i]) {
					acc[i] = v
				}
				if v == v {
					cnt[i]++
				}
			}
		case "max":
			for i, v := range vals {
				if v == v && (cnt[i] == 0 || v > acc[i]) {
					acc[i] = v
				}
				if v == v {
					cnt[i]++
				}
			}
		}
	}
	for i := range acc {
		switch {
		case !xffOK(int(cnt[i]), len(list), xff):
			acc[i] = null
		case name == "average":
			acc[i] /= float64(cnt[i])
		}
	}
	return acc
}
