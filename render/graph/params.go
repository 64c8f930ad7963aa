package graph

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	// Time zones by name (tz=) must work on the appliance, whose image
	// carries no /usr/share/zoneinfo.
	_ "time/tzdata"
)

// Params are a graph's parameters, named after graphite-web's render API
// parameters. Start from DefaultParams or ParseParams: in a zero Params the
// margin, minor grid lines and template colours are off.
type Params struct {
	// From and Until are the request's time range (unix seconds). Like
	// graphite-web, Render lays the time axis out from the series' own
	// start and end, which the fetch has already bounded by them.
	From, Until int64
	// Width and Height in pixels (330×250 by default).
	Width, Height int
	// Margin around the drawing, in pixels (10).
	Margin int

	// Title, VTitle and VTitleRight may hold several lines. Like
	// graphite-web, Render unquotes them (and legend names and ColorList)
	// once more: "+" becomes a space and %XX a byte.
	Title, VTitle, VTitleRight string

	// YMin, YMax, YLimit and YStep fix the left (or only) y-axis; nil lets
	// the data choose. YMaxIsMax is yMax=max: the top is the data's maximum,
	// not rounded up to a step.
	YMin, YMax, YLimit, YStep *float64
	YMaxIsMax                 bool
	// The same per side for graphs with a second y-axis.
	YMinLeft, YMinRight, YMaxLeft, YMaxRight       *float64
	YLimitLeft, YLimitRight, YStepLeft, YStepRight *float64
	// YDivisors are the numbers of steps tried between bottom and top
	// (4, 5, 6 when empty).
	YDivisors []int
	// YUnitSystem is "si" (default), "binary", "sec", "msec" or "none".
	YUnitSystem string
	// YAxisSide is "left" (default) or "right".
	YAxisSide string
	// LogBase draws a logarithmic y-axis; 0 is linear.
	LogBase float64
	// MinorY is the number of minor grid lines between major ones (1).
	MinorY int

	// AreaMode is "none" (default), "first", "all" or "stacked".
	AreaMode string
	// AreaAlpha makes filled areas translucent and strokes their lines.
	AreaAlpha *float64
	// LineMode is "slope" (default), "staircase" or "connected".
	LineMode string
	// ConnectedLimit is the longest run of nulls lineMode=connected bridges;
	// 0 is no limit.
	ConnectedLimit int
	// LineWidth is the default line width in pixels (1.2).
	LineWidth float64
	// MinXStep is the fewest pixels between drawn points (1); more points
	// than that are consolidated.
	MinXStep float64

	// ColorList is the cycle of line colours; BgColor, FgColor and the grid
	// line colours default to the template's.
	ColorList                                                []string
	BgColor, FgColor, MajorGridLineColor, MinorGridLineColor string
	// Template names one of graphite-web's example graph templates
	// ("default", "classic", "noc", ...) that give the colour defaults.
	Template string

	// FontName is accepted for compatibility; text is drawn with the Go fonts.
	FontName             string
	FontSize             float64 // 10
	FontBold, FontItalic bool

	// HideLegend hides the legend. Otherwise the legend hides itself when
	// there are more than LegendMaxItems series, unless LegendSet says that
	// hideLegend=false was asked for.
	HideLegend, LegendSet                    bool
	HideAxes, HideXAxis, HideYAxis, HideGrid bool
	GraphOnly, DrawNullAsZero, UniqueLegend  bool
	HideNullFromLegend                       bool

	// Per-side line styles for graphs with a second y-axis.
	LeftColor, RightColor   string
	LeftWidth, RightWidth   float64
	LeftDashed, RightDashed float64

	// XFormat is a strftime format for the x-axis labels; "" chooses one by
	// the time span.
	XFormat string
	// TZ is the time zone of the x-axis labels (UTC when nil).
	TZ *time.Location
}

// LegendMaxItems is graphite-web's LEGEND_MAX_ITEMS: with more series than
// this the legend is hidden unless hideLegend=false is asked for.
const LegendMaxItems = 10

// DefaultParams returns graphite-web's defaults for a graph.
func DefaultParams() Params {
	return Params{
		Width: 330, Height: 250, Margin: 10,
		YUnitSystem: "si", YAxisSide: "left", MinorY: 1,
		AreaMode: "none", LineMode: "slope", LineWidth: 1.2, MinXStep: 1,
		Template: "default", FontName: "Sans", FontSize: 10,
	}
}

