package render

import (
	"math"
	"strconv"
	"strings"
)

// unitSystems are graphite-web's unit prefixes for legends, largest first.
var unitSystems = map[string][]struct {
	prefix string
	size   float64
}{
	"si":     {{"P", 1e15}, {"T", 1e12}, {"G", 1e9}, {"M", 1e6}, {"k", 1e3}},
	"binary": {{"Pi", 1 << 50}, {"Ti", 1 << 40}, {"Gi", 1 << 30}, {"Mi", 1 << 20}, {"Ki", 1 << 10}},
}

// formatUnits is graphite-web's format_units without a step: v scaled to
// the largest prefix it reaches, and the prefix (with units appended).
func formatUnits(v float64, system, units string) (float64, string) {
	for _, u := range unitSystems[system] {
		if math.Abs(v) >= u.size {
			v2 := v / u.size
			if v2-math.Floor(v2) < 0.00000000001 && v > 1 {
				v2 = math.Floor(v2)
			}
			return v2, u.prefix + units
		}
	}
	if v-math.Floor(v) < 0.00000000001 && v > 1 {
		v = math.Floor(v)
	}
	return v, units
}

// fixed2 is Python's "%.2f".
func fixed2(v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// padRight is Python's "%-*s".
func padRight(s string, n int) string {
	if len(s) >= n {
		return s
	}
	return s + strings.Repeat(" ", n-len(s))
}

func init() {
	register(&function{name: "cactiStyle", group: "Special", desc: "Appends the current, maximum and minimum values to each name, in aligned columns.",
		params: []param{sl("seriesList"), {name: "system", typ: "string", options: []string{"binary", "si"}}, {name: "units", typ: "string"}},
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			system, err := a.str(1, "")
			if err != nil {
				return nil, err
			}
			units, err := a.str(2, "")
			if err != nil {
				return nil, err
			}
			if _, ok := unitSystems[system]; system != "" && !ok {
				return nil, inputErrorf("cactiStyle: unknown unit system %q (si or binary)", system)
			}
			fmtv := func(x float64) string {
				switch {
				case system != "" && units != "":
					v, p := formatUnits(x, system, units)
					return fixed2(v) + " " + p
				case system != "":
					v, p := formatUnits(x, system, "")
					return fixed2(v) + p
				case units != "":
					return fixed2(x) + " " + units
				}
				return fixed2(x)
			}
			// Column widths as graphite-web takes them: from each value
			// truncated to an integer, 3 standing in for none or zero.
			width := func(f aggFunc) int {
				w := 0
				for _, s := range list {
					v := f(s.Points())
					if isNull(v) || v == 0 {
						v = 3
					}
					w = max(w, len(fmtv(math.Trunc(v))))
				}
				return w + 3
			}
			nameLen := 0
			for _, s := range list {
				nameLen = max(nameLen, len(s.Name))
			}
			lastLen, maxLen, minLen := width(aggLast), width(aggMax), width(aggMin)
			text := func(v float64) string {
				if isNull(v) {
					return "nan"
				}
				return fmtv(v)
			}
			for _, s := range list {
				p := s.Points()
				s.Name = padRight(s.Name, nameLen) + " Current:" + padRight(text(aggLast(p)), lastLen) +
					" Max:" + padRight(text(aggMax(p)), maxLen) + " Min:" + padRight(text(aggMin(p)), minLen) + " "
			}
			return list, nil
		}})
}
