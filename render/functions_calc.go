package render

import (
	"strconv"
	"strings"
	"time"

	"statbox/render/expr"
)

func init() {
	register(&function{name: "exponentialMovingAverage", group: "Calculate", desc: "The exponential moving average over a window of points or time.",
		params: []param{sl("seriesList"), {name: "windowSize", typ: "intOrInterval", required: true}},
		fn:     exponentialMovingAverage})
	register(&function{name: "powSeries", group: "Combine", desc: "Raises the first series to the power of the next, point by point.",
		params: []param{sls("seriesList")},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesLists(0)
			if err != nil || len(list) == 0 {
				return nil, err
			}
			start, end, step := normalize(list)
			var names []string
			for _, s := range list {
				names = append(names, s.Name)
			}
			name := "powSeries(" + strings.Join(names, ",") + ")"
			out := &Series{Name: name, PathExpression: name, Start: start, End: end, Step: step, ConsolidationFunc: "average", ValuesPerPoint: 1, XFilesFactor: a.ctx.xff}
			rows(list, func(_ int, row []float64) {
				v := row[0]
				for _, x := range row[1:] {
					v = safePow(v, x)
				}
				out.Values = append(out.Values, v)
			})
			return []*Series{out}, nil
		}})
	register(&function{name: "areaBetween", group: "Graph", desc: "Draws the area between two series.",
		params: []param{sl("seriesList")},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			if len(list) != 2 {
				return nil, inputErrorf("areaBetween series argument must reference *exactly* 2 series (got %d)", len(list))
			}
			lower, upper := list[0], list[1]
			lower.Stacked, lower.Invisible, upper.Stacked = true, true, true
			upper.tags().Set("areaBetween", "1")
			lower.Tags = upper.tags()
			name := "areaBetween(" + upper.PathExpression + ")"
			lower.Name, upper.Name = name, name
			return list, nil
		}})
	register(&function{name: "linearRegression", group: "Calculate", desc: "The least-squares line through each series, over the request or a source range.",
		params: []param{sl("seriesList"), {name: "startSourceAt", typ: "date"}, {name: "endSourceAt", typ: "date"}},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			from, until := a.ctx.from, a.ctx.until
			for i, p := range []*int64{&from, &until} {
				if !a.given(i + 1) {
					continue
				}
				s := a.vals[i+1].str
				if a.vals[i+1].kind == expr.Number {
					s = strconv.FormatInt(int64(a.vals[i+1].num), 10)
				}
				// graphite-web reads these against the real clock, in its zone.
				t, err := ParseTimeIn(s, time.Now(), time.UTC)
				if err != nil {
					return nil, inputErrorf("linearRegression: %v", err)
				}
				*p = t.Unix()
			}
			src, err := a.refetch(from, until)
			if err != nil {
				return nil, err
			}
			span := strconv.FormatInt(from, 10) + ", " + strconv.FormatInt(until, 10)
			var out []*Series
			for i := 0; i < len(src) && i < len(list); i++ {
				s := list[i]
				s.materialize()
				s.tags().Set("linearRegressions", span)
				factor, offset, ok := regression(src[i])
				if !ok {
					continue
				}
				vals := make([]float64, len(s.Values))
				for k := range vals {
					vals[k] = offset + float64(s.Start+int64(k)*s.Step)*factor
				}
				name := "linearRegression(" + s.Name + ", " + span + ")"
				c := s.copyWith(name, vals)
				c.PathExpression = name
				out = append(out, c)
			}
			return out, nil
		}})
}

// regression is graphite-web's _linearRegressionAnalysis: slope per second
// and offset at time zero of the least-squares line through the points.
func regression(s *Series) (factor, offset float64, ok bool) {
	s.materialize()
	var n, sumI, sumV, sumII, sumIV float64
	for i, v := range s.Values {
		if isNull(v) {
			continue
		}
		fi := float64(i)
		n++
		sumI += fi
		sumV += v
		sumII += fi * fi
		sumIV += fi * v
	}
	den := n*sumII - sumI*sumI
	if den == 0 {
		return 0, 0, false
	}
	factor = (n*sumIV - sumI*sumV) / den / float64(s.Step)
	offset = (sumII*sumV-sumIV*sumI)/den - factor*float64(s.Start)
	return factor, offset, true
}