// ParseParams reads graph parameters from a render request's query, with
// graphite-web's names, aliases (min, max, thickness) and defaults. It
// refuses values graphite-web would fail on, such as an unknown areaMode or
// a yMin that is no number.
func ParseParams(q url.Values) (Params, error) {
	p := DefaultParams()
	get := func(k string) (string, bool) {
		vs, ok := q[k]
		if !ok || len(vs) == 0 {
			return "", false
		}
		// graphite-web takes the last value and treats "" and "default"
		// as not given.
		v := vs[len(vs)-1]
		if v == "" || strings.EqualFold(v, "default") {
			return "", false
		}
		return v, true
	}
	var errs []string
	bad := func(k, v, why string) { errs = append(errs, fmt.Sprintf("%s=%q: %s", k, v, why)) }
	num := func(k string) (float64, bool) {
		v, ok := get(k)
		if !ok {
			return 0, false
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) {
			bad(k, v, "not a number")
			return 0, false
		}
		return f, true
	}
	numPtr := func(dst **float64, keys ...string) {
		for _, k := range keys {
			if f, ok := num(k); ok {
				*dst = &f
				return
			}
		}
	}
	integer := func(dst *int, k string, min int) {
		if f, ok := num(k); ok {
			if f < float64(min) || f > 1e9 {
				v, _ := get(k)
				bad(k, v, fmt.Sprintf("out of range (at least %d)", min))
				return
			}
			*dst = int(f)
		}
	}
	boolean := func(dst *bool, k string) bool {
		v, ok := get(k)
		if !ok {
			return false
		}
		switch strings.ToLower(v) {
		case "false", "0", "no", "off":
			*dst = false
		default:
			// graphite-web treats any other value as true
			*dst = true
		}
		return true
	}
	str := func(dst *string, k string) {
		if v, ok := get(k); ok {
			*dst = v
		}
	}

	integer(&p.Width, "width", 1)
	integer(&p.Height, "height", 1)
	if f, ok := num("margin"); ok && f >= 0 && f < 1e6 {
		p.Margin = int(f) // graphite-web: a negative margin is the default 10
	}
	str(&p.Title, "title")
	str(&p.VTitle, "vtitle")
	str(&p.VTitleRight, "vtitleRight")

	if v, ok := get("yMax"); ok && v == "max" {
		p.YMaxIsMax = true
	} else if v, ok := get("max"); ok && v == "max" && !has(q, "yMax") {
		p.YMaxIsMax = true
	} else {
		numPtr(&p.YMax, "yMax", "max")
	}
	numPtr(&p.YMin, "yMin", "min")
	numPtr(&p.YLimit, "yLimit")
	numPtr(&p.YStep, "yStep")
	numPtr(&p.YMinLeft, "yMinLeft")
	numPtr(&p.YMinRight, "yMinRight")
	numPtr(&p.YMaxLeft, "yMaxLeft")
	numPtr(&p.YMaxRight, "yMaxRight")
	numPtr(&p.YLimitLeft, "yLimitLeft")
	numPtr(&p.YLimitRight, "yLimitRight")
	numPtr(&p.YStepLeft, "yStepLeft")
	numPtr(&p.YStepRight, "yStepRight")
	for _, s := range []*float64{p.YStep, p.YStepLeft, p.YStepRight} {
		if s != nil && !(*s > 0) {
			bad("yStep", strconv.FormatFloat(*s, 'g', -1, 64), "must be positive")
		}
	}
	if v, ok := get("yDivisors"); ok {
		for _, d := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(d))
			if err != nil || n < 1 || n > 1000 {
				bad("yDivisors", v, "want integers from 1 to 1000")
				break
			}
			p.YDivisors = append(p.YDivisors, n)
		}
	}
	if v, ok := get("yUnitSystem"); ok {
		v = strings.ToLower(v)
		if _, known := unitSystems[v]; known {
			p.YUnitSystem = v // graphite-web falls back to si for others
		}
	}
	if v, ok := get("yAxisSide"); ok {
		p.YAxisSide = strings.ToLower(v)
	}
	if v, ok := get("logBase"); ok {
		if v == "e" {
			p.LogBase = math.E
		} else if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 1 {
			p.LogBase = f
		} else if err != nil {
			bad("logBase", v, "not a number")
		}
	}
	if p.LogBase == 1 {
		bad("logBase", "1", "must be greater than one")
	}
	if v, ok := get("minorY"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n > 100 {
			bad("minorY", v, "want an integer up to 100")
		} else {
			p.MinorY = max(n, 0)
		}
	}

	if v, ok := get("areaMode"); ok {
		p.AreaMode = strings.ToLower(v)
	}
	numPtr(&p.AreaAlpha, "areaAlpha")
	if v, ok := get("lineMode"); ok {
		p.LineMode = strings.ToLower(v)
	}
	integer(&p.ConnectedLimit, "connectedLimit", 0)
	if f, ok := num("lineWidth"); ok {
		p.LineWidth = f
	} else if f, ok := num("thickness"); ok {
		p.LineWidth = f
	}
	if f, ok := num("minXStep"); ok {
		p.MinXStep = f
	}

	if v, ok := get("colorList"); ok {
		p.ColorList = nil
		for _, c := range strings.Split(v, ",") {
			p.ColorList = append(p.ColorList, strings.TrimSpace(c))
		}
	}
	str(&p.BgColor, "bgcolor")
	str(&p.FgColor, "fgcolor")
	str(&p.MajorGridLineColor, "majorGridLineColor")
	str(&p.MinorGridLineColor, "minorGridLineColor")
	str(&p.Template, "template")
	str(&p.FontName, "fontName")
	if f, ok := num("fontSize"); ok {
		p.FontSize = f
	}
	boolean(&p.FontBold, "fontBold")
	boolean(&p.FontItalic, "fontItalic")

	p.LegendSet = boolean(&p.HideLegend, "hideLegend")
	boolean(&p.HideAxes, "hideAxes")
	boolean(&p.HideXAxis, "hideXAxis")
	boolean(&p.HideYAxis, "hideYAxis")
	boolean(&p.HideGrid, "hideGrid")
	boolean(&p.GraphOnly, "graphOnly")
	boolean(&p.DrawNullAsZero, "drawNullAsZero")
	boolean(&p.UniqueLegend, "uniqueLegend")
	boolean(&p.HideNullFromLegend, "hideNullFromLegend")

	str(&p.LeftColor, "leftColor")
	str(&p.RightColor, "rightColor")
	if f, ok := num("leftWidth"); ok {
		p.LeftWidth = f
	}
	if f, ok := num("rightWidth"); ok {
		p.RightWidth = f
	}
	if f, ok := num("leftDashed"); ok {
		p.LeftDashed = f
	}
	if f, ok := num("rightDashed"); ok {
		p.RightDashed = f
	}
	str(&p.XFormat, "xFormat")
	if v, ok := get("tz"); ok {
		// graphite-web ignores a time zone it does not know
		if loc, err := time.LoadLocation(v); err == nil {
			p.TZ = loc
		}
	}
	if err := p.check(); err != nil {
		errs = append(errs, err.Error())
	}
	// Colours are checked here too, so that a request is refused before
	// any series is fetched for it.
	for i, c := range append(slices.Clip(p.ColorList), p.BgColor, p.FgColor, p.MajorGridLineColor, p.MinorGridLineColor, p.LeftColor, p.RightColor) {
		if c == "" && i >= len(p.ColorList) {
			continue // not given
		}
		if _, err := parseColor(unquotePlus(c)); err != nil {
			errs = append(errs, strings.TrimPrefix(err.Error(), "graph: "))
		}
	}
	if len(errs) > 0 {
		return p, fmt.Errorf("graph: %s", strings.Join(errs, "; "))
	}
	return p, nil
}

func has(q url.Values, k string) bool { _, ok := q[k]; return ok }

// check refuses the values graphite-web asserts on, and the sizes we cap.
func (p *Params) check() error {
	switch p.AreaMode {
	case "", "none", "first", "all", "stacked":
	default:
		return fmt.Errorf("areaMode %q: want none, first, all or stacked", p.AreaMode)
	}
	switch p.LineMode {
	case "", "slope", "staircase", "connected":
	default:
		return fmt.Errorf("lineMode %q: want slope, staircase or connected", p.LineMode)
	}
	if p.Width <= 0 || p.Height <= 0 || p.Width > MaxSide || p.Height > MaxSide || p.Width*p.Height > MaxPixels {
		return fmt.Errorf("%w: got %dx%d", ErrSize, p.Width, p.Height)
	}
	if !(p.FontSize >= 0 && p.FontSize <= 1000) {
		return fmt.Errorf("fontSize %g: want 1 to 1000", p.FontSize)
	}
	if !(p.LineWidth >= 0 && p.LineWidth <= 1000) {
		return fmt.Errorf("lineWidth %g: want 0 to 1000", p.LineWidth)
	}
	return nil
}
