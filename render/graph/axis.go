package graph

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"statbox/render/pyfmt"
)

// unitPrefix is one prefix of a unit system, largest first.
type unitPrefix struct {
	name string
	size float64
}

// unitSystems are yUnitSystem's prefixes, as graphite-web names them.
var unitSystems = map[string][]unitPrefix{
	"binary": {{"Pi", 1 << 50}, {"Ti", 1 << 40}, {"Gi", 1 << 30}, {"Mi", 1 << 20}, {"Ki", 1 << 10}},
	"si":     {{"P", 1e15}, {"T", 1e12}, {"G", 1e9}, {"M", 1e6}, {"k", 1e3}},
	"sec":    {{"Y", 365 * 86400}, {"M", 30 * 86400}, {"D", 86400}, {"H", 3600}, {"m", 60}},
	"msec":   {{"Y", 365 * 86400e3}, {"M", 30 * 86400e3}, {"D", 86400e3}, {"H", 3600e3}, {"m", 60e3}, {"s", 1e3}},
	"none":   nil,
}

// formatUnits scales v by the largest prefix of system that both v and step
// reach, snapping values within 1e-11 above a whole number down to it.
func formatUnits(v, step float64, system string) (float64, string) {
	for _, u := range unitSystems[system] {
		if math.Abs(v) >= u.size && step >= u.size {
			v2 := v / u.size
			if v2-math.Floor(v2) < 1e-11 && v > 1 {
				v2 = math.Floor(v2)
			}
			return v2, u.name
		}
	}
	if v-math.Floor(v) < 1e-11 && v > 1 {
		v = math.Floor(v)
	}
	return v, ""
}

// errAxis is a y-axis graphite-web cannot draw either (the limits the user
// fixed contradict each other, a log scale over values at or below zero).
var errAxis = errors.New("graph: y-axis")

// epsilon is the slack graphite-web allows when comparing axis values with
// multiples of the step.
const epsilon = 0.0001

// axis chooses the ticks of one y-axis.
type axis struct {
	min, max             float64
	minSource, maxSource string  // "data", "min", "max", "limit", "extremum"
	limit                float64 // NaN: none
	unitSystem           string
	logBase              float64
	step, bottom, top    float64
	span                 float64
	values               []float64
	labels               []string
	lo, hi               float64 // the values' range, or bottom to top without values
}

// setRange fixes the range coord maps onto the drawing area: the labelled
// values' when there are any (graphite-web's getYCoord), else bottom to top.
func (a *axis) setRange() {
	a.lo, a.hi = a.bottom, a.top
	for i, x := range a.values {
		if i == 0 {
			a.lo, a.hi = x, x
		}
		a.lo, a.hi = math.Min(a.lo, x), math.Max(a.hi, x)
	}
}

func newAxis(min, max float64, unitSystem string, logBase float64) *axis {
	return &axis{min: min, max: max, minSource: "data", maxSource: "data", limit: math.NaN(), unitSystem: unitSystem, logBase: logBase}
}

func delta(x float64) float64 {
	if math.Abs(x) < 1e-9 {
		return 1
	}
	return 0.1 * math.Abs(x)
}

// apply fixes limits the user gave, then makes sure min < max.
func (a *axis) apply(yMin, yMax, yLimit *float64, maxIsMax bool) error {
	if yMin != nil {
		a.minSource, a.min = "min", *yMin
	}
	if maxIsMax {
		a.maxSource = "extremum"
	} else if yMax != nil {
		a.maxSource, a.max = "max", *yMax
	}
	for _, v := range []float64{a.min, a.max} {
		if !finite(v) {
			return fmt.Errorf("%w: limit %g is not finite", errAxis, v)
		}
	}
	if yLimit != nil && !math.IsInf(*yLimit, 1) {
		if *yLimit < a.max {
			if !finite(*yLimit) {
				return fmt.Errorf("%w: yLimit %g is not finite", errAxis, *yLimit)
			}
			a.max, a.maxSource = *yLimit, "limit"
		} else {
			a.limit = *yLimit
		}
	}
	if a.min < a.max {
		return nil
	}
	minFixed := a.minSource == "min"
	maxFixed := a.maxSource == "max" || a.maxSource == "limit"
	switch {
	case minFixed && maxFixed:
		return fmt.Errorf("%w: the %s (%g) must be less than the %s (%g)", errAxis, a.minSource, a.min, a.maxSource, a.max)
	case minFixed:
		a.max = a.min + delta(a.min)
	case maxFixed:
		a.min = a.max - delta(a.max)
	default:
		d := delta(math.Max(math.Abs(a.min), math.Abs(a.max)))
		avg := (a.min + a.max) / 2
		a.min, a.max = avg-d, avg+d
	}
	return nil
}

