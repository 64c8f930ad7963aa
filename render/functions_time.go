package render

import (
	"strconv"
	"strings"
	"time"

	"statbox/render/expr"
)

// refetch evaluates the call's first argument again over another range, as
// graphite-web does with requestContext['args'][0].
func (a *args) refetch(from, until int64) ([]*Series, error) {
	if len(a.call.Args) == 0 {
		return nil, nil
	}
	v, err := a.ctx.withRange(from, until).eval(a.call.Args[0])
	if err != nil {
		return nil, err
	}
	if v.kind != expr.Path && v.kind != expr.Call {
		return nil, inputErrorf("%s: first argument must be a series list", a.call.Str)
	}
	return v.series, nil
}

func registerTime() {
	register(&function{name: "timeShift", group: "Transform", desc: "Draws the series as it was a time interval earlier.",
		params: []param{sl("seriesList"), {name: "timeShift", typ: "interval", required: true}, {name: "resetEnd", typ: "boolean", def: true}, {name: "alignDst", typ: "boolean", def: false}},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			shift, err := a.str(1, "")
			if err != nil {
				return nil, err
			}
			reset, err := a.boolean(2, true)
			if err != nil {
				return nil, err
			}
			if shift != "" && shift[0] >= '0' && shift[0] <= '9' {
				shift = "-" + shift
			}
			d, err := parseOffset(strings.ToLower(shift))
			if err != nil {
				return nil, inputErrorf("timeShift: %v", err)
			}
			if len(list) == 0 {
				return nil, nil
			}
			first := list[0]
			sec := int64(d / time.Second)
			shifted, err := a.refetch(a.ctx.from+sec, a.ctx.until+sec)
			if err != nil {
				return nil, err
			}
			for _, s := range shifted {
				s.Name = `timeShift(` + s.Name + `, "` + shift + `")`
				if reset {
					s.End = first.End
				} else {
					s.End = s.End - s.Start + first.Start
				}
				s.Start = first.Start
			}
			return shifted, nil
		}})
	register(&function{name: "timeStack", group: "Transform", desc: "Draws the series as it was at several earlier intervals.",
		params: []param{sl("seriesList"), {name: "timeShiftUnit", typ: "interval", def: "1d"}, {name: "timeShiftStart", typ: "integer", def: 0}, {name: "timeShiftEnd", typ: "integer", def: 7}},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			unit, err := a.str(1, "1d")
			if err != nil {
				return nil, err
			}
			from, err := a.integer(2, 0)
			if err != nil {
				return nil, err
			}
			to, err := a.integer(3, 7)
			if err != nil {
				return nil, err
			}
			if unit != "" && unit[0] >= '0' && unit[0] <= '9' {
				unit = "-" + unit
			}
			d, err := parseOffset(strings.ToLower(unit))
			if err != nil {
				return nil, inputErrorf("timeStack: %v", err)
			}
			if len(list) == 0 {
				return nil, nil
			}
			if to-from > 1000 {
				return nil, &limitError{"timeStack: more than 1000 shifts"}
			}
			first := list[0]
			var out []*Series
			for k := from; k < to; k++ {
				sec := int64(d/time.Second) * int64(k)
				shifted, err := a.refetch(a.ctx.from+sec, a.ctx.until+sec)
				if err != nil {
					return nil, err
				}
				for _, s := range shifted {
					s.Name = "timeShift(" + s.Name + ", " + unit + ", " + strconv.Itoa(k) + ")"
					s.PathExpression = s.Name
					s.Start, s.End = first.Start, first.End
					out = append(out, s)
				}
			}
			return out, nil
		}})
	register(&function{name: "timeSlice", group: "Transform", desc: "Keeps only the values between two times.",
		params: []param{sl("seriesList"), {name: "startSliceAt", typ: "date", required: true}, {name: "endSliceAt", typ: "date", def: "now"}},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			parse := func(i int, def string) (int64, error) {
				if !a.given(i) {
					i = -1
				}
				s := def
				if i >= 0 {
					if a.vals[i].kind == expr.Number {
						s = strconv.FormatInt(int64(a.vals[i].num), 10)
					} else if s, err = a.str(i, def); err != nil {
						return 0, err
					}
				}
				// graphite-web reads these against the real clock, not the request's now.
				t, err := ParseTimeIn(s, time.Now(), time.UTC)
				if err != nil {
					return 0, inputErrorf("timeSlice: %v", err)
				}
				return t.Unix(), nil
			}
			start, err := parse(1, "")
			if err != nil {
				return nil, err
			}
			end, err := parse(2, "now")
			if err != nil {
				return nil, err
			}
			for _, s := range list {
				s.materialize()
				s.Name = "timeSlice(" + s.Name + ", " + strconv.FormatInt(start, 10) + ", " + strconv.FormatInt(end, 10) + ")"
				cur := a.ctx.from
				for i, v := range s.Values {
					if isNull(v) || cur < start || cur > end {
						s.Values[i] = null
					}
					cur += s.Step
				}
			}
			return list, nil
		}})
	for _, m := range []struct{ name, agg string }{{"movingAverage", "average"}, {"movingSum", "sum"}, {"movingMin", "min"}, {"movingMax", "max"}, {"movingMedian", "median"}} {
		agg := m.agg
		register(&function{name: m.name, group: "Calculate", desc: "The " + agg + " over a moving window of points or time.",
			params: []param{sl("seriesList"), {name: "windowSize", typ: "intOrInterval", required: true}, {name: "xFilesFactor", typ: "float"}},
			fn:     func(a *args) ([]*Series, error) { return movingWindow(a, agg) }})
	}
	register(&function{name: "movingWindow", group: "Calculate", desc: "An aggregation over a moving window of points or time.",
		params: []param{sl("seriesList"), {name: "windowSize", typ: "intOrInterval", required: true}, {name: "func", typ: "aggFunc", def: "average", options: aggFuncNames}, {name: "xFilesFactor", typ: "float"}},
		fn: func(a *args) ([]*Series, error) {
			f, err := a.str(2, "average")
			if err != nil {
				return nil, err
			}
			// movingWindow's xFilesFactor is its fourth parameter.
			a.vals[2], a.set[2] = a.vals[3], a.set[3]
			return movingWindow(a, f)
		}})
	register(&function{name: "summarize", group: "Transform", desc: "Aggregates the values in buckets of a time interval.",
		params: []param{sl("seriesList"), {name: "intervalString", typ: "interval", required: true}, {name: "func", typ: "aggFunc", def: "sum", options: aggFuncNames}, {name: "alignToFrom", typ: "boolean", def: false}},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			interval, istr, err := a.interval(1, "")
			if err != nil {
				return nil, err
			}
			fname, err := a.str(2, "sum")
			if err != nil {
				return nil, err
			}
			align, err := a.boolean(3, false)
			if err != nil {
				return nil, err
			}
			f, ok := aggFuncs[fname]
			if !ok {
				return nil, inputErrorf("Unsupported aggregation function: %s", fname)
			}
			if interval <= 0 {
				return nil, inputErrorf("summarize: interval must be positive")
			}
			var out []*Series
			for _, s := range list {
				var start, end int64
				if align {
					start, end = s.Start, s.End
				} else {
					start = s.Start - mod(s.Start, interval)
					end = s.End - mod(s.End, interval) + interval
				}
				vals, alignedEnd := summarizeValues(s, f, interval, start, end)
				if align {
					end = alignedEnd
				}
				suffix := ""
				if align {
					suffix = ", true"
				}
				name := `summarize(` + s.Name + `, "` + istr + `", "` + fname + `"` + suffix + `)`
				c := s.copyWith(name, vals)
				c.PathExpression = name
				c.Start, c.End, c.Step, c.ValuesPerPoint = start, end, interval, 1
				out = append(out, c)
			}
			return out, nil
		}})
	register(&function{name: "smartSummarize", group: "Transform", desc: "Aggregates the values in buckets of a time interval aligned to the request's start.",
		params: []param{sl("seriesList"), {name: "intervalString", typ: "interval", required: true}, {name: "func", typ: "aggFunc", def: "sum", options: aggFuncNames}, {name: "alignTo", typ: "string"}},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			interval, istr, err := a.interval(1, "")
			if err != nil {
				return nil, err
			}
			fname, err := a.str(2, "sum")
			if err != nil {
				return nil, err
			}
			f, ok := aggFuncs[fname]
			if !ok {
				return nil, inputErrorf("Unsupported aggregation function: %s", fname)
			}
			if interval <= 0 {
				return nil, inputErrorf("smartSummarize: interval must be positive")
			}
			if a.given(3) && a.vals[3].kind == expr.String {
				u, err := unitSeconds(strings.ToLower(a.vals[3].str))
				if err != nil {
					return nil, inputErrorf("smartSummarize: alignTo: %v", err)
				}
				from := time.Unix(a.ctx.from, 0).UTC()
				y, mo, d := from.Date()
				var t time.Time
				switch u {
				case 365 * 86400:
					t = time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
				case 30 * 86400:
					t = time.Date(y, mo, 1, 0, 0, 0, 0, time.UTC)
				case 7 * 86400:
					wd := 1
					if al := a.vals[3].str; al[len(al)-1] >= '0' && al[len(al)-1] <= '9' {
						wd = int(al[len(al)-1] - '0')
					}
					iso := int(from.Weekday())
					if iso == 0 {
						iso = 7
					}
					back := iso - wd
					if back < 0 {
						back += 7
					}
					t = time.Date(y, mo, d-back, 0, 0, 0, 0, time.UTC)
				case 86400:
					t = time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
				case 3600:
					t = from.Truncate(time.Hour)
				case 60:
					t = from.Truncate(time.Minute)
				default:
					t = from
				}
				if list, err = a.refetch(t.Unix(), a.ctx.until); err != nil {
					return nil, err
				}
			}
			var out []*Series
			for _, s := range list {
				vals, end := summarizeValues(s, f, interval, s.Start, s.End)
				name := `smartSummarize(` + s.Name + `, "` + istr + `", "` + fname + `")`
				c := s.copyWith(name, vals)
				c.PathExpression = name
				c.End, c.Step, c.ValuesPerPoint = end, interval, 1
				out = append(out, c)
			}
			return out, nil
		}})
	register(&function{name: "hitcount", group: "Transform", desc: "Counts hits (rate times time) in buckets of a time interval.",
		params: []param{sl("seriesList"), {name: "intervalString", typ: "interval", required: true}, {name: "alignToInterval", typ: "boolean", def: false}},
		fn:     hitcount})
	register(&function{name: "constantLine", group: "Special", desc: "A horizontal line at a value.",
		params: []param{{name: "value", typ: "float", required: true}},
		fn: func(a *args) ([]*Series, error) {
			v, err := a.num(0, 0)
			if err != nil {
				return nil, err
			}
			return []*Series{constantLine(a.ctx, v, string(appendPyRepr(nil, v)))}, nil
		}})
	register(&function{name: "threshold", group: "Graph", desc: "A horizontal line at a value, with a label and color.",
		params: []param{{name: "value", typ: "float", required: true}, {name: "label", typ: "string"}, {name: "color", typ: "string"}},
		fn: func(a *args) ([]*Series, error) {
			v, err := a.num(0, 0)
			if err != nil {
				return nil, err
			}
			s := constantLine(a.ctx, v, string(appendPyRepr(nil, v)))
			if l, err := a.str(1, ""); err != nil {
				return nil, err
			} else if l != "" {
				s.Name = l
			}
			if c, err := a.str(2, ""); err != nil {
				return nil, err
			} else if c != "" {
				s.Color = c
			}
			return []*Series{s}, nil
		}})
	register(&function{name: "events", group: "Special", desc: "The number of events at each second, for events carrying all the given tags.",
		params: []param{{name: "tags", typ: "string", required: true, multiple: true}},
		fn: func(a *args) ([]*Series, error) {
			var tags []string
			for _, v := range a.multiple(0) {
				if v.kind != expr.String {
					return nil, inputErrorf("events: tags must be strings")
				}
				tags = append(tags, v.str)
			}
			name := `events("` + strings.Join(tags, `", "`) + `")`
			if len(tags) == 1 && tags[0] == "*" {
				tags = nil
			}
			from, until := a.ctx.from, a.ctx.until
			if until-from > 10_000_000 {
				return nil, &limitError{"events: time range over 10000000 seconds (one value per second)"}
			}
			vals := make([]float64, until-from)
			for i := range vals {
				vals[i] = null
			}
			if a.ctx.opts.Events != nil {
				times, err := a.ctx.opts.Events.EventTimes(from, until, tags)
				if err != nil {
					return nil, err
				}
				for _, t := range times {
					if i := t - from; i >= 0 && i < int64(len(vals)) {
						if isNull(vals[i]) {
							vals[i] = 1
						} else {
							vals[i]++
						}
					}
				}
			}
			return []*Series{{Name: name, PathExpression: name, Start: from, End: until, Step: 1, Values: vals, ConsolidationFunc: "sum", ValuesPerPoint: 1, XFilesFactor: a.ctx.xff}}, nil
		}})
	register(&function{name: "seriesByTag", group: "Special", desc: "The series whose tags match all the expressions.",
		params: []param{{name: "tagExpressions", typ: "string", required: true, multiple: true}}})
}

