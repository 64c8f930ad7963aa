package render

import (
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"statbox/render/expr"
	"statbox/render/pyfmt"
)

func init() {
	register(&function{name: "sinFunction", group: "Transform", desc: "A sine wave of the timestamps, every step seconds.",
		params: []param{{name: "name", typ: "string", required: true}, {name: "amplitude", typ: "integer", def: 1}, {name: "step", typ: "integer", def: 60}},
		fn: func(a *args) ([]*Series, error) {
			name, err := a.str(0, "")
			if err != nil {
				return nil, err
			}
			amp, err := a.num(1, 1)
			if err != nil {
				return nil, err
			}
			step, err := a.integer(2, 60)
			if err != nil {
				return nil, err
			}
			return generated(a, "sinFunction", name, step, func(t int64) float64 { return math.Sin(float64(t)) * amp })
		}})
	register(&function{name: "verticalLine", group: "Graph", desc: "A vertical line at a time, with a label and color.",
		params: []param{{name: "ts", typ: "date", required: true}, {name: "label", typ: "string"}, {name: "color", typ: "string"}},
		fn: func(a *args) ([]*Series, error) {
			s := ""
			switch v := a.vals[0]; v.kind {
			case expr.String:
				s = v.str
			case expr.Number:
				s = strconv.FormatInt(int64(v.num), 10)
			default:
				return nil, inputErrorf("verticalLine: ts must be a time")
			}
			t, err := ParseTimeIn(s, time.Unix(a.ctx.now, 0), a.ctx.loc)
			if err != nil {
				return nil, inputErrorf("verticalLine: %v", err)
			}
			ts := t.Unix()
			if ts < a.ctx.from {
				return nil, inputErrorf("verticalLine(): timestamp %d exists before start of range", ts)
			}
			if ts > a.ctx.until {
				return nil, inputErrorf("verticalLine(): timestamp %d exists after end of range", ts)
			}
			label, err := a.str(1, "")
			if err != nil {
				return nil, err
			}
			color, err := a.str(2, "")
			if err != nil {
				return nil, err
			}
			return []*Series{{Name: label, PathExpression: label, Start: ts, End: ts, Step: 1, Values: []float64{1, 1},
				ConsolidationFunc: "average", ValuesPerPoint: 1, XFilesFactor: a.ctx.xff, DrawAsInfinite: true, Color: color}}, nil
		}})
	register(&function{name: "useSeriesAbove", group: "Filter Series", desc: "The series named by a regular expression replacement of those whose maximum is above a value.",
		params: []param{sl("seriesList"), {name: "value", typ: "float", required: true}, {name: "search", typ: "string", required: true}, {name: "replace", typ: "string", required: true}},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			value, err := a.num(1, 0)
			if err != nil {
				return nil, err
			}
			re, repl, err := a.regexpArgs(2, 3)
			if err != nil {
				return nil, err
			}
			var names []string
			for _, s := range list {
				if m := aggMax(s.Points()); !isNull(m) && m > value {
					names = append(names, re.ReplaceAllString(s.Name, repl))
				}
			}
			if len(names) == 0 {
				return nil, nil
			}
			e, err := expr.Parse("group(" + strings.Join(names, ",") + ")")
			if err != nil {
				return nil, inputErrorf("useSeriesAbove: %v", err)
			}
			v, err := a.ctx.eval(e)
			if err != nil {
				return nil, err
			}
			var out []*Series
			for _, s := range v.series {
				if len(s.Values) > 0 {
					out = append(out, s)
				}
			}
			return out, nil
		}})
	register(&function{name: "aliasQuery", group: "Alias", desc: "Names each series by the last value of another query made from its name.",
		params: []param{sl("seriesList"), {name: "search", typ: "string", required: true}, {name: "replace", typ: "string", required: true}, {name: "newName", typ: "string", required: true}},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			re, repl, err := a.regexpArgs(1, 2)
			if err != nil {
				return nil, err
			}
			format, err := a.str(3, "")
			if err != nil {
				return nil, err
			}
			for _, s := range list {
				q := re.ReplaceAllString(s.Name, repl)
				e, err := expr.Parse(q)
				if err != nil {
					return nil, inputErrorf("aliasQuery: %v", err)
				}
				v, err := a.ctx.eval(e)
				if err != nil {
					return nil, err
				}
				if len(v.series) == 0 {
					return nil, inputErrorf("No series found with query: %s", q)
				}
				cur := aggLast(v.series[0].Points())
				if isNull(cur) {
					return nil, inputErrorf("Cannot get last value of series: %s", v.series[0].Name)
				}
				n, err := pyPercent(format, cur)
				if err != nil {
					return nil, inputErrorf("aliasQuery: %v", err)
				}
				s.Name = n
			}
			return list, nil
		}})
	register(&function{name: "mapSeries", group: "Combine", desc: "Groups the series by some nodes, for reduceSeries.",
		params: []param{sl("seriesList"), {name: "mapNodes", typ: "nodeOrTag", required: true, multiple: true}},
		fn: func(a *args) ([]*Series, error) {
			// graphite-web returns a list of groups; reduceSeries, its one
			// consumer, reads every series of every group alike, so the
			// groups are handed on flat, in group order.
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			nodes := a.multiple(1)
			var keys []string
			groups := map[string][]*Series{}
			for _, s := range list {
				k := nodeKey(s, nodes)
				if _, ok := groups[k]; !ok {
					keys = append(keys, k)
				}
				groups[k] = append(groups[k], s)
			}
			var out []*Series
			for _, k := range keys {
				out = append(out, groups[k]...)
			}
			return out, nil
		}})
	register(&function{name: "reduceSeries", group: "Combine", desc: "Reduces the series sharing a prefix with a function taking one series per matcher.",
		params: []param{{name: "seriesLists", typ: "seriesLists", required: true}, {name: "reduceFunction", typ: "string", required: true},
			{name: "reduceNode", typ: "node", required: true}, {name: "reduceMatchers", typ: "string", required: true, multiple: true}},
		fn: reduceSeries})
}