// chooseStep picks, among steps of 1, 2 or 5 times a power of ten (powers
// of two for binary units) and the given numbers of divisions, the step
// that leaves the least room outside [min, max].
func (a *axis) chooseStep(divisors []int, binary bool) {
	if len(divisors) == 0 {
		divisors = []int{4, 5, 6}
	}
	if a.min == a.max {
		switch {
		case a.min == 0:
			a.max = 1
		case a.min < 0:
			a.min *= 1.1
			a.max *= 0.9
		default:
			a.min *= 0.9
			a.max *= 1.1
		}
	}
	minDiv, maxDiv := divisors[0], divisors[0]
	for _, d := range divisors {
		minDiv, maxDiv = min(minDiv, d), max(maxDiv, d)
	}
	variance := a.max - a.min
	minStep := variance / float64(maxDiv)
	base, mantissas := 10.0, []float64{1, 2, 5}
	exp := math.Floor(math.Log10(minStep) - epsilon)
	if binary {
		base, mantissas = 2, []float64{1}
		exp = math.Floor(math.Log2(minStep) - epsilon)
	}
	bestSlop, bestStep := math.Inf(1), math.NaN()
	// The bound on the loop only matters for degenerate spans; a real one
	// ends within a few exponents.
	for i := 0; i < 200; i++ {
		mult := math.Pow(base, exp)
		done := false
		for _, m := range mantissas {
			step := m * mult
			if step < minStep*(1-epsilon) {
				continue
			}
			if !math.IsInf(bestSlop, 1) && step*float64(minDiv) >= 2*bestSlop+variance {
				done = true
				break
			}
			for _, d := range divisors {
				bottom := step * math.Floor(a.min/step+epsilon)
				top := bottom + step*float64(d)
				if top >= a.max-epsilon*step {
					if slop := math.Max(top-a.max, a.min-bottom); slop < bestSlop {
						bestSlop, bestStep = slop, step
					}
				}
			}
		}
		if done {
			break
		}
		exp++
	}
	if math.IsNaN(bestStep) || bestStep <= 0 {
		bestStep = variance / float64(maxDiv)
	}
	a.step = bestStep
}

// chooseLimits rounds the data's limits out to steps; limits the user
// fixed stay where they are.
func (a *axis) chooseLimits() error {
	if a.logBase > 0 {
		if a.min <= 0 {
			return fmt.Errorf("%w: logarithmic scale with a minimum value (%g) at or below zero", errAxis, a.min)
		}
		a.bottom = math.Pow(a.logBase, math.Floor(math.Log(a.min)/math.Log(a.logBase)))
		a.top = math.Pow(a.logBase, math.Ceil(math.Log(a.max)/math.Log(a.logBase)))
		a.span = a.top - a.bottom
		if a.span == 0 {
			a.top *= a.logBase
			a.span = a.top - a.bottom
		}
		return nil
	}
	if a.minSource == "data" {
		a.bottom = a.step * math.Floor(a.min/a.step+epsilon)
	} else {
		a.bottom = a.min
	}
	if a.maxSource == "data" {
		a.top = a.step * math.Ceil(a.max/a.step-epsilon)
		if !math.IsNaN(a.limit) && a.top > a.limit+epsilon*a.step {
			a.top = a.limit
		}
	} else {
		a.top = a.max
	}
	a.span = a.top - a.bottom
	if a.span == 0 {
		a.top++
		a.span++
	}
	return nil
}