func exponentialMovingAverage(a *args) ([]*Series, error) {
	list, err := a.seriesList(0)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, nil
	}
	w := a.vals[1]
	var preview int64
	var constant float64
	switch w.kind {
	case expr.String:
		d, err := parseOffset(strings.ToLower(w.str))
		if err != nil {
			return nil, inputErrorf("exponentialMovingAverage: windowSize: %v", err)
		}
		preview = int64(d / time.Second)
		if preview < 0 {
			preview = -preview
		}
		// graphite-web weighs by the window's seconds, not its points.
		constant = 2 / float64(preview+1)
	case expr.Number:
		if w.num < 0 {
			return nil, inputErrorf("exponentialMovingAverage: windowSize must not be negative")
		}
		var maxStep int64
		for _, s := range list {
			maxStep = max(maxStep, s.Step)
		}
		preview = maxStep * int64(w.num)
		constant = 2 / (float64(int64(w.num)) + 1)
	default:
		return nil, inputErrorf("exponentialMovingAverage: windowSize must be a number or an interval string")
	}
	prev, err := a.refetch(a.ctx.from-preview, a.ctx.until)
	if err != nil {
		return nil, err
	}
	var out []*Series
	for _, s := range prev {
		s.materialize()
		var name string
		var points int
		if w.kind == expr.String {
			name = `exponentialMovingAverage(` + s.Name + `,"` + w.str + `")`
			points = int(preview / s.Step)
			s.tags().Set("exponentialMovingAverage", w.str)
		} else {
			name = "exponentialMovingAverage(" + s.Name + "," + pyNum(w.num, w.isInt) + ")"
			points = int(w.num)
			s.tags().Set("exponentialMovingAverage", pyNum(w.num, w.isInt))
		}
		points = min(points, len(s.Values))
		ema := aggAvg(s.Values[:points])
		if isNull(ema) || ema == 0 {
			ema = 0
		}
		vals := []float64{pyRound(ema, 6)}
		for _, v := range s.Values[points:] {
			if isNull(v) {
				vals = append(vals, null)
				continue
			}
			ema = constant*v + (1-constant)*ema
			vals = append(vals, pyRound(ema, 6))
		}
		c := s.copyWith(name, vals)
		c.PathExpression = name
		c.Start = s.Start + preview
		out = append(out, c)
	}
	return out, nil
}

func init() {
	register(&function{name: "aggregateWithWildcards", group: "Combine", desc: "Combines the series whose names agree but for the given nodes.",
		params: []param{sl("seriesList"), {name: "func", typ: "aggFunc", required: true, options: aggFuncNames}, {name: "position", typ: "node", multiple: true}},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			fname, err := a.str(1, "")
			if err != nil {
				return nil, err
			}
			f, ok := aggFuncs[fname]
			if !ok {
				return nil, inputErrorf("Unsupported aggregation function: %s", fname)
			}
			var pos []int
			for _, v := range a.multiple(2) {
				if v.kind != expr.Number {
					return nil, inputErrorf("aggregateWithWildcards: positions must be integers")
				}
				pos = append(pos, int(v.num))
			}
			var keys []string
			groups := map[string][]*Series{}
			for _, s := range list {
				var parts []string
				for i, p := range strings.Split(s.Name, ".") {
					if !slicesContains(pos, i) {
						parts = append(parts, p)
					}
				}
				k := strings.Join(parts, ".")
				if _, ok := groups[k]; !ok {
					keys = append(keys, k)
				}
				groups[k] = append(groups[k], s)
			}
			var out []*Series
			for _, k := range keys {
				r := aggregate(a.ctx, groups[k], fname, f, 0, false)[0]
				r.Name = k
				out = append(out, r)
			}
			return out, nil
		}})
	register(&function{name: "aggregateSeriesLists", group: "Combine", desc: "Combines the series of two lists pairwise with the named function.",
		params: []param{sl("seriesListFirstPos"), sl("seriesListSecondPos"), {name: "func", typ: "aggFunc", required: true, options: aggFuncNames}, {name: "xFilesFactor", typ: "float"}},
		fn: func(a *args) ([]*Series, error) {
			x, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			y, err := a.seriesList(1)
			if err != nil {
				return nil, err
			}
			fname, err := a.str(2, "")
			if err != nil {
				return nil, err
			}
			f, ok := aggFuncs[fname]
			if !ok {
				return nil, inputErrorf("Unsupported aggregation function: %s", fname)
			}
			xff, err := a.num(3, 0)
			if err != nil {
				return nil, err
			}
			if len(x) != len(y) {
				return nil, inputErrorf("seriesListFirstPos and seriesListSecondPos argument must have equal length")
			}
			var out []*Series
			for i := range x {
				r := aggregate(a.ctx, []*Series{x[i], y[i]}, fname, f, xff, a.given(3))[0]
				r.Name = fname + "Series(" + x[i].Name + "," + y[i].Name + ")"
				out = append(out, r)
			}
			return out, nil
		}})
}

func slicesContains(l []int, v int) bool {
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return false
}
