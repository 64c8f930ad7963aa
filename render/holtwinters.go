package render

import (
	"math"
	"strings"
)

// hwAnalysis is graphite-web's holtWintersAnalysis: triple exponential
// smoothing with alpha = gamma = 0.1, beta = 0.0035 over seasons of
// seasonLen points; it returns each point's prediction and deviation.
func hwAnalysis(vals []float64, seasonLen int) (pred, dev []float64) {
	const alpha, gamma, beta = 0.1, 0.1, 0.0035
	n := len(vals)
	intercepts := make([]float64, 0, n)
	slopes := make([]float64, 0, n)
	seasonals := make([]float64, 0, n)
	pred = make([]float64, 0, n)
	dev = make([]float64, 0, n)
	back := func(l []float64, i int) float64 {
		if j := i - seasonLen; j >= 0 && j < len(l) {
			return l[j]
		}
		return 0
	}
	next := null
	for i, actual := range vals {
		if isNull(actual) {
			intercepts = append(intercepts, null)
			slopes = append(slopes, 0)
			seasonals = append(seasonals, 0)
			pred = append(pred, next)
			dev = append(dev, 0)
			next = null
			continue
		}
		var lastIntercept, lastSlope, prediction float64
		if i == 0 {
			lastIntercept, lastSlope, prediction = actual, 0, actual
		} else {
			lastIntercept, lastSlope = intercepts[len(intercepts)-1], slopes[len(slopes)-1]
			if isNull(lastIntercept) {
				lastIntercept = actual
			}
			prediction = next
		}
		lastSeasonal := back(seasonals, i)
		nextLastSeasonal := back(seasonals, i+1)
		lastSeasonalDev := back(dev, i)
		intercept := alpha*(actual-lastSeasonal) + (1-alpha)*(lastIntercept+lastSlope)
		slope := beta*(intercept-lastIntercept) + (1-beta)*lastSlope
		seasonal := gamma*(actual-intercept) + (1-gamma)*lastSeasonal
		next = intercept + slope + nextLastSeasonal
		p := prediction
		if isNull(p) {
			p = 0
		}
		deviation := gamma*math.Abs(actual-p) + (1-gamma)*lastSeasonalDev
		intercepts = append(intercepts, intercept)
		slopes = append(slopes, slope)
		seasonals = append(seasonals, seasonal)
		pred = append(pred, prediction)
		dev = append(dev, deviation)
	}
	return pred, dev
}

// hwResult is one series' forecast and deviation over the request's range.
type hwResult struct {
	s                *Series // the bootstrapped series
	start, end, step int64
	forecast, dev    []float64
}

// hwRun fetches the first argument from a bootstrap interval before the
// request, analyses each series and keeps what falls in the request.
func hwRun(a *args, bootIdx, seasonIdx int) ([]hwResult, error) {
	boot, _, err := a.interval(bootIdx, "7d")
	if err != nil {
		return nil, err
	}
	season, _, err := a.interval(seasonIdx, "1d")
	if err != nil {
		return nil, err
	}
	if boot < 0 || season <= 0 {
		return nil, inputErrorf("%s: bootstrapInterval and seasonality must be positive", a.call.Str)
	}
	prev, err := a.refetch(a.ctx.from-boot, a.ctx.until)
	if err != nil {
		return nil, err
	}
	var out []hwResult
	for _, s := range prev {
		s.materialize()
		pred, dev := hwAnalysis(s.Values, int(season/s.Step))
		wp := min(int(boot/s.Step), len(pred))
		t := s.tags()
		t.Set("holtWintersForecast", "1")
		t.Set("holtWintersDeviation", "1")
		out = append(out, hwResult{s: s, start: s.Start + boot, end: s.End, step: s.Step, forecast: pred[wp:], dev: dev[wp:]})
	}
	return out, nil
}

// hwBands is holtWintersConfidenceBands: lower then upper band per series.
func hwBands(a *args) ([]*Series, error) {
	delta, err := a.num(1, 3)
	if err != nil {
		return nil, err
	}
	rs, err := hwRun(a, 2, 3)
	if err != nil {
		return nil, err
	}
	var out []*Series
	for _, r := range rs {
		up := make([]float64, len(r.forecast))
		lo := make([]float64, len(r.forecast))
		for i := range r.forecast {
			f, d := r.forecast[i], null
			if i < len(r.dev) {
				d = r.dev[i]
			}
			if isNull(f) || isNull(d) {
				up[i], lo[i] = null, null
				continue
			}
			up[i], lo[i] = f+delta*d, f-delta*d
		}
		t := r.s.tags()
		t.Set("holtWintersConfidenceUpper", "1")
		t.Set("holtWintersConfidenceLower", "1")
		mk := func(name string, vals []float64) *Series {
			return &Series{Name: name + "(" + r.s.Name + ")", PathExpression: r.s.PathExpression, Start: r.start, End: r.end, Step: r.step, Values: vals,
				ConsolidationFunc: "average", ValuesPerPoint: 1, XFilesFactor: r.s.XFilesFactor, Tags: t}
		}
		out = append(out, mk("holtWintersConfidenceLower", lo), mk("holtWintersConfidenceUpper", up))
	}
	return out, nil
}

