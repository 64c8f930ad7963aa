package render

import (
	"strconv"
	"strings"

	"statbox/render/expr"
)

// Tags are a series' tags in the order graphite-web's dict keeps them. A
// copy of a series shares its Tags, as graphite-web's TimeSeries.copy does,
// so a tag set on one shows on the other.
type Tags struct{ kv [][2]string }

// Set sets tag k to v, keeping k's place if it is there.
func (t *Tags) Set(k, v string) {
	for i := range t.kv {
		if t.kv[i][0] == k {
			t.kv[i][1] = v
			return
		}
	}
	t.kv = append(t.kv, [2]string{k, v})
}

// Get returns tag k.
func (t *Tags) Get(k string) (string, bool) {
	for _, p := range t.kv {
		if p[0] == k {
			return p[1], true
		}
	}
	return "", false
}

// parseTags is graphite-web's tagdb parse of a carbon path: "a;k=v" gives
// k=v then name=a; a path it cannot parse has only its name.
func parseTags(name string) *Tags {
	segs := strings.Split(name, ";")
	t := &Tags{}
	if segs[0] == "" {
		return &Tags{kv: [][2]string{{"name", name}}}
	}
	for _, s := range segs[1:] {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return &Tags{kv: [][2]string{{"name", name}}}
		}
		t.Set(k, v)
	}
	t.Set("name", strings.TrimLeft(segs[0], "~"))
	return t
}

// defaultTags are the tags graphite-web gives a new series of this name: its
// name alone when it looks like a function call (letters, "(", ..., ")"),
// else what the tag database parses.
func defaultTags(name string) *Tags {
	i := 0
	for i < len(name) && (name[i] >= 'a' && name[i] <= 'z' || name[i] >= 'A' && name[i] <= 'Z') {
		i++
	}
	if i > 0 && i+2 < len(name) && name[i] == '(' && name[len(name)-1] == ')' {
		return &Tags{kv: [][2]string{{"name", name}}}
	}
	return parseTags(name)
}

// tags returns s's tags, giving it its default ones first.
func (s *Series) tags() *Tags {
	if s.Tags == nil {
		s.Tags = defaultTags(s.Name)
	}
	return s.Tags
}

// tagText is argument i as graphite-web's str() writes it into a tag: after
// its parameter validation, so a float parameter given 2 reads "2.0".
func (a *args) tagText(i int, def string) string {
	if !a.given(i) {
		return def
	}
	v := a.vals[i]
	switch v.kind {
	case expr.Number:
		if v.isInt && a.f.params[i].typ != "float" {
			return strconv.FormatInt(int64(v.num), 10)
		}
		return string(appendPyRepr(nil, v.num))
	case expr.String:
		return v.str
	case expr.Bool:
		if v.b {
			return "True"
		}
		return "False"
	}
	return ""
}

// tagSets are the tags graphite-web's functions add to the series they
// return, from their arguments.
var tagSets = map[string]func(a *args) [][2]string{}

func init() {
	one := func(name string) { tagSets[name] = func(*args) [][2]string { return [][2]string{{name, "1"}} } }
	for _, n := range []string{"absolute", "invert", "squareRoot", "derivative", "perSecond", "integral", "nonNegativeDerivative", "secondYAxis", "drawAsInfinite"} {
		one(n)
	}
	arg := func(name, key string, i int, def string) {
		tagSets[name] = func(a *args) [][2]string { return [][2]string{{key, a.tagText(i, def)}} }
	}
	for _, n := range []string{"scale", "scaleToSeconds", "pow", "offset", "delay", "stdev"} {
		arg(n, n, 1, "")
	}
	for _, n := range []string{"movingAverage", "movingSum", "movingMin", "movingMax", "movingMedian"} {
		arg(n, n, 1, "")
	}
	arg("dashed", "dashed", 1, "5")
	arg("hitcount", "hitcount", 1, "")
	arg("nPercentile", "nPercentile", 1, "")
	arg("removeAbovePercentile", "nPercentile", 1, "")
	arg("removeBelowPercentile", "nPercentile", 1, "")
	arg("consolidateBy", "consolidateBy", 1, "")
	tagSets["stacked"] = func(a *args) [][2]string {
		if a.given(1) {
			return nil // graphite-web tags only the default stack
		}
		return [][2]string{{"stacked", "__DEFAULT__"}}
	}
	tagSets["cumulative"] = func(*args) [][2]string { return [][2]string{{"consolidateBy", "sum"}} }
	tagSets["movingWindow"] = func(a *args) [][2]string {
		f := a.tagText(2, "average")
		return [][2]string{{"moving" + strings.ToUpper(f[:min(1, len(f))]) + strings.ToLower(f[min(1, len(f)):]), a.tagText(1, "")}}
	}
	for _, n := range []string{"summarize", "smartSummarize"} {
		tagSets[n] = func(a *args) [][2]string {
			return [][2]string{{n, a.tagText(1, "")}, {n + "Function", a.tagText(2, "sum")}}
		}
	}
	tagSets["transformNull"] = func(a *args) [][2]string {
		t := [][2]string{{"transformNull", a.tagText(1, "0")}}
		if a.given(2) {
			t = append(t, [2]string{"referenceSeries", "1"})
		}
		return t
	}
}

// setTags adds a function's tags to the series it returned.
func setTags(a *args, list []*Series) {
	f, ok := tagSets[a.call.Str]
	if !ok || len(list) == 0 {
		return
	}
	kv := f(a)
	for _, s := range list {
		for _, p := range kv {
			s.tags().Set(p[0], p[1])
		}
	}
}
