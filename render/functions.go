package render

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"statbox/render/expr"
	"statbox/render/pyfmt"
)

// function is one render function: its graphite-web metadata and its Go body.
type function struct {
	name   string
	group  string
	desc   string
	params []param
	fn     func(a *args) ([]*Series, error)
}

// param is one parameter as graphite-web's /functions describes it.
type param struct {
	name     string
	typ      string
	required bool
	multiple bool
	def      any
	options  []string
}

var functions = map[string]*function{}

func register(f *function) { functions[f.name] = f }

func sl(name string) param { return param{name: name, typ: "seriesList", required: true} }
func sls(name string) param {
	return param{name: name, typ: "seriesList", required: true, multiple: true}
}

func appendPyRepr(dst []byte, v float64) []byte { return pyfmt.AppendFloatRepr(dst, v) }

// pyG is Python's "%g".
func pyG(v float64) string { return string(pyfmt.AppendFormatG(nil, v, 0, 6)) }

// pyStr is Python's str() of a number argument as the user wrote it.
func pyNum(v float64, isInt bool) string {
	if isInt {
		return strconv.FormatInt(int64(v), 10)
	}
	return string(appendPyRepr(nil, v))
}

func init() {
	for _, a := range []struct{ name, agg string }{
		{"sumSeries", "sum"}, {"averageSeries", "average"}, {"minSeries", "min"}, {"maxSeries", "max"},
		{"diffSeries", "diff"}, {"stddevSeries", "stddev"}, {"rangeOfSeries", "rangeOf"},
	} {
		agg := a.agg
		register(&function{name: a.name, group: "Combine", desc: "Combines series point by point with " + agg + ".",
			params: []param{sls("seriesLists")},
			fn: func(a *args) ([]*Series, error) {
				list, err := a.seriesLists(0)
				if err != nil {
					return nil, err
				}
				return aggregate(a.ctx, list, strings.TrimSuffix(a.call.Str, "Series"), aggFuncs[agg], 0, false), nil
			}})
	}
	register(&function{name: "multiplySeries", group: "Combine", desc: "Multiplies series point by point.",
		params: []param{sls("seriesLists")},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesLists(0)
			if err != nil {
				return nil, err
			}
			if len(a.call.Args) == 1 && len(list) == 1 {
				return list, nil
			}
			return aggregate(a.ctx, list, "multiply", aggMultiply, 0, false), nil
		}})
	register(&function{name: "aggregate", group: "Combine", desc: "Combines series point by point with the named function.",
		params: []param{sl("seriesList"), {name: "func", typ: "aggFunc", required: true, options: aggFuncNames}, {name: "xFilesFactor", typ: "float"}},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			fname, err := a.str(1, "")
			if err != nil {
				return nil, err
			}
			name := strings.TrimSuffix(fname, "Series")
			f, ok := aggFuncs[name]
			if !ok {
				return nil, inputErrorf("Unsupported aggregation function: %s", fname)
			}
			xff, err := a.num(2, 0)
			return aggregate(a.ctx, list, name, f, xff, a.given(2)), err
		}})
	for _, w := range []struct{ name, agg string }{{"sumSeriesWithWildcards", "sum"}, {"averageSeriesWithWildcards", "average"}, {"multiplySeriesWithWildcards", "multiply"}} {
		agg := w.agg
		register(&function{name: w.name, group: "Combine", desc: "Combines the series whose names agree but for the given nodes, with " + agg + ".",
			params: []param{sl("seriesList"), {name: "position", typ: "node", multiple: true}},
			fn: func(a *args) ([]*Series, error) {
				list, err := a.seriesList(0)
				if err != nil {
					return nil, err
				}
				var pos []int
				for _, v := range a.multiple(1) {
					if v.kind != expr.Number {
						return nil, inputErrorf("%s: positions must be integers", a.call.Str)
					}
					pos = append(pos, int(v.num))
				}
				var keys []string
				groups := map[string][]*Series{}
				for _, s := range list {
					var parts []string
					for i, p := range strings.Split(s.Name, ".") {
						if !slices.Contains(pos, i) {
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
					r := aggregate(a.ctx, groups[k], agg, aggFuncs[agg], 0, false)[0]
					r.Name = k
					out = append(out, r)
				}
				return out, nil
			}})
	}
	register(&function{name: "percentileOfSeries", group: "Combine", desc: "The n-th percentile of the series at each point.",
		params: []param{sl("seriesList"), {name: "n", typ: "float", required: true}, {name: "interpolate", typ: "boolean", def: false}},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			n, err := a.num(1, 0)
			if err != nil {
				return nil, err
			}
			interp, err := a.boolean(2, false)
			if err != nil {
				return nil, err
			}
			if n <= 0 {
				return nil, inputErrorf("The requested percent is required to be greater than 0")
			}
			if len(list) == 0 {
				return nil, nil
			}
			name := "percentileOfSeries(" + list[0].PathExpression + "," + pyG(n) + ")"
			start, end, step := normalize(list)
			out := &Series{Name: name, PathExpression: name, Start: start, End: end, Step: step, ConsolidationFunc: "average", ValuesPerPoint: 1, XFilesFactor: a.ctx.xff}
			rows(list, func(_ int, row []float64) { out.Values = append(out.Values, percentile(row, n, interp)) })
			return []*Series{out}, nil
		}})
	register(&function{name: "countSeries", group: "Combine", desc: "The number of series at each point.",
		params: []param{{name: "seriesLists", typ: "seriesList", multiple: true}},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesLists(0)
			if err != nil {
				return nil, err
			}
			if len(a.call.Args) == 0 {
				s := constantLine(a.ctx, 0, "0")
				s.PathExpression = "countSeries()"
				return []*Series{s}, nil
			}
			if len(list) == 0 {
				return nil, nil
			}
			start, end, step := normalize(list)
			name := "countSeries(" + formatPathExpressions(list) + ")"
			out := &Series{Name: name, PathExpression: name, Start: start, End: end, Step: step, ConsolidationFunc: "average", ValuesPerPoint: 1, XFilesFactor: a.ctx.xff}
			rows(list, func(_ int, row []float64) { out.Values = append(out.Values, float64(len(row))) })
			return []*Series{out}, nil
		}})
	register(&function{name: "group", group: "Combine", desc: "Joins series lists into one.",
		params: []param{{name: "seriesLists", typ: "seriesList", multiple: true}},
		fn:     func(a *args) ([]*Series, error) { return a.seriesLists(0) }})
	register(&function{name: "divideSeries", group: "Combine", desc: "Divides each series by one divisor series.",
		params: []param{sl("dividendSeriesList"), sl("divisorSeries")},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			div, err := a.seriesList(1)
			if err != nil {
				return nil, err
			}
			if len(div) == 0 {
				for _, s := range list {
					s.materialize()
					s.Name = "divideSeries(" + s.Name + ",MISSING)"
					s.PathExpression = s.Name
					for i := range s.Values {
						s.Values[i] = null
					}
				}
				return list, nil
			}
			if len(div) > 1 {
				return nil, inputErrorf("divideSeries second argument must reference exactly 1 series (got %d)", len(div))
			}
			var out []*Series
			for _, s := range list {
				out = append(out, combine2(a.ctx, "divideSeries("+s.Name+","+div[0].Name+")", s, div[0], safeDiv))
			}
			return out, nil
		}})
	register(&function{name: "divideSeriesLists", group: "Combine", desc: "Divides the series of one list by those of another, pairwise.",
		params: []param{sl("dividendSeriesList"), sl("divisorSeriesList")},
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
				return nil, inputErrorf("dividendSeriesList and divisorSeriesList argument must have equal length")
			}
			var out []*Series
			for i := range x {
				out = append(out, combine2(a.ctx, "divideSeries("+x[i].Name+","+y[i].Name+")", x[i], y[i], safeDiv))
			}
			return out, nil
		}})
	register(&function{name: "asPercent", group: "Combine", desc: "Each series as a percent of a total.",
		params: []param{sl("seriesList"), {name: "total", typ: "any"}, {name: "nodes", typ: "nodeOrTag", multiple: true}},
		fn:     asPercent})

	// Transforms applied value by value, in place, named fn(name,arg).
	inPlace := func(name, group, desc string, extra []param, f func(a *args, s *Series) (string, func(float64) float64, error)) {
		register(&function{name: name, group: group, desc: desc, params: append([]param{sl("seriesList")}, extra...),
			fn: func(a *args) ([]*Series, error) {
				list, err := a.seriesList(0)
				if err != nil {
					return nil, err
				}
				for _, s := range list {
					s.materialize()
					newName, op, err := f(a, s)
					if err != nil {
						return nil, err
					}
					s.Name = newName
					s.PathExpression = newName
					for i, v := range s.Values {
						s.Values[i] = op(v)
					}
				}
				return list, nil
			}})
	}
	numArg := func(a *args, i int) (float64, error) {
		v, err := a.num(i, 0)
		return v, err
	}
	inPlace("scale", "Transform", "Multiplies each value by a factor.", []param{{name: "factor", typ: "float", required: true}},
		func(a *args, s *Series) (string, func(float64) float64, error) {
			f, err := numArg(a, 1)
			return "scale(" + s.Name + "," + pyG(f) + ")", func(v float64) float64 { return v * f }, err
		})
	inPlace("scaleToSeconds", "Transform", "Scales values per step to values per the given seconds.", []param{{name: "seconds", typ: "float", required: true}},
		func(a *args, s *Series) (string, func(float64) float64, error) {
			sec, err := numArg(a, 1)
			factor := sec / float64(s.Step)
			return "scaleToSeconds(" + s.Name + "," + strconv.FormatInt(int64(sec), 10) + ")", func(v float64) float64 {
				if isNull(v) {
					return v
				}
				return pyRound(v*factor, 6)
			}, err
		})
	inPlace("offset", "Transform", "Adds a constant to each value.", []param{{name: "factor", typ: "float", required: true}},
		func(a *args, s *Series) (string, func(float64) float64, error) {
			f, err := numArg(a, 1)
			return "offset(" + s.Name + "," + pyG(f) + ")", func(v float64) float64 { return v + f }, err
		})
	inPlace("absolute", "Transform", "The absolute value of each value.", nil,
		func(a *args, s *Series) (string, func(float64) float64, error) {
			return "absolute(" + s.Name + ")", math.Abs, nil
		})
	inPlace("invert", "Transform", "1/x of each value.", nil,
		func(a *args, s *Series) (string, func(float64) float64, error) {
			return "invert(" + s.Name + ")", func(v float64) float64 { return safePow(v, -1) }, nil
		})
	inPlace("pow", "Transform", "Raises each value to a power.", []param{{name: "factor", typ: "float", required: true}},
		func(a *args, s *Series) (string, func(float64) float64, error) {
			f, err := numArg(a, 1)
			return "pow(" + s.Name + "," + pyG(f) + ")", func(v float64) float64 { return safePow(v, f) }, err
		})
	inPlace("squareRoot", "Transform", "The square root of each value.", nil,
		func(a *args, s *Series) (string, func(float64) float64, error) {
			return "squareRoot(" + s.Name + ")", func(v float64) float64 { return safePow(v, 0.5) }, nil
		})
	inPlace("removeAboveValue", "Filter Data", "Sets values above n to null.", []param{{name: "n", typ: "float", required: true}},
		func(a *args, s *Series) (string, func(float64) float64, error) {
			n, err := numArg(a, 1)
			return "removeAboveValue(" + s.Name + ", " + pyG(n) + ")", func(v float64) float64 {
				if v > n {
					return null
				}
				return v
			}, err
		})
	inPlace("removeBelowValue", "Filter Data", "Sets values below n to null.", []param{{name: "n", typ: "float", required: true}},
		func(a *args, s *Series) (string, func(float64) float64, error) {
			n, err := numArg(a, 1)
			return "removeBelowValue(" + s.Name + ", " + pyG(n) + ")", func(v float64) float64 {
				if v < n {
					return null
				}
				return v
			}, err
		})
	for _, above := range []bool{true, false} {
		name := "removeBelowPercentile"
		if above {
			name = "removeAbovePercentile"
		}
		inPlace(name, "Filter Data", "Sets values beyond the series' n-th percentile to null.", []param{{name: "n", typ: "float", required: true}},
			func(a *args, s *Series) (string, func(float64) float64, error) {
				n, err := numArg(a, 1)
				p := percentile(s.Values, n, false)
				newName := name + "(" + s.Name + ", " + pyG(n) + ")"
				if isNull(p) {
					return newName, func(v float64) float64 { return v }, err
				}
				return newName, func(v float64) float64 {
					if above && v > p || !above && v < p {
						return null
					}
					return v
				}, err
			})
	}
	register(&function{name: "transformNull", group: "Transform", desc: "Replaces null with a default.",
		params: []param{sl("seriesList"), {name: "default", typ: "float", def: 0}, {name: "referenceSeries", typ: "seriesList"}},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			d, err := a.num(1, 0)
			if err != nil {
				return nil, err
			}
			ref, err := a.seriesList(2)
			if err != nil {
				return nil, err
			}
			var defaults []float64
			if len(ref) > 0 {
				rows(ref, func(_ int, row []float64) {
					if len(nonNull(row)) > 0 {
						defaults = append(defaults, d)
					} else {
						defaults = append(defaults, null)
					}
				})
			}
			for _, s := range list {
				s.materialize()
				if len(ref) > 0 {
					s.Name = "transformNull(" + s.Name + "," + pyG(d) + ",referenceSeries)"
				} else {
					s.Name = "transformNull(" + s.Name + "," + pyG(d) + ")"
				}
				s.PathExpression = s.Name
				for i, v := range s.Values {
					if isNull(v) {
						if len(ref) > 0 {
							if i < len(defaults) {
								s.Values[i] = defaults[i]
							}
						} else {
							s.Values[i] = d
						}
					}
				}
			}
			return list, nil
		}})
	register(&function{name: "keepLastValue", group: "Transform", desc: "Fills runs of nulls up to limit long with the value before them.",
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
				s.Name = "keepLastValue(" + s.Name + ")"
				s.PathExpression = s.Name
				nulls, last := 0, null
				fill := func(from, to int) {
					if nulls > 0 && float64(nulls) <= limit && !isNull(last) {
						for j := from; j < to; j++ {
							s.Values[j] = last
						}
					}
				}
				for i, v := range s.Values {
					if isNull(v) {
						nulls++
						continue
					}
					fill(i-nulls, i)
					nulls, last = 0, v
				}
				fill(len(s.Values)-nulls, len(s.Values))
			}
			return list, nil
		}})

	// Transforms that make a new series from the old one's points.
	derived := func(name, group, desc string, extra []param, f func(a *args, s *Series) (string, []float64, error)) {
		register(&function{name: name, group: group, desc: desc, params: append([]param{sl("seriesList")}, extra...),
			fn: func(a *args) ([]*Series, error) {
				list, err := a.seriesList(0)
				if err != nil {
					return nil, err
				}
				out := make([]*Series, 0, len(list))
				for _, s := range list {
					s.materialize()
					n, v, err := f(a, s)
					if err != nil {
						return nil, err
					}
					c := s.copyWith(n, v)
					c.PathExpression = n
					out = append(out, c)
				}
				return out, nil
			}})
	}
	derived("derivative", "Transform", "The difference between each value and the one before.", nil,
		func(a *args, s *Series) (string, []float64, error) {
			out := make([]float64, len(s.Values))
			prev := null
			for i, v := range s.Values {
				out[i] = v - prev
				prev = v
			}
			return "derivative(" + s.Name + ")", out, nil
		})
	nonNeg := func(name string, perSecond bool) {
		derived(name, "Transform", "The non-negative difference between each value and the one before, wrapping at maxValue.",
			[]param{{name: "maxValue", typ: "float"}, {name: "minValue", typ: "float"}},
			func(a *args, s *Series) (string, []float64, error) {
				maxV, err := a.num(1, null)
				if err != nil {
					return "", nil, err
				}
				minV, err := a.num(2, null)
				if err != nil {
					return "", nil, err
				}
				out := make([]float64, len(s.Values))
				prev := null
				for i, v := range s.Values {
					var d float64
					d, prev = nonNegativeDelta(v, prev, maxV, minV)
					if perSecond && !isNull(d) {
						d = pyRound(d/float64(s.Step), 6)
					}
					out[i] = d
				}
				return name + "(" + s.Name + ")", out, nil
			})
	}
	nonNeg("nonNegativeDerivative", false)
	nonNeg("perSecond", true)
	derived("integral", "Transform", "The running sum of the values.", nil,
		func(a *args, s *Series) (string, []float64, error) {
			out := make([]float64, len(s.Values))
			cur := 0.0
			for i, v := range s.Values {
				if isNull(v) {
					out[i] = null
					continue
				}
				cur += v
				out[i] = cur
			}
			return "integral(" + s.Name + ")", out, nil
		})
	derived("delay", "Transform", "Shifts values later by a number of steps.", []param{{name: "steps", typ: "integer", required: true}},
		func(a *args, s *Series) (string, []float64, error) {
			n, err := a.integer(1, 0)
			if err != nil {
				return "", nil, err
			}
			var out []float64
			l := len(s.Values)
			if n < 0 {
				out = append(out, s.Values[min(-n, l):]...)
				for range min(-n, l) {
					out = append(out, null)
				}
			} else {
				for range min(n, l) {
					out = append(out, null)
				}
				// graphite-web slices [:-steps]: delay 0 leaves nothing.
				out = append(out, s.Values[:max(l-n, 0)]...)
				if n == 0 {
					out = out[:0]
				}
			}
			return "delay(" + s.Name + "," + strconv.Itoa(n) + ")", out, nil
		})
	derived("stdev", "Calculate", "The standard deviation over a moving window of points.",
		[]param{{name: "points", typ: "integer", required: true}, {name: "windowTolerance", typ: "float", def: 0.1}},
		func(a *args, s *Series) (string, []float64, error) {
			pts, err := a.integer(1, 0)
			if err != nil {
				return "", nil, err
			}
			tol, err := a.num(2, 0.1)
			if err != nil {
				return "", nil, err
			}
			if pts <= 0 {
				return "", nil, inputErrorf("stdev: points must be positive")
			}
			out := make([]float64, len(s.Values))
			valid, sum, sq := 0, 0.0, 0.0
			for i, v := range s.Values {
				if i >= pts {
					if d := s.Values[i-pts]; !isNull(d) {
						valid--
						sum -= d
						sq -= d * d
					}
				}
				if !isNull(v) {
					valid++
					sum += v
					sq += v * v
				}
				if valid > 0 && float64(valid)/float64(pts) >= tol {
					x := float64(valid)*sq - sum*sum
					if x < 0 {
						out[i] = null
					} else {
						out[i] = math.Sqrt(x) / float64(valid)
					}
				} else {
					out[i] = null
				}
			}
			return "stdev(" + s.Name + "," + strconv.Itoa(pts) + ")", out, nil
		})
	derived("nPercentile", "Calculate", "A flat line at the series' n-th percentile.", []param{{name: "n", typ: "float", required: true}},
		func(a *args, s *Series) (string, []float64, error) {
			n, err := a.num(1, 0)
			if err != nil {
				return "", nil, err
			}
			p := percentile(s.Values, n, false)
			cnt := int((s.End - s.Start) / s.Step)
			out := make([]float64, cnt)
			for i := range out {
				out[i] = p
			}
			return "nPercentile(" + s.Name + ", " + pyG(n) + ")", out, nil
		})

	// Attributes for the graph renderer.
	attr := func(name, desc string, extra []param, f func(a *args, s *Series) error) {
		register(&function{name: name, group: "Graph", desc: desc, params: append([]param{sl("seriesList")}, extra...),
			fn: func(a *args) ([]*Series, error) {
				list, err := a.seriesList(0)
				if err != nil {
					return nil, err
				}
				for _, s := range list {
					if err := f(a, s); err != nil {
						return nil, err
					}
				}
				return list, nil
			}})
	}
	attr("color", "Draws the series in the given color.", []param{{name: "theColor", typ: "string", required: true}}, func(a *args, s *Series) (err error) {
		s.Color, err = a.str(1, "")
		return
	})
	attr("alpha", "Draws the series with the given opacity.", []param{{name: "alpha", typ: "float", required: true}}, func(a *args, s *Series) (err error) {
		s.Alpha, err = a.num(1, 1)
		return
	})
	attr("lineWidth", "Draws the series with the given line width.", []param{{name: "width", typ: "float", required: true}}, func(a *args, s *Series) (err error) {
		s.LineWidth, err = a.num(1, 1)
		return
	})
	attr("dashed", "Draws the series dashed.", []param{{name: "dashLength", typ: "integer", def: 5}}, func(a *args, s *Series) (err error) {
		s.Dashed, err = a.num(1, 5)
		s.Name = "dashed(" + s.Name + ", " + pyG(s.Dashed) + ")"
		return
	})
	attr("secondYAxis", "Draws the series against the second Y axis.", nil, func(a *args, s *Series) error {
		s.SecondYAxis = true
		s.Name = "secondYAxis(" + s.Name + ")"
		return nil
	})
	attr("drawAsInfinite", "Draws each non-zero value as a vertical line.", nil, func(a *args, s *Series) error {
		s.DrawAsInfinite = true
		s.Name = "drawAsInfinite(" + s.Name + ")"
		return nil
	})
	attr("consolidateBy", "Sets how the series is consolidated when it has more points than pixels or maxDataPoints.",
		[]param{{name: "consolidationFunc", typ: "string", required: true, options: []string{"sum", "average", "avg", "avg_zero", "min", "max", "first", "last"}}},
		func(a *args, s *Series) (err error) {
			f, err := a.str(1, "")
			if err != nil {
				return err
			}
			switch f {
			case "sum", "average", "avg", "avg_zero", "min", "max", "first", "last":
			default:
				return inputErrorf("consolidateBy: invalid consolidation function %q", f)
			}
			if f == "avg" {
				f = "average"
			}
			s.ConsolidationFunc = f
			s.Name = `consolidateBy(` + s.Name + `,"` + f + `")`
			s.PathExpression = s.Name
			return nil
		})
	attr("cumulative", "Consolidates the series by sum.", nil, func(a *args, s *Series) error {
		s.ConsolidationFunc = "sum"
		s.Name = `consolidateBy(` + s.Name + `,"sum")`
		s.PathExpression = s.Name
		return nil
	})
	register(&function{name: "stacked", group: "Graph", desc: "Stacks the series on one another.",
		params: []param{sl("seriesList"), {name: "stack", typ: "string"}},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			stack, err := a.str(1, "__DEFAULT__")
			if err != nil {
				return nil, err
			}
			total := a.ctx.stacks[stack]
			var out []*Series
			for _, s := range list {
				pts := s.Points()
				vals := make([]float64, len(pts))
				for i, v := range pts {
					if len(total) <= i {
						total = append(total, 0)
					}
					if isNull(v) {
						vals[i] = null
						continue
					}
					total[i] += v
					vals[i] = total[i]
				}
				name := s.Name
				if stack == "__DEFAULT__" {
					name = "stacked(" + s.Name + ")"
				}
				c := s.copyWith(name, vals)
				c.ValuesPerPoint, c.Step = 1, s.Step*int64(max(s.ValuesPerPoint, 1))
				c.Stacked, c.StackName = true, stack
				out = append(out, c)
			}
			a.ctx.stacks[stack] = total
			return out, nil
		}})

	functions["consolidateBy"].group = "Special"
	functions["cumulative"].group = "Special"
	registerAliases()
	registerFilters()
	registerTime()
}