func mod(a, m int64) int64 {
	r := a % m
	if r < 0 {
		r += m
	}
	return r
}

// seriesByTag fetches the series a tag query names; graphite-web uses the
// call's text as their path expression.
func (c *evalCtx) seriesByTag(e *expr.Expr) (value, error) {
	var exprs []string
	for _, a := range e.Args {
		if a.Kind != expr.String {
			return value{}, inputErrorf("seriesByTag: arguments must be strings")
		}
		exprs = append(exprs, a.Str)
	}
	if len(exprs) == 0 || len(e.Kwargs) > 0 {
		return value{}, inputErrorf("seriesByTag: at least one tag expression is required")
	}
	if c.opts.Finder == nil {
		return value{kind: expr.Call, raw: e}, nil
	}
	names, err := c.opts.Finder.TaggedSeries(exprs)
	if err != nil {
		return value{}, inputErrorf("seriesByTag: %v", err)
	}
	s, err := c.fetchNames(e.Raw, names)
	return value{kind: expr.Call, series: s, raw: e}, err
}

// movingWindow is graphite-web's movingWindow: the window is read from
// before the request's start, so the first value already has a full window.
func movingWindow(a *args, fname string) ([]*Series, error) {
	list, err := a.seriesList(0)
	if err != nil {
		return nil, err
	}
	f, ok := aggFuncs[fname]
	if !ok {
		return nil, inputErrorf("Unsupported aggregation function: %s", fname)
	}
	xff, err := a.num(2, 0)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, nil
	}
	w := a.vals[1]
	var preview int64
	isInterval := w.kind == expr.String
	switch w.kind {
	case expr.String:
		d, err := parseOffset(strings.ToLower(w.str))
		if err != nil {
			return nil, inputErrorf("%s: windowSize: %v", a.call.Str, err)
		}
		preview = int64(d / time.Second)
		if preview < 0 {
			preview = -preview
		}
	case expr.Number:
		var maxStep int64
		for _, s := range list {
			maxStep = max(maxStep, s.Step)
		}
		preview = maxStep * int64(w.num)
	default:
		return nil, inputErrorf("%s: windowSize must be a number or an interval string", a.call.Str)
	}
	if preview < 0 {
		return nil, inputErrorf("%s: windowSize must not be negative", a.call.Str)
	}
	prev, err := a.refetch(a.ctx.from-preview, a.ctx.until)
	if err != nil {
		return nil, err
	}
	tag := "moving" + strings.ToUpper(fname[:1]) + strings.ToLower(fname[1:])
	var out []*Series
	for _, s := range prev {
		s.materialize()
		var name string
		var points int
		if isInterval {
			name = tag + "(" + s.Name + `,"` + w.str + `")`
			points = int(preview / s.Step)
		} else {
			name = tag + "(" + s.Name + "," + pyNum(w.num, w.isInt) + ")"
			points = int(w.num)
		}
		effXff := s.XFilesFactor
		if a.given(2) {
			effXff = xff
		}
		var vals []float64
		for i := points; i < len(s.Values); i++ {
			win := nonNull(s.Values[i-points : i])
			if len(win) > 0 && xffOK(len(win), points, effXff) {
				vals = append(vals, f(win))
			} else {
				vals = append(vals, null)
			}
		}
		c := s.copyWith(name, vals)
		c.PathExpression = name
		c.Start = s.Start + preview
		out = append(out, c)
	}
	return out, nil
}

