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
)

// firstPathExpression is the first metric path inside a function-wrapped
// name, as graphite-web's _getFirstPathExpression finds it.
func firstPathExpression(name string) string {
	e, err := expr.Parse(name)
	if err != nil {
		return name
	}
	for e != nil {
		switch e.Kind {
		case expr.Path:
			return e.Str
		case expr.Call:
			if len(e.Args) == 0 {
				return name
			}
			e = e.Args[0]
		default:
			return name
		}
	}
	return name
}

// nodeKey is graphite-web's aggKey: the chosen nodes of a series' name (or
// tags, for non-integer nodes) joined by dots.
func nodeKey(s *Series, nodes []value) string {
	name := s.Name
	if strings.HasSuffix(name, ")") {
		name = firstPathExpression(name)
	}
	metric, _, _ := strings.Cut(name, ";")
	parts := strings.Split(metric, ".")
	var out []string
	for _, n := range nodes {
		if n.kind == expr.Number {
			i := int(n.num)
			if i < 0 {
				i += len(parts)
			}
			if i >= 0 && i < len(parts) {
				out = append(out, parts[i])
				continue
			}
			out = append(out, "")
			continue
		}
		out = append(out, seriesTags(s.Name)[n.str])
	}
	return strings.Join(out, ".")
}

// seriesTags are the tags graphite-web parses from a series name.
func seriesTags(name string) map[string]string {
	metric, rest, tagged := strings.Cut(name, ";")
	tags := map[string]string{}
	if tagged {
		for seg := range strings.SplitSeq(rest, ";") {
			k, v, _ := strings.Cut(seg, "=")
			tags[k] = v
		}
		metric = strings.TrimLeft(metric, "~")
	}
	tags["name"] = metric
	return tags
}

func registerAliases() {
	register(&function{name: "alias", group: "Alias", desc: "Names the series.",
		params: []param{sl("seriesList"), {name: "newName", typ: "string", required: true}},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			n, err := a.str(1, "")
			for _, s := range list {
				s.Name = n
			}
			return list, err
		}})
	register(&function{name: "aliasByNode", group: "Alias", desc: "Names each series by some of its nodes.",
		params: []param{sl("seriesList"), {name: "nodes", typ: "nodeOrTag", required: true, multiple: true}},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			nodes := a.multiple(1)
			for _, s := range list {
				s.Name = nodeKey(s, nodes)
			}
			return list, nil
		}})
	register(&function{name: "aliasByMetric", group: "Alias", desc: "Names each series by its last node.",
		params: []param{sl("seriesList")},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			for _, s := range list {
				parts := strings.Split(innerPath(s.Name), ".")
				n := parts[len(parts)-1]
				if i := strings.IndexByte(n, ','); i >= 0 {
					n = n[:i]
				}
				s.Name = n
			}
			return list, nil
		}})
	register(&function{name: "aliasSub", group: "Alias", desc: "Renames series by a regular expression replacement.",
		params: []param{sl("seriesList"), {name: "search", typ: "string", required: true}, {name: "replace", typ: "string", required: true}},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			search, err := a.str(1, "")
			if err != nil {
				return nil, err
			}
			repl, err := a.str(2, "")
			if err != nil {
				return nil, err
			}
			re, err := regexpCompile("aliasSub", search)
			if err != nil {
				return nil, err
			}
			repl = pyReplacement(repl)
			for _, s := range list {
				s.Name = re.ReplaceAllString(s.Name, repl)
			}
			return list, nil
		}})
	register(&function{name: "legendValue", group: "Alias", desc: "Appends values of the series to its name.",
		params: []param{sl("seriesList"), {name: "valuesTypes", typ: "string", multiple: true, options: legendValueOptions()}},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			var types []string
			for _, v := range a.multiple(1) {
				if v.kind != expr.String {
					return nil, inputErrorf("legendValue: value types must be strings")
				}
				types = append(types, v.str)
			}
			system := ""
			if n := len(types); n > 0 && (types[n-1] == "si" || types[n-1] == "binary") {
				system, types = types[n-1], types[:n-1]
			}
			for _, t := range types {
				for _, s := range list {
					f, ok := aggFuncs[t]
					if system != "" {
						txt := "(?)"
						if ok {
							if v := f(s.Points()); isNull(v) {
								txt = "None"
							} else {
								x, p := formatUnits(v, system, "")
								txt = fixed2(x) + p
							}
						}
						s.Name = padRight(s.Name, 20) + padRight(t, 5) + padRight(txt, 10)
						continue
					}
					txt := "(?)"
					if ok {
						v := f(s.Points())
						if isNull(v) {
							txt = "None"
						} else {
							txt = string(appendPyRepr(nil, v))
						}
					}
					s.Name += " (" + t + ": " + txt + ")"
				}
			}
			return list, nil
		}})
}