// regexpArgs reads a search pattern and a Python replacement.
func (a *args) regexpArgs(si, ri int) (*regexp.Regexp, string, error) {
	search, err := a.str(si, "")
	if err != nil {
		return nil, "", err
	}
	repl, err := a.str(ri, "")
	if err != nil {
		return nil, "", err
	}
	re, err := regexpCompile(a.call.Str, search)
	return re, pyReplacement(repl), err
}

func reduceSeries(a *args) ([]*Series, error) {
	list, err := a.seriesList(0)
	if err != nil {
		return nil, err
	}
	fname, err := a.str(1, "")
	if err != nil {
		return nil, err
	}
	node, err := a.integer(2, 0)
	if err != nil {
		return nil, err
	}
	var matchers []string
	for _, v := range a.multiple(3) {
		if v.kind != expr.String {
			return nil, inputErrorf("reduceSeries: matchers must be strings")
		}
		matchers = append(matchers, v.str)
	}
	f, ok := functions[fname]
	if !ok {
		return nil, inputErrorf("reduceSeries: unknown function %s", fname)
	}
	var keys []string
	groups := map[string][]*Series{}
	for _, s := range list {
		parts := strings.Split(s.Name, ".")
		i := node
		if i < 0 {
			i += len(parts)
		}
		if i < 0 || i >= len(parts) {
			return nil, inputErrorf("reduceSeries: %s has no node %d", s.Name, node)
		}
		k := strings.Join(parts[:i], ".") + ".reduce." + fname
		m := -1
		for j, x := range matchers {
			if x == parts[i] {
				m = j
			}
		}
		if m < 0 {
			continue
		}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
			groups[k] = make([]*Series, len(matchers))
		}
		groups[k][m] = s
	}
	var out []*Series
	for _, k := range keys {
		vals := make([]value, 0, len(matchers))
		for j, s := range groups[k] {
			if s == nil {
				return nil, inputErrorf("reduceSeries: %s has no series matching %q", k, matchers[j])
			}
			vals = append(vals, value{kind: expr.Path, series: []*Series{s}})
		}
		r, err := callWith(a.ctx, f, vals)
		if err != nil {
			return nil, err
		}
		if len(r) == 0 {
			continue
		}
		r[0].Name = k
		out = append(out, r[0])
	}
	return out, nil
}

