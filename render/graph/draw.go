package graph

import (
	"math"
	"strconv"
	"time"
)

// lines draws the series in the drawing area: filled areas first, each
// covering only what earlier ones left free, then the lines over them.
func (g *lineGraph) lines() {
	data := g.data
	anyStacked := false
	for _, d := range data {
		anyStacked = anyStacked || d.stacked
	}
	if anyStacked {
		// stacked series are drawn first, in their order
		sorted := make([]*drawSeries, 0, len(data))
		for _, d := range data {
			if d.stacked {
				sorted = append(sorted, d)
			}
		}
		for _, d := range data {
			if !d.stacked {
				sorted = append(sorted, d)
			}
		}
		data = sorted
	}
	switch {
	case g.areaMode == "stacked" && !g.secondY:
		var total []float64
		for _, d := range data {
			if d.infinite {
				continue
			}
			d.stacked = true
			for i, v := range d.vals {
				if len(total) <= i {
					total = append(total, 0)
				}
				if !math.IsNaN(v) {
					d.vals[i] = v + total[i]
					total[i] += v
				}
			}
		}
	case g.areaMode == "first":
		data[0].stacked = true
	case g.areaMode == "all":
		for _, d := range data {
			if !d.infinite {
				d.stacked = true
			}
		}
	}
	if a := g.p.AreaAlpha; a != nil {
		alpha := *a
		if !finite(alpha) {
			alpha = 0.5
		}
		var strokes []*drawSeries
		for _, d := range data {
			if d.stacked {
				d.alpha = alpha
				// the line on top of a translucent area, in the
				// default width
				strokes = append(strokes, &drawSeries{Series: d.Series, vals: d.vals, color: d.color,
					right: d.right, xStep: d.xStep, perPoint: d.perPoint})
			}
		}
		data = append(data, strokes...)
	}

	g.c.clip(g.area.xmin, g.area.ymin, g.area.xmax, g.area.ymax)
	var p path
	for _, d := range data {
		g.drawSeries(d, &p)
	}
}

// drawSeries traces one series as graphite-web's drawLines does, gaps and
// the flat stub it draws into a gap included.
func (g *lineGraph) drawSeries(d *drawSeries, p *path) {
	p.reset()
	lw := g.lineWidth
	if d.lineWidth > 0 {
		lw = d.lineWidth
	}
	c := d.color
	// an alpha in the colour itself wins over the series' alpha
	if c.A == 255 && d.alpha > 0 {
		c.A = uint8(math.Round(d.alpha * 255))
	}
	missing := float64(d.Start-g.startTime) / float64(d.Step)
	x := g.area.xmin + d.xStep*(missing/float64(d.perPoint)) + g.lineWidth/2
	y := g.area.ymin
	startX := x
	zeroY := func() float64 {
		y0, ok := g.yCoord(0, d.right)
		// graphite-web takes a zero row (or none) as "not given": the bottom
		if !ok || y0 == 0 {
			return g.area.ymax
		}
		return y0
	}
	fill := func(x, y, startX float64) {
		if startX == 0 {
			startX = g.area.xmin
		}
		y0 := zeroY()
		p.lineTo(x, y0)
		p.lineTo(startX, y0)
		g.c.fillPath(p, c, true)
		p.reset()
	}
	nones := 0
	limit := g.p.ConnectedLimit
	for i, v := range d.vals {
		if math.IsNaN(v) && g.p.DrawNullAsZero {
			v = 0
		}
		if !math.IsNaN(v) {
			yy, ok := g.yCoord(v, d.right)
			if !ok {
				v = math.NaN()
			} else {
				y = math.Max(yy, 0)
			}
		}
		if math.IsNaN(v) {
			if nones == 0 {
				p.lineTo(x, y)
				if d.stacked {
					fill(x, y, startX)
				}
			}
			x += d.xStep
			nones++
			continue
		}
		if d.infinite && v > 0 {
			p.moveTo(x, g.area.ymax)
			p.lineTo(x, g.area.ymin)
			g.c.strokePath(p, lw, d.dash, c)
			p.reset()
			x += d.xStep
			continue
		}
		if nones > 0 {
			startX = x
		}
		switch g.lineMode {
		case "staircase":
			if nones > 0 {
				p.moveTo(x, y)
			} else {
				p.lineTo(x, y)
			}
			x += d.xStep
			p.lineTo(x, y)
		case "connected":
			if (limit > 0 && nones > limit) || nones == i {
				p.moveTo(x, y)
			}
			p.lineTo(x, y)
			x += d.xStep
		default: // slope
			if nones > 0 {
				p.moveTo(x, y)
			}
			p.lineTo(x, y)
			x += d.xStep
		}
		nones = 0
	}
	if d.stacked {
		xPos := x - d.xStep
		if g.lineMode == "staircase" {
			xPos = x
		}
		if !p.empty() {
			fill(xPos, y, startX)
		}
		return
	}
	g.c.strokePath(p, lw, d.dash, c)
}

var (
	weekdays = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	months   = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
)

// strftime formats t with C's strftime directives in the C locale, the ones
// graphite-web's axis formats and xFormat use; others are copied as they are.
func strftime(format string, t time.Time) string {
	b := make([]byte, 0, len(format)+16)
	pad := func(n, w int, c byte) {
		s := strconv.Itoa(n)
		for i := len(s); i < w; i++ {
			b = append(b, c)
		}
		b = append(b, s...)
	}
	for i := 0; i < len(format); i++ {
		ch := format[i]
		if ch != '%' || i+1 == len(format) {
			b = append(b, ch)
			continue
		}
		i++
		switch format[i] {
		case 'a':
			b = append(b, weekdays[t.Weekday()][:3]...)
		case 'A':
			b = append(b, weekdays[t.Weekday()]...)
		case 'b', 'h':
			b = append(b, months[t.Month()-1][:3]...)
		case 'B':
			b = append(b, months[t.Month()-1]...)
		case 'd':
			pad(t.Day(), 2, '0')
		case 'e':
			pad(t.Day(), 2, ' ')
		case 'H':
			pad(t.Hour(), 2, '0')
		case 'I':
			pad((t.Hour()+11)%12+1, 2, '0')
		case 'l':
			pad((t.Hour()+11)%12+1, 2, ' ')
		case 'm':
			pad(int(t.Month()), 2, '0')
		case 'M':
			pad(t.Minute(), 2, '0')
		case 'S':
			pad(t.Second(), 2, '0')
		case 'p':
			if t.Hour() < 12 {
				b = append(b, "AM"...)
			} else {
				b = append(b, "PM"...)
			}
		case 'y':
			pad(t.Year()%100, 2, '0')
		case 'Y':
			pad(t.Year(), 1, '0')
		case 'j':
			pad(t.YearDay(), 3, '0')
		case 'Z':
			b = append(b, t.Format("MST")...)
		case 'z':
			b = append(b, t.Format("-0700")...)
		case '%':
			b = append(b, '%')
		default:
			b = append(b, '%', format[i])
		}
	}
	return string(b)
}