func safeDiv(a, b float64) float64 {
	if isNull(a) || isNull(b) || b == 0 {
		return null
	}
	return a / b
}

// safePow is graphite-web's safePow: null where Python's math.pow raises.
func safePow(a, b float64) float64 {
	if isNull(a) || isNull(b) {
		return null
	}
	if a == 0 && b < 0 {
		return null
	}
	if a < 0 && b != math.Trunc(b) {
		return null
	}
	r := math.Pow(a, b)
	if math.IsInf(r, 0) && !math.IsInf(a, 0) {
		return null
	}
	return r
}

// pyRound is Python's round(v, n) for the cases graphite-web uses.
func pyRound(v float64, n int) float64 {
	if isNull(v) || math.IsInf(v, 0) {
		return v
	}
	s := strconv.FormatFloat(v, 'f', n, 64)
	r, _ := strconv.ParseFloat(s, 64)
	return r
}

func nonNegativeDelta(v, prev, maxV, minV float64) (float64, float64) {
	if !isNull(maxV) && v > maxV {
		return null, null
	}
	if !isNull(minV) && v < minV {
		return null, null
	}
	if isNull(prev) || isNull(v) {
		return null, v
	}
	if v >= prev {
		return v - prev, v
	}
	if !isNull(maxV) {
		m := 0.0
		if !isNull(minV) {
			m = minV
		}
		return maxV + 1 + v - prev - m, v
	}
	if !isNull(minV) {
		return v - minV, v
	}
	return null, v
}