// summarizeValues is graphite-web's _summarizeValues.
func summarizeValues(s *Series, f aggFunc, interval, start, end int64) ([]float64, int64) {
	pts := s.Points()
	step := s.Step * int64(max(s.ValuesPerPoint, 1))
	n := 0
	for t := s.Start; t < s.End; t += step {
		n++
	}
	n = min(n, len(pts))
	intervalPoints := float64(interval) / float64(step)
	var out []float64
	i := 0
	t := start
	for ; t < end; t += interval {
		first := i
		nn := 0
		for i < n && s.Start+int64(i)*step < t+interval {
			ts := s.Start + int64(i)*step
			if ts <= t {
				first = i
			}
			if ts >= t && !isNull(pts[i]) {
				nn++
			}
			i++
		}
		if nn > 0 && float64(nn)/intervalPoints >= s.XFilesFactor {
			out = append(out, f(pts[first:i]))
		} else {
			out = append(out, null)
		}
	}
	return out, t
}

func hitcount(a *args) ([]*Series, error) {
	list, err := a.seriesList(0)
	if err != nil {
		return nil, err
	}
	interval, istr, err := a.interval(1, "")
	if err != nil {
		return nil, err
	}
	align, err := a.boolean(2, false)
	if err != nil {
		return nil, err
	}
	if interval <= 0 {
		return nil, inputErrorf("hitcount: interval must be positive")
	}
	if align {
		from := time.Unix(a.ctx.from, 0).UTC()
		t := from
		switch {
		case interval >= 86400:
			t = time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC)
		case interval >= 3600:
			t = from.Truncate(time.Hour)
		case interval >= 60:
			t = from.Truncate(time.Minute)
		}
		if list, err = a.refetch(t.Unix(), a.ctx.until); err != nil {
			return nil, err
		}
		for _, s := range list {
			cnt := (s.End - s.Start) / interval
			s.End = s.Start + cnt*interval + interval
		}
	}
	var out []*Series
	for _, s := range list {
		s.materialize()
		step := s.Step
		buckets := int((s.End - s.Start + interval - 1) / interval)
		sums := make([]float64, buckets)
		has := make([]bool, buckets)
		newStart := s.End - int64(buckets)*interval
		add := func(b int64, v float64) {
			sums[b] += v
			has[b] = true
		}
		for i, v := range s.Values {
			if isNull(v) {
				continue
			}
			st := s.Start + int64(i)*step
			sb, sm := floorDiv(st-newStart, interval)
			eb, em := floorDiv(st+step-newStart, interval)
			if eb >= int64(buckets) {
				eb, em = int64(buckets)-1, interval
			}
			if sb == eb {
				if sb >= 0 {
					add(sb, v*float64(em-sm))
				}
				continue
			}
			if sb >= 0 {
				add(sb, v*float64(interval-sm))
			}
			for j := max(sb+1, 0); j < eb; j++ {
				add(j, v*float64(interval))
			}
			if em > 0 {
				add(eb, v*float64(em))
			}
		}
		vals := make([]float64, buckets)
		for i := range vals {
			if has[i] {
				vals[i] = sums[i]
			} else {
				vals[i] = null
			}
		}
		suffix := ""
		if align {
			suffix = ", true"
		}
		name := `hitcount(` + s.Name + `, "` + istr + `"` + suffix + `)`
		c := s.copyWith(name, vals)
		c.PathExpression = name
		c.Start, c.Step = newStart, interval
		out = append(out, c)
	}
	return out, nil
}

func floorDiv(a, b int64) (int64, int64) {
	q := a / b
	r := a % b
	if r < 0 {
		q--
		r += b
	}
	return q, r
}
