package graph

import (
	"fmt"
	"image/color"
	"math"
	"strings"
	"time"
)

// drawSeries is a Series as the graph draws it: consolidated to the pixels
// it gets, stacked, coloured.
type drawSeries struct {
	*Series
	vals            []float64 // consolidated (and stacked) values
	color           color.NRGBA
	colorName       string
	lineWidth, dash float64
	alpha           float64 // 0: opaque
	stacked         bool    // filled, under graphite-web's "stacked" option
	right, infinite bool
	xStep           float64
	perPoint        int // values consolidated into one drawn point
}

// rect is the drawing area, as graphite-web's self.area.
type rect struct{ xmin, xmax, ymin, ymax float64 }

// lineGraph lays out and draws one graph, following graphite-web's
// LineGraph step by step so that the same request puts things in the same
// places.
type lineGraph struct {
	c                  canvas
	p                  *Params
	data               []*drawSeries
	left, right        []*drawSeries
	width, height      float64
	margin             float64
	area               rect
	bg, fg             color.NRGBA
	major, minor       color.NRGBA
	font               *face
	lineWidth          float64
	lineMode, areaMode string
	secondY            bool
	ax, axL, axR       *axis // ax for one axis; axL and axR for two
	labelW             float64
	labelWL, labelWR   float64
	startTime, endTime int64
	timeRange          int64
	graphWidth         float64
	loc                *time.Location
	segs               []float64
}

func newLineGraph(c canvas, series []Series, p *Params) (*lineGraph, error) {
	if err := p.check(); err != nil {
		return nil, fmt.Errorf("graph: %w", err)
	}
	g := &lineGraph{c: c, p: p, width: float64(p.Width), height: float64(p.Height), margin: float64(max(p.Margin, 0))}
	g.area = rect{g.margin + 10, g.width - g.margin, g.margin, g.height - g.margin}
	tpl, ok := templates[p.Template]
	if !ok {
		tpl = templates["default"]
	}
	var err error
	pick := func(v, def string) string {
		if v != "" {
			return v
		}
		return def
	}
	for _, x := range []struct {
		dst *color.NRGBA
		s   string
	}{
		{&g.bg, pick(p.BgColor, tpl.background)}, {&g.fg, pick(p.FgColor, tpl.foreground)},
		{&g.major, pick(p.MajorGridLineColor, tpl.majorLine)}, {&g.minor, pick(p.MinorGridLineColor, tpl.minorLine)},
	} {
		if *x.dst, err = parseColor(x.s); err != nil {
			return nil, err
		}
	}
	size := p.FontSize
	if size <= 0 {
		size = 10
	}
	// graphite-web truncates the font size to an integer
	size = math.Max(1, math.Trunc(size))
	if g.font, err = newFace(size, p.FontBold, p.FontItalic); err != nil {
		return nil, fmt.Errorf("graph: font: %w", err)
	}
	g.loc = p.TZ
	if g.loc == nil {
		g.loc = time.UTC
	}

	colors := p.ColorList
	if len(colors) == 0 {
		colors = tpl.lineColors
	}
	next := 0
	for i := range series {
		s := &series[i]
		if s.Step <= 0 {
			return nil, fmt.Errorf("graph: series %q: step %d must be positive", s.Name, s.Step)
		}
		d := &drawSeries{Series: s, lineWidth: s.LineWidth, dash: s.Dashed, alpha: s.Alpha,
			stacked: s.Stacked, right: s.SecondYAxis, infinite: s.DrawAsInfinite, perPoint: 1}
		if d.alpha < 0 || d.alpha > 1 || math.IsNaN(d.alpha) {
			d.alpha = 0
		}
		g.data = append(g.data, d)
		if d.right {
			g.right = append(g.right, d)
		} else {
			g.left = append(g.left, d)
		}
	}
	g.secondY = len(g.right) > 0
	for _, d := range g.data {
		cs := d.Color
		if g.secondY {
			side, width, dash := p.LeftColor, p.LeftWidth, p.LeftDashed
			if d.right {
				side, width, dash = p.RightColor, p.RightWidth, p.RightDashed
			}
			if side != "" {
				cs = side
			}
			if width > 0 {
				d.lineWidth = width
			}
			if dash > 0 {
				d.dash = dash
			}
		}
		if cs == "" {
			cs = unquotePlus(colors[next%len(colors)])
			next++
		}
		if d.color, err = parseColor(cs); err != nil {
			return nil, err
		}
		d.colorName = cs
	}
	return g, nil
}