// callWith calls a function with already evaluated positional arguments.
func callWith(ctx *evalCtx, f *function, vals []value) ([]*Series, error) {
	call := &expr.Expr{Kind: expr.Call, Str: f.name}
	a := &args{ctx: ctx, call: call, f: f, vals: make([]value, len(f.params)), set: make([]bool, len(f.params))}
	for i, v := range vals {
		call.Args = append(call.Args, &expr.Expr{Kind: expr.Path})
		switch {
		case i < len(f.params):
			a.vals[i], a.set[i] = v, true
		case len(f.params) > 0 && f.params[len(f.params)-1].multiple:
			a.rest = append(a.rest, v)
		default:
			return nil, inputErrorf("%s: too many arguments (takes %d)", f.name, len(f.params))
		}
	}
	for i, p := range f.params {
		if p.required && !a.set[i] {
			return nil, inputErrorf("%s: missing required argument %q", f.name, p.name)
		}
	}
	s, err := f.fn(a)
	if err != nil {
		return nil, err
	}
	for _, x := range s {
		x.tags()
	}
	setTags(a, s)
	return s, nil
}

// pyPercent is Python's format % value for one number: %s, %d, %i, %f,
// %e, %g with an optional precision, and %%.
func pyPercent(format string, v float64) (string, error) {
	var b []byte
	used := false
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			b = append(b, c)
			continue
		}
		j := i + 1
		prec := -1
		if j < len(format) && format[j] == '.' {
			k := j + 1
			for k < len(format) && format[k] >= '0' && format[k] <= '9' {
				k++
			}
			p, err := strconv.Atoi(format[j+1 : k])
			if err != nil {
				return "", errorString("bad precision in " + strconv.Quote(format))
			}
			prec, j = p, k
		}
		if j >= len(format) {
			return "", errorString("incomplete format " + strconv.Quote(format))
		}
		verb := format[j]
		if verb == '%' {
			b = append(b, '%')
			i = j
			continue
		}
		if used {
			return "", errorString("not enough arguments for format " + strconv.Quote(format))
		}
		used = true
		switch verb {
		case 's', 'r':
			b = pyfmt.AppendFloatRepr(b, v)
		case 'd', 'i':
			b = strconv.AppendInt(b, int64(v), 10)
		case 'f', 'F':
			if prec < 0 {
				prec = 6
			}
			b = strconv.AppendFloat(b, v, 'f', prec, 64)
		case 'e', 'E':
			if prec < 0 {
				prec = 6
			}
			b = strconv.AppendFloat(b, v, byte(verb), prec, 64)
		case 'g', 'G':
			if prec < 0 {
				prec = 6
			}
			b = pyfmt.AppendFormatG(b, v, 0, prec)
		default:
			return "", errorString("unsupported format character " + strconv.Quote(string(verb)))
		}
		i = j
	}
	if !used {
		return "", errorString("not all arguments converted during string formatting")
	}
	return string(b), nil
}

type errorString string

func (e errorString) Error() string { return string(e) }

func init() {
	register(&function{name: "weightedAverage", group: "Combine", desc: "The average of series weighted by other series, matched by nodes.",
		params: []param{sl("seriesListAvg"), sl("seriesListWeight"), {name: "nodes", typ: "nodeOrTag", multiple: true}},
		fn:     weightedAverage})
	register(&function{name: "randomWalkFunction", group: "Special", desc: "A random walk from zero, every step seconds.",
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
			cur := 0.0
			return generated(a, "randomWalkFunction", name, step, func(int64) float64 {
				v := cur
				cur += rand.Float64() - 0.5
				return v
			})
		}})
}