// percentile is graphite-web's _getPercentile.
func percentile(points []float64, n float64, interpolate bool) float64 {
	v := nonNull(points)
	if len(v) == 0 {
		return null
	}
	slices.Sort(v)
	frac := n / 100 * float64(len(v)+1)
	rank := int(frac)
	rf := frac - float64(rank)
	if !interpolate {
		rank += int(math.Ceil(rf))
	}
	var p float64
	switch {
	case rank == 0:
		p = v[0]
	case rank-1 == len(v):
		p = v[len(v)-1]
	case rank-1 > len(v):
		p = v[len(v)-1]
	default:
		p = v[rank-1]
	}
	if interpolate && rank != len(v) && rank < len(v) {
		p = p + rf*(v[rank]-p)
	}
	return p
}

// combine2 aligns two series and combines them point by point.
func combine2(ctx *evalCtx, name string, x, y *Series, f func(a, b float64) float64) *Series {
	start, end, step := normalize([]*Series{x, y})
	out := &Series{Name: name, PathExpression: name, Start: start, End: end, Step: step, ConsolidationFunc: "average", ValuesPerPoint: 1, XFilesFactor: ctx.xff}
	rows([]*Series{x, y}, func(_ int, row []float64) { out.Values = append(out.Values, f(row[0], row[1])) })
	return out
}