// end is a series' end as its values say, whatever End claims.
func (d *drawSeries) end() int64 { return d.Start + int64(len(d.Values))*d.Step }

func (g *lineGraph) draw() error {
	p := g.p
	g.c.fillRect(0, 0, g.width, g.height, g.bg)

	var timeRange int64
	if len(g.data) > 0 {
		start, end := g.data[0].Start, g.data[0].end()
		for _, d := range g.data {
			start, end = min(start, d.Start), max(end, d.end())
		}
		timeRange = end - start
	}
	if timeRange <= 0 {
		// graphite-web's answer to nothing to draw
		f, err := newFace(math.Log(g.width*g.height), false, false)
		if err != nil {
			return err
		}
		red, _ := parseColor("red")
		s := "No Data"
		g.c.text(s, g.width/2-f.width(s)/2, g.height/2+f.ascent, f, red, 0)
		return nil
	}

	hideLegend, hideGrid, hideAxes := p.HideLegend, p.HideGrid, p.HideAxes
	hideXAxis, hideYAxis := p.HideXAxis, p.HideYAxis
	yAxisSide, title, vtitle := strings.ToLower(p.YAxisSide), p.Title, p.VTitle
	if !p.LegendSet && !p.HideLegend {
		hideLegend = len(g.data) > LegendMaxItems
	}
	// graphite-web unquotes titles and names once more after the query
	// string was decoded: "+" is a space there, "%2B" a plus.
	title, vtitle = unquotePlus(title), unquotePlus(vtitle)
	vtitleRight := unquotePlus(p.VTitleRight)
	if p.GraphOnly {
		hideLegend, hideGrid, hideAxes = true, true, true
		hideXAxis, hideYAxis = false, false
		yAxisSide, title, vtitle = "left", "", ""
		g.margin = 0
		g.area = rect{0, g.width, 0, g.height}
	}
	if g.secondY || yAxisSide != "right" {
		yAxisSide = "left"
	}

	g.lineWidth = p.LineWidth
	if g.lineWidth <= 0 {
		g.lineWidth = 1.2
	}
	g.lineMode = strings.ToLower(p.LineMode)
	if g.lineMode == "" {
		g.lineMode = "slope"
	}
	g.areaMode = strings.ToLower(p.AreaMode)
	if g.areaMode == "" {
		g.areaMode = "none"
	}
	if g.lineMode == "slope" {
		// a slope needs two points: graphite-web draws steps instead
		for _, d := range g.data {
			if len(d.Values) == 1 {
				g.lineMode = "staircase"
				break
			}
		}
	}

	titleSize := g.font.size + math.Floor(math.Log(g.font.size))
	tf, err := newFace(titleSize, p.FontBold, p.FontItalic)
	if err != nil {
		return err
	}
	if title != "" {
		g.c.group("title")
		y := g.area.ymin
		for _, line := range strings.Split(title, "\n") {
			g.drawText(line, g.width/2, y, tf, "center", "top", 0)
			y += tf.height
		}
		g.area.ymin = y + g.margin
		if yAxisSide == "right" {
			g.area.ymin = y
		}
	}
	if vtitle != "" {
		g.c.group("vtitle")
		x := g.area.xmin + tf.height
		for _, line := range strings.Split(vtitle, "\n") {
			g.drawText(line, x, g.height/2, tf, "center", "baseline", 270)
			x += tf.height
		}
		g.area.xmin = x + g.margin + tf.height
	}
	if g.secondY && vtitleRight != "" {
		g.c.group("vtitleRight")
		x := g.area.xmax - tf.height
		for _, line := range strings.Split(vtitleRight, "\n") {
			g.drawText(line, x, g.height/2, tf, "center", "baseline", 90)
			x -= tf.height
		}
		g.area.xmax = x - g.margin - tf.height
	}

	if !hideLegend {
		g.legend()
	}
	if !hideAxes && !hideXAxis {
		g.area.ymax -= g.font.ascent * 2
	}

	g.startTime, g.endTime = g.data[0].Start, int64(math.MinInt64)
	for _, d := range g.data {
		g.startTime = min(g.startTime, d.Start)
		if g.lineMode == "staircase" {
			g.endTime = max(g.endTime, d.end())
		} else {
			g.endTime = max(g.endTime, d.end()-d.Step)
		}
	}
	g.timeRange = g.endTime - g.startTime
	if g.timeRange <= 0 {
		g.timeRange = 1
	}

	// Labels on the y-axis take room from the drawing area, which changes
	// how points are consolidated, which can change the labels: repeat
	// until the area holds still, as graphite-web does.
	g.consolidate()
	for i := 0; i < 10; i++ {
		xmin, xmax := g.area.xmin, g.area.xmax
		if err := g.setupYAxes(hideAxes, hideYAxis, yAxisSide); err != nil {
			return err
		}
		if xmin == g.area.xmin && xmax == g.area.xmax {
			break
		}
		g.consolidate()
	}
	if g.area.xmax-g.area.xmin < 1 || g.area.ymax-g.area.ymin < 1 {
		// too small for anything but the background and what fitted
		return nil
	}

	secondsPerPixel := float64(g.timeRange) / g.graphWidth
	xScale := g.graphWidth / float64(g.timeRange)
	xc := chooseXAxis(secondsPerPixel, g.timeRange)
	start := time.Unix(g.startTime, 0).In(g.loc)
	// keep the start's offset for the whole axis, as graphite-web's pytz
	// arithmetic does
	_, off := start.Zone()
	start = start.In(time.FixedZone(start.Format("MST"), off))
	end := time.Unix(g.endTime, 0).In(start.Location())

	if !hideAxes {
		g.c.group("axes")
		g.yLabels(hideYAxis, yAxisSide)
		if !hideXAxis {
			format := xc.format
			if p.XFormat != "" {
				format = p.XFormat
			}
			t, d := firstTick(start, xc.labelUnit, xc.labelStep)
			for n := 0; t.Before(end) && n < 1000; n++ {
				x := g.area.xmin + t.Sub(start).Seconds()*xScale
				g.drawText(strftime(format, t), x, g.area.ymax+g.font.ascent, g.font, "center", "top", 0)
				t = t.Add(d)
			}
		}
		if !hideGrid {
			g.c.group("grid")
			g.grid(start, end, xc, xScale)
		}
	}
	g.c.group("lines")
	g.lines()
	return nil
}