func init() {
	hwParams := func(delta bool) []param {
		p := []param{sl("seriesList")}
		if delta {
			p = append(p, param{name: "delta", typ: "integer", def: 3})
		}
		return append(p, param{name: "bootstrapInterval", typ: "interval", def: "7d"}, param{name: "seasonality", typ: "interval", def: "1d"})
	}
	register(&function{name: "holtWintersForecast", group: "Calculate", desc: "The Holt-Winters forecast of each series, learned over a bootstrap interval before the request.",
		params: hwParams(false),
		fn: func(a *args) ([]*Series, error) {
			rs, err := hwRun(a, 1, 2)
			if err != nil {
				return nil, err
			}
			var out []*Series
			for _, r := range rs {
				name := "holtWintersForecast(" + r.s.Name + ")"
				out = append(out, &Series{Name: name, PathExpression: name, Start: r.start, End: r.end, Step: r.step, Values: r.forecast,
					ConsolidationFunc: "average", ValuesPerPoint: 1, XFilesFactor: r.s.XFilesFactor, Tags: r.s.tags()})
			}
			return out, nil
		}})
	register(&function{name: "holtWintersConfidenceBands", group: "Calculate", desc: "The upper and lower Holt-Winters confidence bands, delta deviations from the forecast.",
		params: hwParams(true), fn: hwBands})
	register(&function{name: "holtWintersAberration", group: "Calculate", desc: "How far each value lies outside its Holt-Winters confidence bands.",
		params: hwParams(true),
		fn: func(a *args) ([]*Series, error) {
			list, err := a.seriesList(0)
			if err != nil {
				return nil, err
			}
			bands, err := hwBands(a)
			if err != nil {
				return nil, err
			}
			byName := map[string]*Series{}
			for _, b := range bands {
				byName[b.Name] = b
			}
			var out []*Series
			for _, s := range list {
				s.materialize()
				lo, up := byName["holtWintersConfidenceLower("+s.Name+")"], byName["holtWintersConfidenceUpper("+s.Name+")"]
				if lo == nil || up == nil {
					return nil, inputErrorf("holtWintersAberration: no confidence bands for %s", s.Name)
				}
				vals := make([]float64, len(s.Values))
				for i, v := range s.Values {
					u, l := null, null
					if i < len(up.Values) {
						u, l = up.Values[i], lo.Values[i]
					}
					switch {
					case isNull(v):
						vals[i] = 0
					case !isNull(u) && v > u:
						vals[i] = v - u
					case !isNull(l) && v < l:
						vals[i] = v - l
					}
				}
				s.tags().Set("holtWintersAberration", "1")
				name := "holtWintersAberration(" + s.Name + ")"
				out = append(out, &Series{Name: name, PathExpression: name, Start: s.Start, End: s.End, Step: s.Step, Values: vals,
					ConsolidationFunc: "average", ValuesPerPoint: 1, XFilesFactor: s.XFilesFactor, Tags: s.tags()})
			}
			return out, nil
		}})
	register(&function{name: "holtWintersConfidenceArea", group: "Calculate", desc: "The area between the Holt-Winters confidence bands.",
		params: hwParams(true),
		fn: func(a *args) ([]*Series, error) {
			bands, err := hwBands(a)
			if err != nil {
				return nil, err
			}
			if len(bands) != 2 {
				return nil, inputErrorf("holtWintersConfidenceArea: needs exactly one series (got %d bands)", len(bands))
			}
			lower, upper := bands[0], bands[1]
			lower.Stacked, lower.Invisible, upper.Stacked = true, true, true
			name := strings.Replace("areaBetween("+upper.PathExpression+")", "areaBetween", "holtWintersConfidenceArea", 1)
			lower.Tags = upper.tags()
			lower.Tags.Set("holtWintersConfidenceArea", "1")
			for _, b := range bands {
				b.Name, b.PathExpression = name, name
			}
			return bands, nil
		}})
}