func asPercent(a *args) ([]*Series, error) {
	list, err := a.seriesList(0)
	if err != nil {
		return nil, err
	}
	if len(a.multiple(2)) > 0 {
		return nil, inputErrorf("asPercent: grouping by nodes is not served yet")
	}
	if len(list) == 0 {
		return nil, nil
	}
	normalize(list)
	pct := func(v, t float64) float64 {
		r := safeDiv(v, t)
		if isNull(r) {
			return null
		}
		return r * 100
	}
	var totals []float64
	totalText := ""
	var totalList []*Series
	switch {
	case !a.given(1):
		rows(list, func(_ int, row []float64) { totals = append(totals, aggSum(row)) })
		totalText = "sumSeries(" + formatPathExpressions(list) + ")"
	case a.vals[1].kind == expr.Number:
		t := a.vals[1].num
		for range list[0].Points() {
			totals = append(totals, t)
		}
		totalText = pyNum(t, a.vals[1].isInt)
	case a.vals[1].kind == expr.Path || a.vals[1].kind == expr.Call:
		totalList = a.vals[1].series
		if len(totalList) != 1 && len(totalList) != len(list) {
			return nil, inputErrorf("asPercent second argument must be missing, a single digit, reference exactly 1 series or reference the same number of series as the first argument")
		}
		if len(totalList) == 1 {
			normalize(append(slices.Clone(list), totalList[0]))
			totals = totalList[0].Points()
			totalText = totalList[0].Name
		}
	default:
		return nil, inputErrorf("asPercent: total must be a number or a series list")
	}
	var out []*Series
	if len(totalList) > 1 || (len(totalList) == 1 && len(list) == 1 && false) {
		xs := slices.Clone(list)
		ys := slices.Clone(totalList)
		sort.SliceStable(xs, func(i, j int) bool { return xs[i].Name < xs[j].Name })
		sort.SliceStable(ys, func(i, j int) bool { return ys[i].Name < ys[j].Name })
		for i := range xs {
			out = append(out, combine2(a.ctx, "asPercent("+xs[i].Name+","+ys[i].Name+")", xs[i], ys[i], pct))
		}
		return out, nil
	}
	for _, s := range list {
		pts := s.Points()
		n := max(len(pts), len(totals))
		vals := make([]float64, n)
		for i := range vals {
			v, t := null, null
			if i < len(pts) {
				v = pts[i]
			}
			if i < len(totals) {
				t = totals[i]
			}
			vals[i] = pct(v, t)
		}
		name := "asPercent(" + s.Name + "," + totalText + ")"
		out = append(out, &Series{Name: name, PathExpression: name, Start: s.Start, End: s.End, Step: s.Step, Values: vals, ConsolidationFunc: "average", ValuesPerPoint: 1, XFilesFactor: a.ctx.xff})
	}
	return out, nil
}

// constantLine is graphite-web's three-point line across the request.
func constantLine(ctx *evalCtx, v float64, text string) *Series {
	step := (ctx.until - ctx.from) / 2
	return &Series{Name: text, PathExpression: "constantLine(" + text + ")", Start: ctx.from, End: ctx.until, Step: step,
		Values: []float64{v, v, v}, ConsolidationFunc: "average", ValuesPerPoint: 1, XFilesFactor: ctx.xff}
}

// regexpCompile compiles a pattern given to a render function, turning
// Python's \d-style escapes Go knows into the same and naming the fault.
func regexpCompile(fn, pattern string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, inputErrorf("%s: bad regular expression %q: %v", fn, pattern, err)
	}
	return re, nil
}

var _ = fmt.Sprint