// drawText places s as graphite-web's drawText does: x,y is the point the
// alignment refers to, before turning by angle degrees clockwise.
func (g *lineGraph) drawText(s string, x, y float64, f *face, align, valign string, angle int) {
	var h, v float64
	switch align {
	case "center":
		h = f.width(s) / 2
	case "right":
		h = f.width(s)
	}
	switch valign {
	case "top":
		v = f.ascent
	case "middle":
		v = f.height/2 - f.descent
	case "bottom":
		v = -f.descent
	}
	a := float64(angle) * math.Pi / 180
	sin, cos := math.Sin(a), math.Cos(a)
	x += -sin*v - h*cos
	y += cos*v - h*sin
	g.c.text(s, x, y, f, g.fg, angle)
}

// legend draws the names below the graph in as many columns as fit and
// takes their height from the drawing area.
func (g *lineGraph) legend() {
	type elem struct {
		name  string
		color color.NRGBA
		right bool
	}
	var elems []elem
	seen := map[string]bool{}
	for _, d := range g.data {
		if d.Name == "" {
			continue
		}
		name := unquotePlus(d.Name)
		if g.p.HideNullFromLegend && allNull(d.Values) {
			continue
		}
		if g.p.UniqueLegend {
			if seen[name] {
				continue
			}
			seen[name] = true
		}
		elems = append(elems, elem{name, d.color, d.right})
	}
	if len(elems) == 0 {
		return
	}
	g.c.group("legend")
	longest := elems[0].name
	for _, e := range elems {
		// graphite-web sorts by length and keeps the last of the longest
		if len(e.name) >= len(longest) {
			longest = e.name
		}
	}
	const padding = 5.0
	f := g.font
	boxSize := f.height - 1
	lineHeight := f.height + 1
	labelWidth := f.width(longest) + 2*(boxSize+padding)
	border, _ := parseColor("darkgrey")
	box := func(x, y float64, c color.NRGBA) {
		g.c.fillRect(x, y, boxSize, boxSize, c)
		// graphite-web strokes the border inset by half its width
		g.c.strokeRect(x+0.5, y+0.5, boxSize-0.5, boxSize-0.5, 1, border)
	}
	twoColumns := f.width(longest+" "+longest)+2*(boxSize+padding)+50 < g.width
	if g.secondY && twoColumns {
		columns := math.Max(1, math.Floor((g.width-g.area.xmin)/labelWidth))
		nRight := 0
		for _, e := range elems {
			if e.right {
				nRight++
			}
		}
		lines := max(len(elems)-nRight, nRight)
		columns = math.Max(1, math.Floor(columns/2))
		g.area.ymax -= math.Max(1, float64(lines)/columns)*lineHeight + padding
		x, y := g.area.xmin, g.area.ymax+2*padding
		xr0 := g.area.xmax - g.area.xmin
		xr, yr := xr0, y
		n, nr := 0, 0
		for _, e := range elems {
			if e.right {
				nr++
				box(xr-padding, yr, e.color)
				g.drawText(e.name, xr-boxSize, yr, f, "right", "top", 0)
				xr -= labelWidth
				if math.Mod(float64(nr), columns) == 0 {
					xr, yr = xr0, yr+lineHeight
				}
			} else {
				n++
				box(x, y, e.color)
				g.drawText(e.name, x+boxSize+padding, y, f, "left", "top", 0)
				x += labelWidth
				if math.Mod(float64(n), columns) == 0 {
					x, y = g.area.xmin, y+lineHeight
				}
			}
		}
		return
	}
	columns := math.Max(1, math.Floor(g.width/labelWidth))
	lines := math.Ceil(float64(len(elems)) / columns)
	g.area.ymax -= lines*lineHeight + padding
	x, y := g.area.xmin, g.area.ymax+2*padding
	for i, e := range elems {
		if e.right {
			box(x+labelWidth+padding, y, e.color)
			g.drawText(e.name, x+labelWidth, y, f, "right", "top", 0)
		} else {
			box(x, y, e.color)
			g.drawText(e.name, x+boxSize+padding, y, f, "left", "top", 0)
		}
		x += labelWidth
		if math.Mod(float64(i+1), columns) == 0 {
			x, y = g.area.xmin, y+lineHeight
		}
	}
}