// maxTicks bounds the labels of one axis: a yStep far below the span would
// otherwise ask for millions.
const maxTicks = 1000

// labelValues lists the values that get a label and a major grid line.
func (a *axis) labelValues() error {
	a.values = a.values[:0]
	if a.logBase > 0 {
		v := math.Pow(a.logBase, math.Ceil(math.Log(a.bottom)/math.Log(a.logBase)-epsilon))
		for v < a.top*(1+epsilon) && len(a.values) < maxTicks {
			a.values = append(a.values, v)
			v *= a.logBase
		}
		return nil
	}
	if !(a.step > 0) || !finite(a.step) {
		return fmt.Errorf("%w: the step size must be positive", errAxis)
	}
	if a.span > maxTicks*a.step {
		// as graphite-web does: a step this small is a mistake, choose one
		a.min, a.max = a.bottom, a.top
		a.chooseStep(nil, false)
	}
	start := a.step * math.Ceil(a.bottom/a.step-epsilon)
	for i := 0; i <= maxTicks; i++ {
		v := start + float64(i)*a.step
		if v > a.top+epsilon*a.step {
			break
		}
		a.values = append(a.values, v)
	}
	return nil
}

// makeLabels writes each label value with its unit prefix, with as many
// decimals as the axis's span needs.
func (a *axis) makeLabels() {
	a.labels = a.labels[:0]
	step := a.step
	if a.logBase > 0 {
		// graphite-web's log axis has no step, and format_units then
		// ignores it
		step = math.Inf(1)
	}
	for _, v := range a.values {
		a.labels = append(a.labels, makeLabel(v, step, a.span, a.unitSystem))
	}
}

func makeLabel(value, step, span float64, system string) string {
	v, prefix := formatUnits(value, step, system)
	sp, spanPrefix := formatUnits(span, step, system)
	if prefix != "" {
		prefix += " "
	}
	var b []byte
	switch {
	case v < 0.1:
		b = pyfmt.AppendFormatG(b, v, 0, 6)
	case v < 1:
		b = strconv.AppendFloat(b, v, 'f', 2, 64)
	case sp > 10 || prefix != "" || spanPrefix != "":
		// graphite-web compares the span's bare prefix with the value's
		// prefix plus a space, so any prefix lands here; its label values
		// are always floats, so this is one decimal, never %d.
		b = strconv.AppendFloat(b, v, 'f', 1, 64)
	case sp > 3:
		b = strconv.AppendFloat(b, v, 'f', 1, 64)
	case sp > 0.1:
		b = strconv.AppendFloat(b, v, 'f', 2, 64)
	default:
		b = pyfmt.AppendFormatG(b, v, 0, 6)
	}
	b = append(b, ' ')
	return string(append(b, prefix...))
}

// coord maps a value to a y pixel between top and bottom (pixel rows);
// ok is false where a log scale has no place for it.
func (a *axis) coord(v, ymin, ymax float64) (float64, bool) {
	lo, hi := a.lo, a.hi
	rel, rng := v-lo, hi-lo
	if a.logBase > 0 {
		if v <= 0 {
			return 0, false
		}
		lb := math.Log(a.logBase)
		rel = math.Log(v)/lb - math.Log(lo)/lb
		rng = math.Log(hi)/lb - math.Log(lo)/lb
	}
	if rng == 0 {
		rng = 1
	}
	return ymax - (ymax-ymin)/rng*rel, true
}

// xAxisConfig is one choice of time-axis grid and labels, taken when a
// pixel holds at least seconds seconds and the span is at most maxInterval.
type xAxisConfig struct {
	seconds              float64
	minorUnit, minorStep float64
	majorUnit, majorStep float64
	labelUnit, labelStep float64
	format               string
	maxInterval          int64 // 0: no limit
}

const (
	sec  = 1
	min_ = 60
	hour = 3600
	day  = 86400
)