func weightedAverage(a *args) ([]*Series, error) {
	avgs, err := a.seriesList(0)
	if err != nil {
		return nil, err
	}
	weights, err := a.seriesList(1)
	if err != nil {
		return nil, err
	}
	if len(avgs) != len(weights) {
		return nil, inputErrorf("weightedAverage must receive the same number of series for seriesListAvg and seriesListWeight but received respectively %d and %d", len(avgs), len(weights))
	}
	nodes := a.multiple(2)
	type pair struct{ avg, weight *Series }
	var keys []string
	pairs := map[string]*pair{}
	at := func(k string) *pair {
		if p, ok := pairs[k]; ok {
			return p
		}
		keys = append(keys, k)
		pairs[k] = &pair{}
		return pairs[k]
	}
	for i := range avgs {
		at(nodeKey(avgs[i], nodes)).avg = avgs[i]
		at(nodeKey(weights[i], nodes)).weight = weights[i]
	}
	var products []*Series
	for _, k := range keys {
		p := pairs[k]
		if p.avg == nil || p.weight == nil {
			continue
		}
		ap, wp := p.avg.Points(), p.weight.Points()
		vals := make([]float64, max(len(ap), len(wp)))
		for i := range vals {
			x, y := null, null
			if i < len(ap) {
				x = ap[i]
			}
			if i < len(wp) {
				y = wp[i]
			}
			vals[i] = x * y // NaN when either is null
		}
		name := "product(" + p.weight.Name + "," + p.avg.Name + ")"
		products = append(products, &Series{Name: name, PathExpression: name, Start: p.avg.Start, End: p.avg.End, Step: p.avg.Step * int64(max(p.avg.ValuesPerPoint, 1)),
			Values: vals, ConsolidationFunc: "average", ValuesPerPoint: 1, XFilesFactor: a.ctx.xff})
	}
	if len(products) == 0 {
		return nil, nil
	}
	sumP := aggregate(a.ctx, products, "sum", aggSum, 0, false)[0]
	sumW := aggregate(a.ctx, weights, "sum", aggSum, 0, false)[0]
	pp, wp := sumP.Points(), sumW.Points()
	vals := make([]float64, max(len(pp), len(wp)))
	for i := range vals {
		x, y := null, null
		if i < len(pp) {
			x = pp[i]
		}
		if i < len(wp) {
			y = wp[i]
		}
		vals[i] = safeDiv(x, y)
	}
	set := func(list []*Series) string {
		seen := map[string]bool{}
		var out []string
		for _, s := range list {
			if !seen[s.PathExpression] {
				seen[s.PathExpression] = true
				out = append(out, s.PathExpression)
			}
		}
		slices.Sort(out)
		return strings.Join(out, ",")
	}
	var ns []string
	for _, n := range nodes {
		if n.kind == expr.Number {
			ns = append(ns, pyNum(n.num, n.isInt))
		} else {
			ns = append(ns, n.str)
		}
	}
	name := "weightedAverage(" + set(avgs) + ", " + set(weights) + ", " + strings.Join(ns, ",") + ")"
	return []*Series{{Name: name, PathExpression: name, Start: sumP.Start, End: sumP.End, Step: sumP.Step, Values: vals,
		ConsolidationFunc: "average", ValuesPerPoint: 1, XFilesFactor: a.ctx.xff}}, nil
}

// generated is the series named name of the functions that make their
// values rather than read them (time, sinFunction, randomWalkFunction): one
// value from value(t) for each step seconds over the request's range.
func generated(a *args, fname, name string, step int, value func(t int64) float64) ([]*Series, error) {
	if step <= 0 {
		return nil, inputErrorf("%s: step must be positive", fname)
	}
	if err := checkMade(fname, (a.ctx.until-a.ctx.from)/int64(step)); err != nil {
		return nil, err
	}
	var vals []float64
	for t := a.ctx.from; t < a.ctx.until; t += int64(step) {
		vals = append(vals, value(t))
	}
	return []*Series{{Name: name, PathExpression: name, Start: a.ctx.from, End: a.ctx.until, Step: int64(step), Values: vals,
		ConsolidationFunc: "average", ValuesPerPoint: 1, XFilesFactor: a.ctx.xff}}, nil
}