func allNull(vs []float64) bool {
	for _, v := range vs {
		if !math.IsNaN(v) {
			return false
		}
	}
	return true
}

// consolidate squeezes each series to at most one point per minXStep
// pixels with its consolidation function, as graphite-web does before
// drawing.
func (g *lineGraph) consolidate() {
	pixels := g.area.xmax - g.area.xmin - (g.lineWidth + 1)
	if pixels < 1 {
		pixels = 1
	}
	g.graphWidth = pixels
	minXStep := g.p.MinXStep
	if !(minXStep > 0) {
		minXStep = 1
	}
	for _, d := range g.data {
		points := float64(g.timeRange) / float64(d.Step)
		best := pixels / points
		per := 1
		if best < minXStep {
			drawable := math.Max(1, math.Floor(pixels/minXStep))
			per = int(math.Ceil(points / drawable))
			d.xStep = pixels * float64(per) / points
		} else {
			d.xStep = best
		}
		if per < 1 {
			per = 1
		}
		if per != d.perPoint || d.vals == nil {
			d.perPoint = per
			d.vals = consolidate(d.vals[:0], d.Values, per, d.Consolidate)
		}
	}
}

// consolidate appends vals consolidated per values to a point with fn;
// nulls are left out and a run of nulls stays null.
func consolidate(dst, vals []float64, per int, fn string) []float64 {
	if per <= 1 {
		return append(dst, vals...)
	}
	if fn == "" || fn == "average" || fn == "avg" {
		// the common case, without the general loop's switches
		for i := 0; i < len(vals); i += per {
			n, sum := 0, 0.0
			for _, v := range vals[i:min(i+per, len(vals))] {
				if v == v { // not NaN
					sum += v
					n++
				}
			}
			if n == 0 {
				dst = append(dst, math.NaN())
			} else {
				dst = append(dst, sum/float64(n))
			}
		}
		return dst
	}
	for i := 0; i < len(vals); i += per {
		chunk := vals[i:min(i+per, len(vals))]
		n := 0
		var acc, first, last float64
		for _, v := range chunk {
			if math.IsNaN(v) {
				if fn == "avg_zero" {
					n++
				}
				continue
			}
			if n == 0 || (fn == "avg_zero" && first == 0 && acc == 0) {
				first = v
			}
			switch fn {
			case "max":
				if n == 0 || v > acc {
					acc = v
				}
			case "min":
				if n == 0 || v < acc {
					acc = v
				}
			default:
				acc += v
			}
			last = v
			n++
		}
		switch {
		case n == 0:
			dst = append(dst, math.NaN())
		case fn == "sum", fn == "max", fn == "min":
			dst = append(dst, acc)
		case fn == "first":
			dst = append(dst, first)
		case fn == "last":
			dst = append(dst, last)
		default: // average, avg, avg_zero
			dst = append(dst, acc/float64(n))
		}
	}
	return dst
}