// xAxisConfigs are graphite-web's, with its DATE_FORMAT "%m/%d".
var xAxisConfigs = []xAxisConfig{
	{0, sec, 5, min_, 1, sec, 5, "%H:%M:%S", 10 * min_},
	{0.07, sec, 10, min_, 1, sec, 10, "%H:%M:%S", 20 * min_},
	{0.14, sec, 15, min_, 1, sec, 15, "%H:%M:%S", 30 * min_},
	{0.27, sec, 30, min_, 2, min_, 1, "%H:%M", 2 * hour},
	{0.5, min_, 1, min_, 2, min_, 1, "%H:%M", 2 * hour},
	{1.2, min_, 1, min_, 4, min_, 2, "%H:%M", 3 * hour},
	{2, min_, 1, min_, 10, min_, 5, "%H:%M", 6 * hour},
	{5, min_, 2, min_, 10, min_, 10, "%H:%M", 12 * hour},
	{10, min_, 5, min_, 20, min_, 20, "%H:%M", 1 * day},
	{30, min_, 10, hour, 1, hour, 1, "%H:%M", 2 * day},
	{60, min_, 30, hour, 2, hour, 2, "%H:%M", 2 * day},
	{100, hour, 2, hour, 4, hour, 4, "%a %H:%M", 6 * day},
	{255, hour, 6, hour, 12, hour, 12, "%m/%d %H:%M", 10 * day},
	{600, hour, 6, day, 1, day, 1, "%m/%d", 14 * day},
	{1000, hour, 12, day, 1, day, 1, "%m/%d", 365 * day},
	{2000, day, 1, day, 2, day, 2, "%m/%d", 365 * day},
	{4000, day, 2, day, 4, day, 4, "%m/%d", 365 * day},
	{8000, day, 3.5, day, 7, day, 7, "%m/%d", 365 * day},
	{16000, day, 7, day, 14, day, 14, "%m/%d", 365 * day},
	{32000, day, 15, day, 30, day, 30, "%m/%d", 365 * day},
	{64000, day, 30, day, 60, day, 60, "%m/%d %Y", 0},
	{100000, day, 60, day, 120, day, 120, "%m/%d %Y", 0},
	{120000, day, 120, day, 240, day, 240, "%m/%d %Y", 0},
}

// chooseXAxis takes the last configuration fine enough for secondsPerPixel
// whose maxInterval covers the span.
func chooseXAxis(secondsPerPixel float64, span int64) xAxisConfig {
	best := xAxisConfigs[len(xAxisConfigs)-1]
	for _, c := range xAxisConfigs {
		if c.seconds <= secondsPerPixel && (c.maxInterval == 0 || c.maxInterval >= span) {
			best = c
		}
	}
	return best
}

// firstTick returns the first time at or after start that is a multiple of
// step units in start's wall clock, and the distance between ticks. Like
// graphite-web (pytz without normalising) it keeps start's UTC offset across
// a daylight-saving change.
func firstTick(start time.Time, unit, step float64) (time.Time, time.Duration) {
	d := time.Duration(unit * step * float64(time.Second))
	y, mo, dd := start.Date()
	h, mi, s := start.Clock()
	loc := start.Location()
	istep := int(step)
	if istep < 1 {
		istep = 1
	}
	var t time.Time
	switch unit {
	case sec:
		t = time.Date(y, mo, dd, h, mi, s-s%istep, 0, loc)
	case min_:
		t = time.Date(y, mo, dd, h, mi-mi%istep, 0, 0, loc)
	case hour:
		t = time.Date(y, mo, dd, h-h%istep, 0, 0, 0, loc)
	default:
		t = time.Date(y, mo, dd, 0, 0, 0, 0, loc)
	}
	if d <= 0 {
		d = time.Second
	}
	// t is less than a day before start; the bound only guards against
	// calendar arithmetic at the edges of time.Time's range
	for i := 0; t.Before(start) && i < 1_000_000; i++ {
		t = t.Add(d)
	}
	return t, d
}