func registerFilters() {
	filter := func(name, agg, op string) {
		register(&function{name: name, group: "Filter Series", desc: "Keeps the series whose " + agg + " is " + op + " n.",
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
				f := aggFuncs[agg]
				var out []*Series
				for _, s := range list {
					v := f(s.Points())
					keep := false
					switch op {
					case ">":
						keep = !isNull(v) && v > n
					case "<=":
						keep = isNull(v) || v <= n
					}
					if keep {
						out = append(out, s)
					}
				}
				return out, nil
			}})
	}
	filter("maximumAbove", "max", ">")
	filter("minimumAbove", "min", ">")
	filter("maximumBelow", "max", "<=")
	filter("minimumBelow", "min", "<=")
	filter("currentAbove", "last", ">")
	filter("currentBelow", "last", "<=")
	filter("averageAbove", "average", ">")
	filter("averageBelow", "average", "<=")

	// sortKey is graphite-web's keyFunc: null sorts as -inf.
	sortKey := func(f aggFunc, s *Series) float64 {
		v := f(s.Points())
		if isNull(v) {
			return math.Inf(-1)
		}
		return v
	}
	sortBy := func(list []*Series, agg string, reverse bool) {
		f := aggFuncs[agg]
		keys := make(map[*Series]float64, len(list))
		for _, s := range list {
			keys[s] = sortKey(f, s)
		}
		// Python's sort with reverse=True keeps equal elements in order.
		sort.SliceStable(list, func(i, j int) bool {
			if reverse {
				return keys[list[i]] > keys[list[j]]
			}
			return keys[list[i]] < keys[list[j]]
		})
	}
	top := func(name, agg string, highest bool) {
		register(&function{name: name, group: "Filter Series", desc: "The n series with the " + map[bool]string{true: "highest", false: "lowest"}[highest] + " " + agg + ".",
			params: []param{sl("seriesList"), {name: "n", typ: "integer", required: true}},
			fn: func(a *args) ([]*Series, error) {
				list, err := a.seriesList(0)
				if err != nil {
					return nil, err
				}
				n, err := a.integer(1, 1)
				if err != nil {
					return nil, err
				}
				sortBy(list, agg, highest)
				if n < 0 {
					n = max(len(list)+n, 0)
				}
				return list[:min(n, len(list))], nil
			}})
	}
	top("highestCurrent", "current", true)
	top("highestMax", "max", true)
	top("highestAverage", "average", true)
	top("lowestCurrent", "current", false)
	top("lowestAverage", "average", false)
	sortFn := func(name, agg string, reverse bool) {
		register(&function{name: name, group: "Sorting", desc: "Sorts the series by " + agg + ".",
			params: []param{sl("seriesList")},
			fn: func(a *args) ([]*Series, error) {
				list, err := a.seriesList(0)
				if err != nil {
					return nil, err
				}
				sortBy(list, agg, reverse)
				return list, nil
			}})
	}
	sortFn("sortByTotal", "sum", true)
	sortFn("sortByMaxima", "max", true)
	sortFn("sortByMinima", "min", false)
	register(&function{name: "sortByName", group: "Sorting", desc: "Sorts the series by name.",
		params: []param{sl("seriesList"), {name: "natural", typ: "boolean", def: false}, {name: "reverse", typ: "boolean", def: false}},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			natural, err := a.boolean(1, false)
			if err != nil {
				return nil, err
			}
			reverse, err := a.boolean(2, false)
			if err != nil {
				return nil, err
			}
			digits := regexp.MustCompile(`\d+`)
			key := func(s *Series) string {
				if !natural {
					return s.Name
				}
				return digits.ReplaceAllStringFunc(s.Name, func(d string) string {
					n, _ := strconv.ParseInt(d, 10, 64)
					return fmt.Sprintf("%010d", n)
				})
			}
			sort.SliceStable(list, func(i, j int) bool {
				if reverse {
					return key(list[i]) > key(list[j])
				}
				return key(list[i]) < key(list[j])
			})
			return list, nil
		}})
	register(&function{name: "limit", group: "Filter Series", desc: "The first n series.",
		params: []param{sl("seriesList"), {name: "n", typ: "integer", required: true}},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			n, err := a.integer(1, 0)
			if n < 0 {
				n = max(len(list)+n, 0)
			}
			return list[:min(n, len(list))], err
		}})
	for _, keep := range []bool{true, false} {
		name := "exclude"
		if keep {
			name = "grep"
		}
		register(&function{name: name, group: "Filter Series", desc: "Keeps or drops the series whose name matches a regular expression.",
			params: []param{sl("seriesList"), {name: "pattern", typ: "string", required: true}},
			fn: func(a *args) ([]*Series, error) {
				list, err := a.seriesList(0)
				if err != nil {
					return nil, err
				}
				p, err := a.str(1, "")
				if err != nil {
					return nil, err
				}
				re, err := regexpCompile(name, p)
				if err != nil {
					return nil, err
				}
				var out []*Series
				for _, s := range list {
					if re.MatchString(s.Name) == keep {
						out = append(out, s)
					}
				}
				return out, nil
			}})
	}
	register(&function{name: "mostDeviant", group: "Filter Series", desc: "The n series deviating most from their own mean.",
		params: []param{sl("seriesList"), {name: "n", typ: "integer", required: true}},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			n, err := a.integer(1, 0)
			if err != nil {
				return nil, err
			}
			type dev struct {
				sigma float64
				s     *Series
			}
			var ds []dev
			for _, s := range list {
				pts := s.Points()
				mean := aggAvg(pts)
				if isNull(mean) {
					continue
				}
				sq := 0.0
				for _, v := range pts {
					if !isNull(v) {
						sq += (v - mean) * (v - mean)
					}
				}
				ds = append(ds, dev{sq / aggCount(pts), s})
			}
			sort.SliceStable(ds, func(i, j int) bool { return ds[i].sigma > ds[j].sigma })
			var out []*Series
			for i := 0; i < len(ds) && i < n; i++ {
				out = append(out, ds[i].s)
			}
			return out, nil
		}})
	group := func(a *args, list []*Series, keyOf func(*Series) string, callback string) ([]*Series, error) {
		var keys []string
		groups := map[string][]*Series{}
		for _, s := range list {
			k := keyOf(s)
			if _, ok := groups[k]; !ok {
				keys = append(keys, k)
			}
			groups[k] = append(groups[k], s)
		}
		var out []*Series
		for _, k := range keys {
			var r []*Series
			if f, ok := functions[callback]; ok && f.group == "Combine" && callback != "aggregate" {
				fa := &args{ctx: a.ctx, call: &expr.Expr{Kind: expr.Call, Str: callback, Args: []*expr.Expr{{Kind: expr.Path}}}, f: f,
					vals: make([]value, len(f.params)), set: make([]bool, len(f.params))}
				fa.vals[0], fa.set[0] = value{kind: expr.Path, series: groups[k]}, true
				var err error
				if r, err = f.fn(fa); err != nil {
					return nil, err
				}
			} else {
				name := strings.TrimSuffix(callback, "Series")
				f, ok := aggFuncs[name]
				if !ok {
					return nil, inputErrorf("Unsupported aggregation function: %s", callback)
				}
				r = aggregate(a.ctx, groups[k], name, f, 0, false)
			}
			if len(r) == 0 {
				continue
			}
			r[0].Name = k
			out = append(out, r[0])
		}
		return out, nil
	}
	register(&function{name: "groupByNode", group: "Combine", desc: "Combines the series by one node of their names.",
		params: []param{sl("seriesList"), {name: "nodeNum", typ: "nodeOrTag", required: true}, {name: "callback", typ: "aggOrSeriesFunc", def: "average", options: aggFuncNames}},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			cb, err := a.str(2, "average")
			if err != nil {
				return nil, err
			}
			nodes := []value{a.vals[1]}
			return group(a, list, func(s *Series) string { return nodeKey(s, nodes) }, cb)
		}})
	register(&function{name: "groupByNodes", group: "Combine", desc: "Combines the series by some nodes of their names.",
		params: []param{sl("seriesList"), {name: "callback", typ: "aggOrSeriesFunc", required: true, options: aggFuncNames}, {name: "nodes", typ: "nodeOrTag", multiple: true}},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			cb, err := a.str(1, "")
			if err != nil {
				return nil, err
			}
			nodes := a.multiple(2)
			return group(a, list, func(s *Series) string { return nodeKey(s, nodes) }, cb)
		}})
	register(&function{name: "groupByTags", group: "Combine", desc: "Combines the series by the values of some of their tags.",
		params: []param{sl("seriesList"), {name: "callback", typ: "aggOrSeriesFunc", required: true, options: aggFuncNames}, {name: "tags", typ: "tag", required: true, multiple: true}},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			cb, err := a.str(1, "")
			if err != nil {
				return nil, err
			}
			var tags []string
			for _, v := range a.multiple(2) {
				tags = append(tags, v.str)
			}
			withName := slices.Contains(tags, "name")
			name := cb
			names := map[string]bool{}
			for _, s := range list {
				names[seriesTags(s.Name)["name"]] = true
			}
			if len(names) == 1 {
				for n := range names {
					name = n
				}
			}
			out, err := group(a, list, func(s *Series) string {
				t := seriesTags(s.Name)
				var kv []string
				for _, k := range tags {
					if k != "name" {
						kv = append(kv, k+"="+t[k])
					}
				}
				sort.Strings(kv)
				head := name
				if withName {
					head = t["name"]
				}
				return strings.Join(append([]string{head}, kv...), ";")
			}, cb)
			for _, s := range out {
				s.PathExpression = s.Name
				s.Tags = parseTags(s.Name)
			}
			return out, err
		}})
	register(&function{name: "applyByNode", group: "Combine", desc: "Evaluates a template target for each distinct prefix of the series' names.",
		params: []param{sl("seriesList"), {name: "nodeNum", typ: "node", required: true}, {name: "templateFunction", typ: "string", required: true}, {name: "newName", typ: "string"}},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			node, err := a.integer(1, 0)
			if err != nil {
				return nil, err
			}
			tmpl, err := a.str(2, "")
			if err != nil {
				return nil, err
			}
			newName, err := a.str(3, "")
			if err != nil {
				return nil, err
			}
			prefixes := map[string]bool{}
			for _, s := range list {
				parts := strings.Split(s.Name, ".")
				prefixes[strings.Join(parts[:min(node+1, len(parts))], ".")] = true
			}
			keys := slices.Sorted(func(yield func(string) bool) {
				for k := range prefixes {
					if !yield(k) {
						return
					}
				}
			})
			if len(list) == 0 {
				return nil, nil
			}
			var out []*Series
			last := list[len(list)-1]
			for _, p := range keys {
				e, err := expr.Parse(strings.ReplaceAll(tmpl, "%", p))
				if err != nil {
					return nil, inputErrorf("applyByNode: %v", err)
				}
				v, err := a.ctx.eval(e)
				if err != nil {
					return nil, err
				}
				for _, r := range v.series {
					if newName != "" {
						r.Name = strings.ReplaceAll(newName, "%", p)
					}
					r.PathExpression = p
					r.Start, r.End = last.Start, last.End
					out = append(out, r)
				}
			}
			return out, nil
		}})
}

var backref = regexp.MustCompile(`\\(\d+)`)

// pyReplacement turns a Python re.sub replacement into Go's: \1 is ${1},
// and a literal $ stays literal.
func pyReplacement(repl string) string {
	return backref.ReplaceAllString(strings.ReplaceAll(repl, "$", "$$"), "$${$1}")
}

// legendValueOptions are graphite-web's: each aggregation, with and
// without "Series", and the unit systems.
func legendValueOptions() []string {
	var o []string
	for _, n := range aggFuncNames {
		o = append(o, n, n+"Series")
	}
	return append(o, "si", "binary")
}

// innerPath is the metric path inside a series name's innermost call, as
// aliasByMetric and substr read it: what lies between the last '(' and the
// first ')' (to the end without one), or "" when they are out of order.
func innerPath(name string) string {
	left := strings.LastIndexByte(name, '(') + 1
	right := strings.IndexByte(name, ')')
	if right < 0 {
		right = len(name)
	}
	if left >= right {
		return ""
	}
	return name[left:right]
}