// dataLimits is the range of the finite values of the series that are not
// drawn as infinite; stacked sums columns. No values give 0 to 1.
func (g *lineGraph) dataLimits(data []*drawSeries) (lo, hi float64) {
	missing := false
	lo, hi = math.Inf(1), math.Inf(-1)
	length := math.MaxInt
	n := 0
	for _, d := range data {
		for _, v := range d.vals {
			if math.IsNaN(v) {
				missing = true
			}
		}
		if d.infinite {
			continue
		}
		n++
		length = min(length, len(d.vals))
		for _, v := range d.vals {
			if finite(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if math.IsInf(lo, 1) {
		return 0, 1
	}
	// Keep the span finite: values near ±MaxFloat64 would overflow it.
	const big = math.MaxFloat64 / 8
	lo, hi = math.Max(lo, -big), math.Min(hi, big)
	if lo > 0 && g.p.DrawNullAsZero && missing {
		lo = 0
	}
	if g.areaMode == "stacked" && n > 0 {
		hi = math.Inf(-1)
		for i := 0; i < length; i++ {
			sum := 0.0
			for _, d := range data {
				if v := d.vals[i]; !d.infinite && finite(v) {
					sum += v
				}
			}
			hi = math.Max(hi, sum)
		}
	}
	if hi < 0 && g.p.DrawNullAsZero && missing {
		hi = 0
	}
	hi = math.Min(hi, big)
	return lo, hi
}

func (g *lineGraph) setupAxis(data []*drawSeries, yMin, yMax, yLimit, yStep *float64, maxIsMax bool) (*axis, error) {
	lo, hi := g.dataLimits(data)
	a := newAxis(lo, hi, g.p.YUnitSystem, g.p.LogBase)
	if a.unitSystem == "" {
		a.unitSystem = "si"
	}
	if _, ok := unitSystems[a.unitSystem]; !ok {
		a.unitSystem = "si"
	}
	if err := a.apply(yMin, yMax, yLimit, maxIsMax); err != nil {
		return nil, err
	}
	if yStep != nil && *yStep > 0 && finite(*yStep) {
		a.step = *yStep
	} else {
		a.chooseStep(g.p.YDivisors, a.unitSystem == "binary")
	}
	if err := a.chooseLimits(); err != nil {
		return nil, err
	}
	if err := a.labelValues(); err != nil {
		return nil, err
	}
	a.makeLabels()
	a.setRange()
	return a, nil
}

func (g *lineGraph) maxLabelWidth(a *axis) float64 {
	w := 0.0
	for _, l := range a.labels {
		w = math.Max(w, g.font.width(l))
	}
	return w
}

func (g *lineGraph) setupYAxes(hideAxes, hideYAxis bool, side string) error {
	p := g.p
	var err error
	if !g.secondY {
		if g.ax, err = g.setupAxis(g.data, p.YMin, p.YMax, p.YLimit, p.YStep, p.YMaxIsMax); err != nil {
			return err
		}
		if hideAxes {
			g.ax.values, g.ax.labels, g.labelW = nil, nil, 0
			g.ax.setRange()
			return nil
		}
		g.labelW = g.maxLabelWidth(g.ax)
		if !hideYAxis {
			if side == "left" {
				g.area.xmin = math.Max(g.area.xmin, g.margin+g.labelW*1.02)
			} else {
				g.area.xmax = math.Min(g.area.xmax, g.width-g.labelW*1.02)
			}
		}
		return nil
	}
	if g.axL, err = g.setupAxis(g.left, p.YMinLeft, p.YMaxLeft, p.YLimitLeft, p.YStepLeft, false); err != nil {
		return err
	}
	if g.axR, err = g.setupAxis(g.right, p.YMinRight, p.YMaxRight, p.YLimitRight, p.YStepRight, false); err != nil {
		return err
	}
	g.labelWL, g.labelWR = g.maxLabelWidth(g.axL), g.maxLabelWidth(g.axR)
	g.area.xmin = math.Max(g.area.xmin, g.margin+g.labelWL*1.02)
	g.area.xmax = math.Min(g.area.xmax, g.width-g.labelWR*1.02)
	return nil
}

// yCoord is the pixel row of v on the axis of series d (nil: the left or
// only axis); ok is false where a log scale has no row for it.
func (g *lineGraph) yCoord(v float64, right bool) (float64, bool) {
	a := g.ax
	if g.secondY {
		a = g.axL
		if right {
			a = g.axR
		}
	}
	return a.coord(v, g.area.ymin, g.area.ymax)
}

func (g *lineGraph) yLabels(hideYAxis bool, side string) {
	if hideYAxis {
		return
	}
	draw := func(a *axis, x float64, align string, right bool) {
		for i, v := range a.values {
			y, ok := g.yCoord(v, right)
			if !ok {
				continue
			}
			g.drawText(a.labels[i], x, math.Max(y, 0), g.font, align, "middle", 0)
		}
	}
	switch {
	case g.secondY:
		draw(g.axL, g.area.xmin-g.labelWL*0.02, "right", false)
		draw(g.axR, g.area.xmax+g.labelWR*0.02+3, "left", true)
	case side == "left":
		draw(g.ax, g.area.xmin-g.labelW*0.02, "right", false)
	default:
		draw(g.ax, g.area.xmax+g.labelW*0.02, "left", false)
	}
}

func (g *lineGraph) grid(start, end time.Time, xc xAxisConfig, xScale float64) {
	a := g.ax
	if g.secondY {
		a = g.axL
	}
	left, right := g.area.xmin, g.area.xmax
	major, minor := g.segs[:0], []float64(nil)
	minorY := g.p.MinorY
	yTop := a.top
	if a.logBase > 0 {
		yTop *= a.logBase * a.logBase
	}
	for i, v := range a.values {
		y, ok := g.yCoord(v, false)
		if !ok || y < 0 {
			continue
		}
		major = append(major, left, y, right, y)
		if minorY >= 1 && i < len(a.values)-1 {
			lo, hi := v, a.values[i+1]
			if lo > hi {
				lo, hi = hi, lo
			}
			dist := (hi - lo) / float64(1+minorY)
			for k := 0; k < minorY; k++ {
				mv := lo + float64(1+k)*dist
				if mv >= yTop {
					continue
				}
				if y, ok := g.yCoord(mv, false); ok && y >= 0 {
					minor = append(minor, left, y, right, y)
				}
			}
		}
	}
	g.c.lines(major, 0.4, g.major)
	g.c.lines(minor, 0.3, g.minor)

	top, bottom := g.area.ymin, g.area.ymax
	vertical := func(unit, step float64) []float64 {
		var segs []float64
		t, d := firstTick(start, unit, step)
		for n := 0; t.Before(end) && n < 10000; n++ {
			x := g.area.xmin + t.Sub(start).Seconds()*xScale
			if x < g.area.xmax {
				segs = append(segs, x, bottom, x, top)
			}
			t = t.Add(d)
		}
		return segs
	}
	g.c.lines(vertical(xc.minorUnit, xc.minorStep), 0.25, g.minor)
	g.c.lines(vertical(xc.majorUnit, xc.majorStep), 0.33, g.major)
	g.c.lines([]float64{g.area.xmax, bottom, g.area.xmax, top, g.area.xmin, bottom, g.area.xmin, top}, 0.5, g.major)
	g.segs = major
}

// unquotePlus decodes as Python's urllib.parse.unquote_plus: "+" is a space
// and %XX a byte, and a "%" without two hex digits stays as it is.
func unquotePlus(s string) string {
	if !strings.ContainsAny(s, "+%") {
		return s
	}
	unhex := func(c byte) (byte, bool) {
		switch {
		case '0' <= c && c <= '9':
			return c - '0', true
		case 'a' <= c && c <= 'f':
			return c - 'a' + 10, true
		case 'A' <= c && c <= 'F':
			return c - 'A' + 10, true
		}
		return 0, false
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s):
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				b = append(b, hi<<4|lo)
				i += 2
			} else {
				b = append(b, c)
			}
		default:
			b = append(b, c)
		}
	}
	return string(b)
}
