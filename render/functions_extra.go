package render

import (
	"math"
	"sort"
	"strconv"
	"strings"
)

// Functions beyond issue 5's list that Grafana users reach for, with
// graphite-web's semantics.
func init() {
	aggOpts := aggFuncNames
	mapInPlace := func(name, group string, extra []param, f func(a *args, s *Series) (string, func(i int, v float64) float64, [][2]string, error)) {
		register(&function{name: name, group: group, desc: "Transforms each value (" + name + ").", params: append([]param{sl("seriesList")}, extra...),
			fn: func(a *args) ([]*Series, error) {
				list, err := a.seriesList(0)
				if err != nil {
					return nil, err
				}
				for _, s := range list {
					s.materialize()
					n, op, tags, err := f(a, s)
					if err != nil {
						return nil, err
					}
					for _, t := range tags {
						s.tags().Set(t[0], t[1])
					}
					s.Name, s.PathExpression = n, n
					for i, v := range s.Values {
						s.Values[i] = op(i, v)
					}
				}
				return list, nil
			}})
	}
	mapInPlace("offsetToZero", "Transform", nil, func(a *args, s *Series) (string, func(int, float64) float64, [][2]string, error) {
		m := aggMin(s.Values)
		tag := "None"
		if !isNull(m) {
			tag = string(appendPyRepr(nil, m))
		}
		return "offsetToZero(" + s.Name + ")", func(_ int, v float64) float64 { return v - m }, [][2]string{{"offsetToZero", tag}}, nil
	})
	mapInPlace("round", "Transform", []param{{name: "precision", typ: "integer", def: 0}}, func(a *args, s *Series) (string, func(int, float64) float64, [][2]string, error) {
		p, err := a.integer(1, 0)
		name := "round(" + s.Name + ")"
		if a.given(1) {
			name = "round(" + s.Name + "," + pyG(float64(p)) + ")"
		}
		return name, func(_ int, v float64) float64 {
			if p < 0 {
				m := math.Pow(10, float64(-p))
				return math.RoundToEven(v/m) * m
			}
			return pyRound(v, p)
		}, [][2]string{{"round", strconv.Itoa(p)}}, err
	})
	mapInPlace("isNonNull", "Transform", nil, func(a *args, s *Series) (string, func(int, float64) float64, [][2]string, error) {
		return "isNonNull(" + s.Name + ")", func(_ int, v float64) float64 {
			if isNull(v) {
				return 0
			}
			return 1
		}, [][2]string{{"isNonNull", "1"}}, nil
	})
	mapInPlace("add", "Transform", []param{{name: "constant", typ: "float", required: true}}, func(a *args, s *Series) (string, func(int, float64) float64, [][2]string, error) {
		c, err := a.num(1, 0)
		return "add(" + s.Name + "," + strconv.FormatInt(int64(c), 10) + ")", func(_ int, v float64) float64 { return v + c }, [][2]string{{"add", a.tagText(1, "")}}, err
	})
	mapInPlace("exp", "Transform", nil, func(a *args, s *Series) (string, func(int, float64) float64, [][2]string, error) {
		return "exp(" + s.Name + ")", func(_ int, v float64) float64 { return math.Exp(v) }, [][2]string{{"exp", "e"}}, nil
	})
	mapInPlace("sigmoid", "Transform", nil, func(a *args, s *Series) (string, func(int, float64) float64, [][2]string, error) {
		return "sigmoid(" + s.Name + ")", func(_ int, v float64) float64 { return 1 / (1 + math.Exp(-v)) }, [][2]string{{"sigmoid", "sigmoid"}}, nil
	})
	mapInPlace("logit", "Transform", nil, func(a *args, s *Series) (string, func(int, float64) float64, [][2]string, error) {
		return "logit(" + s.Name + ")", func(_ int, v float64) float64 {
			if v == 1 || v/(1-v) <= 0 {
				return null
			}
			return math.Log(v / (1 - v))
		}, [][2]string{{"logit", "logit"}}, nil
	})
	mapInPlace("minMax", "Transform", nil, func(a *args, s *Series) (string, func(int, float64) float64, [][2]string, error) {
		lo, hi := aggMin(s.Values), aggMax(s.Values)
		if isNull(lo) {
			lo, hi = 0, 0
		}
		return "minMax(" + s.Name + ")", func(_ int, v float64) float64 {
			if hi == lo {
				if isNull(v) {
					return v
				}
				return 0
			}
			return (v - lo) / (hi - lo)
		}, nil, nil
	})
	mapInPlace("changed", "Special", nil, func(a *args, s *Series) (string, func(int, float64) float64, [][2]string, error) {
		prev, first := null, true
		return "changed(" + s.Name + ")", func(_ int, v float64) float64 {
			if first || isNull(prev) {
				first = false
				prev = v
				return 0
			}
			if !isNull(v) && prev != v {
				prev = v
				return 1
			}
			return 0
		}, nil, nil
	})
	register(&function{name: "log", group: "Transform", desc: "The logarithm of each value in a base.",
		params: []param{sl("seriesList"), {name: "base", typ: "integer", def: 10}},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			base, err := a.num(1, 10)
			if err != nil {
				return nil, err
			}
			text := a.tagText(1, "10")
			var out []*Series
			for _, s := range list {
				s.materialize()
				vals := make([]float64, len(s.Values))
				for i, v := range s.Values {
					if isNull(v) || v <= 0 {
						vals[i] = null
					} else {
						vals[i] = math.Log(v) / math.Log(base)
					}
				}
				s.tags().Set("log", text)
				c := s.copyWith("log("+s.Name+", "+text+")", vals)
				c.PathExpression = c.Name
				out = append(out, c)
			}
			return out, nil
		}})
	register(&function{name: "interpolate", group: "Transform", desc: "Fills runs of nulls up to limit long by linear interpolation.",
		params: []param{sl("seriesList"), {name: "limit", typ: "intOrInf", def: "INF"}},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			limit, err := a.num(1, math.Inf(1))
			if err != nil {
				return nil, err
			}
			for _, s := range list {
				s.materialize()
				s.Name = "interpolate(" + s.Name + ")"
				s.PathExpression = s.Name
				v := s.Values
				nulls := 0
				for i := 1; i < len(v); i++ {
					switch {
					case isNull(v[i]):
						nulls++
					case nulls == 0:
					case isNull(v[i-nulls-1]):
						nulls = 0
					default:
						if float64(nulls) <= limit {
							a0 := v[i-nulls-1]
							for j := i - nulls; j < i; j++ {
								v[j] = a0 + float64(j-(i-nulls-1))*(v[i]-a0)/float64(nulls+1)
							}
						}
						nulls = 0
					}
				}
			}
			return list, nil
		}})
	register(&function{name: "integralByInterval", group: "Transform", desc: "The running sum of the values, reset at each interval from the request's start.",
		params: []param{sl("seriesList"), {name: "intervalUnit", typ: "string", required: true}},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			iv, unit, err := a.interval(1, "")
			if err != nil {
				return nil, err
			}
			if iv < 0 {
				iv = -iv
			}
			if iv == 0 {
				return nil, inputErrorf("integralByInterval: interval must not be zero")
			}
			var out []*Series
			for _, s := range list {
				s.materialize()
				vals := make([]float64, len(s.Values))
				t, cur := s.Start, 0.0
				for i, v := range s.Values {
					if q, _ := floorDiv(t-a.ctx.from, iv); q != func() int64 { q2, _ := floorDiv(t-a.ctx.from-s.Step, iv); return q2 }() {
						cur = 0
					}
					if !isNull(v) {
						cur += v
					}
					vals[i] = cur
					t += s.Step
				}
				s.tags().Set("integralByInterval", unit)
				c := s.copyWith("integralByInterval("+s.Name+",'"+unit+"')", vals)
				c.PathExpression = c.Name
				out = append(out, c)
			}
			return out, nil
		}})
	register(&function{name: "removeEmptySeries", group: "Filter Series", desc: "Drops series with no values (or too few, by xFilesFactor).",
		params: []param{sl("seriesList"), {name: "xFilesFactor", typ: "float"}},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			xff, err := a.num(1, 0)
			var out []*Series
			for _, s := range list {
				p := s.Points()
				if xffOK(int(aggCount(p)), len(p), xff) {
					out = append(out, s)
				}
			}
			return out, err
		}})
	register(&function{name: "unique", group: "Filter Series", desc: "Drops series whose name came before.",
		params: []param{sls("seriesLists")},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesLists(0)
			seen := map[string]bool{}
			var out []*Series
			for _, s := range list {
				if !seen[s.Name] {
					seen[s.Name] = true
					out = append(out, s)
				}
			}
			return out, err
		}})
	register(&function{name: "fallbackSeries", group: "Special", desc: "The series list, or the fallback when it is empty.",
		params: []param{sl("seriesList"), sl("fallback")},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			if len(list) > 0 {
				return list, nil
			}
			return a.seriesList(1)
		}})
	register(&function{name: "aliasByTags", group: "Alias", desc: "Names each series by some of its tags or nodes.",
		params: []param{sl("seriesList"), {name: "tags", typ: "nodeOrTag", required: true, multiple: true}},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			nodes := a.multiple(1)
			for _, s := range list {
				s.Name = nodeKey(s, nodes)
			}
			return list, err
		}})
	register(&function{name: "substr", group: "Special", desc: "Names each series by a slice of its nodes.",
		params: []param{sl("seriesList"), {name: "start", typ: "node", def: 0}, {name: "stop", typ: "node", def: 0}},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			start, err := a.integer(1, 0)
			if err != nil {
				return nil, err
			}
			stop, err := a.integer(2, 0)
			if err != nil {
				return nil, err
			}
			for _, s := range list {
				parts := strings.Split(innerPath(s.Name), ".")
				lo, hi := pySlice(start, len(parts)), len(parts)
				if stop != 0 {
					hi = pySlice(stop, len(parts))
				}
				n := ""
				if lo < hi {
					n = strings.Join(parts[lo:hi], ".")
				}
				if i := strings.IndexByte(n, ','); i >= 0 {
					n = n[:i]
				}
				s.Name = n
			}
			return list, nil
		}})
	sortByAgg := func(list []*Series, agg string, reverse bool) {
		f := aggFuncs[agg]
		keys := make(map[*Series]float64, len(list))
		for _, s := range list {
			v := f(s.Points())
			if isNull(v) {
				v = math.Inf(-1)
			}
			keys[s] = v
		}
		sort.SliceStable(list, func(i, j int) bool {
			if reverse {
				return keys[list[i]] > keys[list[j]]
			}
			return keys[list[i]] < keys[list[j]]
		})
	}
	aggArg := func(a *args, i int, def string) (string, error) {
		f, err := a.str(i, def)
		if err != nil {
			return "", err
		}
		if _, ok := aggFuncs[f]; !ok {
			return "", inputErrorf("Unsupported aggregation function: %s", f)
		}
		return f, nil
	}
	for _, hi := range []bool{true, false} {
		name := "lowest"
		if hi {
			name = "highest"
		}
		register(&function{name: name, group: "Filter Series", desc: "The n series ranking first by an aggregation.",
			params: []param{sl("seriesList"), {name: "n", typ: "integer", required: true}, {name: "func", typ: "aggFunc", def: "average", options: aggOpts}},
			fn: func(a *args) ([]*Series, error) {
				list, err := a.seriesList(0)
				if err != nil {
					return nil, err
				}
				n, err := a.integer(1, 1)
				if err != nil {
					return nil, err
				}
				f, err := aggArg(a, 2, "average")
				if err != nil {
					return nil, err
				}
				sortByAgg(list, f, hi)
				if n < 0 {
					n = max(len(list)+n, 0)
				}
				return list[:min(n, len(list))], nil
			}})
	}
	register(&function{name: "sortBy", group: "Sorting", desc: "Sorts the series by an aggregation.",
		params: []param{sl("seriesList"), {name: "func", typ: "aggFunc", def: "average", options: aggOpts}, {name: "reverse", typ: "boolean", def: false}},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			f, err := aggArg(a, 1, "average")
			if err != nil {
				return nil, err
			}
			rev, err := a.boolean(2, false)
			sortByAgg(list, f, rev)
			return list, err
		}})
	register(&function{name: "filterSeries", group: "Filter Series", desc: "Keeps the series whose aggregation compares true with a threshold.",
		params: []param{sl("seriesList"), {name: "func", typ: "aggFunc", required: true, options: aggOpts},
			{name: "operator", typ: "string", required: true, options: []string{"!=", "<", "<=", "=", ">", ">="}}, {name: "threshold", typ: "float", required: true}},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			f, err := aggArg(a, 1, "")
			if err != nil {
				return nil, err
			}
			op, err := a.str(2, "")
			if err != nil {
				return nil, err
			}
			th, err := a.num(3, 0)
			if err != nil {
				return nil, err
			}
			cmp := map[string]func(v float64) bool{
				"=":  func(v float64) bool { return !isNull(v) && v == th },
				"!=": func(v float64) bool { return isNull(v) || v != th },
				">":  func(v float64) bool { return !isNull(v) && v > th },
				">=": func(v float64) bool { return !isNull(v) && v >= th },
				"<":  func(v float64) bool { return isNull(v) || v < th },
				"<=": func(v float64) bool { return isNull(v) || v <= th },
			}[op]
			if cmp == nil {
				return nil, inputErrorf("Unsupported operator: %s", op)
			}
			var out []*Series
			for _, s := range list {
				if cmp(aggFuncs[f](s.Points())) {
					out = append(out, s)
				}
			}
			return out, nil
		}})
	for _, p := range []struct{ name, agg string }{{"sumSeriesLists", "sum"}, {"diffSeriesLists", "diff"}, {"multiplySeriesLists", "multiply"}} {
		agg := p.agg
		register(&function{name: p.name, group: "Combine", desc: "Combines the series of two lists pairwise with " + agg + ".",
			params: []param{sl("seriesListFirstPos"), sl("seriesListSecondPos")},
			fn: func(a *args) ([]*Series, error) {
				x, err := a.seriesList(0)
				if err != nil {
					return nil, err
				}
				y, err := a.seriesList(1)
				if err != nil {
					return nil, err
				}
				if len(x) != len(y) {
					return nil, inputErrorf("seriesListFirstPos and seriesListSecondPos argument must have equal length")
				}
				var out []*Series
				for i := range x {
					r := aggregate(a.ctx, []*Series{x[i], y[i]}, agg, aggFuncs[agg], 0, false)[0]
					r.Name = agg + "Series(" + x[i].Name + "," + y[i].Name + ")"
					out = append(out, r)
				}
				return out, nil
			}})
	}
	register(&function{name: "removeBetweenPercentile", group: "Filter Series", desc: "Drops the series lying wholly between the n-th and (100-n)-th percentiles of all.",
		params: []param{sl("seriesList"), {name: "n", typ: "float", required: true}},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			n, err := a.num(1, 0)
			if err != nil {
				return nil, err
			}
			if n < 50 {
				n = 100 - n
			}
			if len(list) == 0 {
				return nil, nil
			}
			pts := make([][]float64, len(list))
			cols := math.MaxInt
			for i, s := range list {
				pts[i] = s.Points()
				cols = min(cols, len(pts[i]))
			}
			lo, hi := make([]float64, cols), make([]float64, cols)
			col := make([]float64, len(list))
			for c := 0; c < cols; c++ {
				for i := range list {
					col[i] = pts[i][c]
				}
				lo[c], hi[c] = percentile(col, 100-n, false), percentile(col, n, false)
			}
			var out []*Series
			for i, s := range list {
				for c := 0; c < cols; c++ {
					v := pts[i][c]
					if !(pyLess(lo[c], v) && pyLess(v, hi[c])) {
						out = append(out, s)
						break
					}
				}
			}
			return out, nil
		}})
	register(&function{name: "averageOutsidePercentile", group: "Filter Series", desc: "Keeps the series whose average lies outside the n-th and (100-n)-th percentiles of all averages.",
		params: []param{sl("seriesList"), {name: "n", typ: "float", required: true}},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			n, err := a.num(1, 0)
			if err != nil {
				return nil, err
			}
			if n < 50 {
				n = 100 - n
			}
			avgs := make([]float64, len(list))
			for i, s := range list {
				avgs[i] = aggAvg(s.Points())
			}
			lo, hi := percentile(avgs, 100-n, false), percentile(avgs, n, false)
			var out []*Series
			for i, s := range list {
				if !(pyLess(lo, avgs[i]) && pyLess(avgs[i], hi)) {
					out = append(out, s)
				}
			}
			return out, nil
		}})
	register(&function{name: "setXFilesFactor", group: "Special", desc: "Sets the xFilesFactor of the series and of the rest of the request.",
		params: []param{sl("seriesList"), {name: "xFilesFactor", typ: "float", required: true}},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			x, err := a.num(1, 0)
			if err != nil {
				return nil, err
			}
			if x < 0 || x > 1 {
				return nil, inputErrorf("setXFilesFactor: xFilesFactor must be from 0 to 1")
			}
			a.ctx.xff = x
			for _, s := range list {
				s.XFilesFactor = x
				s.tags().Set("xFilesFactor", a.tagText(1, ""))
			}
			return list, nil
		}})
	register(&function{name: "aggregateLine", group: "Calculate", desc: "A horizontal line at an aggregation of each series.",
		params: []param{sl("seriesList"), {name: "func", typ: "aggFunc", def: "average", options: aggOpts}, {name: "keepStep", typ: "boolean", def: false}},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			f, err := aggArg(a, 1, "average")
			if err != nil {
				return nil, err
			}
			keep, err := a.boolean(2, false)
			if err != nil {
				return nil, err
			}
			var out []*Series
			for _, s := range list {
				v := aggFuncs[f](s.Points())
				text, vtext := "None", "None"
				if !isNull(v) {
					text, vtext = pyG(v), string(appendPyRepr(nil, v))
				}
				name := "aggregateLine(" + s.Name + ", " + text + ")"
				var c *Series
				if keep {
					vals := make([]float64, len(s.Points()))
					for i := range vals {
						vals[i] = v
					}
					c = s.copyWith(name, vals)
					c.Step *= int64(max(c.ValuesPerPoint, 1))
					c.ValuesPerPoint = 1
				} else {
					c = constantLine(a.ctx, v, vtext)
					c.Name = name
				}
				c.PathExpression = name
				out = append(out, c)
			}
			return out, nil
		}})
	register(&function{name: "identity", group: "Calculate", desc: "A series whose value is its own timestamp, every minute.",
		params: []param{{name: "name", typ: "string", required: true}},
		fn: func(a *args) ([]*Series, error) {
			name, err := a.str(0, "")
			if err != nil {
				return nil, err
			}
			if err := checkMade("identity", (a.ctx.until-a.ctx.from)/60); err != nil {
				return nil, err
			}
			var vals []float64
			for t := a.ctx.from; t < a.ctx.until; t += 60 {
				vals = append(vals, float64(t))
			}
			return []*Series{{Name: name, PathExpression: `identity("` + name + `")`, Start: a.ctx.from, End: a.ctx.until, Step: 60, Values: vals,
				ConsolidationFunc: "average", ValuesPerPoint: 1, XFilesFactor: a.ctx.xff}}, nil
		}})
	register(&function{name: "time", group: "Transform", desc: "A series whose value is its own timestamp, every step seconds.",
		params: []param{{name: "name", typ: "string", required: true}, {name: "step", typ: "integer", def: 60}},
		fn: func(a *args) ([]*Series, error) {
			name, err := a.str(0, "")
			if err != nil {
				return nil, err
			}
			step, err := a.integer(1, 60)
			if err != nil {
				return nil, err
			}
			return generated(a, "time", name, step, func(t int64) float64 { return float64(t) })
		}})
}

// pySlice is a Python slice index: negative counts from the end, clamped.
func pySlice(i, n int) int {
	if i < 0 {
		i += n
	}
	return min(max(i, 0), n)
}

// pyLess orders null below every number. graphite-web on Python 3 fails
// comparing None in the percentile filters; statbox answers instead.
func pyLess(a, b float64) bool {
	switch {
	case isNull(a) && isNull(b):
		return false
	case isNull(a):
		return true
	case isNull(b):
		return false
	}
	return a < b
}
