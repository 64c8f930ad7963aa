package graph

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestStrftime(t *testing.T) {
	tm := time.Date(2023, 11, 4, 7, 5, 9, 0, time.UTC)
	cases := map[string]string{
		"%H:%M:%S":       "07:05:09",
		"%m/%d %Y":       "11/04 2023",
		"%a %H:%M":       "Sat 07:05",
		"%A %B %e %j":    "Saturday November  4 308",
		"%I%p %l %y %%":  "07AM  7 23 %",
		"%b %Z %z %q %":  "Nov UTC +0000 %q %",
		"plain, no verb": "plain, no verb",
	}
	for f, want := range cases {
		if got := strftime(f, tm); got != want {
			t.Errorf("%q: %q, want %q", f, got, want)
		}
	}
}

// TestTimeAxis checks the x-axis labels graphite-web 1.1.8 chose for
// spans from minutes to a year over a 330×250 graph.
func TestTimeAxis(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		span, step int64
		tz         *time.Location
		want       string
	}{
		{600, 10, nil, "22:15|22:20"},
		{2 * 3600, 10, newYork, "17:20|17:40|18:00|18:20|18:40|19:00"},
		{6 * 3600, 60, nil, "00:00|02:00|04:00"},
		{6 * 3600, 60, berlin, "00:00|02:00|04:00"},
		{7 * 86400, 300, nil, "11/16|11/18|11/20"},
		{30 * 86400, 600, nil, "11/21|11/28|12/05|12/12"},
		{365 * 86400, 86400, nil, "03/13 2024|07/11 2024|11/08 2024"},
	}
	for _, c := range cases {
		p := DefaultParams()
		p.TZ = c.tz
		s := constant("x", int(c.span/c.step), 1)
		s.Step, s.End = c.step, s.Start+c.span
		var buf bytes.Buffer
		if err := Render(&buf, "svg", []Series{s}, p); err != nil {
			t.Fatal(err)
		}
		_, _, texts := svgTexts(t, buf.Bytes())
		var labels []string
		for _, x := range texts {
			if strings.ContainsAny(x, ":/") {
				labels = append(labels, x)
			}
		}
		if got := strings.Join(labels, "|"); got != c.want {
			t.Errorf("span %d: %s\nwant %s", c.span, got, c.want)
		}
	}
}

// TestAreaMatchesGraphite compares the drawing area with the one
// graphite-web 1.1.8 laid out for the same graphs: series of six hours at
// 60 s whose k-th holds k*100+i. The fonts differ (Go's against DejaVu
// Sans, whose hinted extents are whole pixels), so a few pixels of
// difference are expected.
func TestAreaMatchesGraphite(t *testing.T) {
	mk := func(names ...string) []Series {
		var ss []Series
		for k, n := range names {
			s := constant(n, 360, 0)
			for i := range s.Values {
				s.Values[i] = float64(k*100 + i)
			}
			ss = append(ss, s)
		}
		return ss
	}
	eight := make([]string, 8)
	for k := range eight {
		eight[k] = fmt.Sprintf("server%02d.cpu.user", k)
	}
	eleven := make([]string, 11)
	for k := range eleven {
		eleven[k] = fmt.Sprintf("s%d", k)
	}
	two := mk("left.series", "right.series")
	two[1].SecondYAxis = true
	cases := []struct {
		name   string
		series []Series
		mod    func(p *Params)
		want   rect
	}{
		{"one", mk("x"), nil, rect{40.60, 320.00, 10.00, 202.00}},
		{"titled", mk("x"), func(p *Params) { p.Title, p.VTitle = "Title", "v" }, rect{72.00, 320.00, 34.00, 202.00}},
		{"eight", mk(eight...), func(p *Params) { p.Width, p.Height, p.Title = 600, 400, "month" }, rect{46.72, 590.00, 34.00, 339.00}},
		{"eleven", mk(eleven...), nil, rect{46.72, 320.00, 10.00, 220.00}},
		{"twoaxes", two, func(p *Params) { p.VTitle, p.VTitleRight = "l", "r" }, rect{72.00, 268.00, 10.00, 202.00}},
		{"bigfont", mk("x"), func(p *Params) { p.FontSize, p.Title = 14, "t" }, rect{54.88, 320.00, 39.00, 192.00}},
		{"hideaxes", mk("x"), func(p *Params) { p.HideAxes = true }, rect{20.00, 320.00, 10.00, 222.00}},
		{"margin", mk("x"), func(p *Params) { p.Margin, p.YUnitSystem = 30, "none" }, rect{60.60, 300.00, 30.00, 182.00}},
	}
	for _, c := range cases {
		p := DefaultParams()
		if c.mod != nil {
			c.mod(&p)
		}
		_, g := render(t, c.series, p)
		// Go Regular runs about 10% narrower than DejaVu Sans: labels at
		// 14 px are 4 to 5 px shorter
		d := func(a, b float64) bool { return a-b > 5 || b-a > 5 }
		if d(g.area.xmin, c.want.xmin) || d(g.area.xmax, c.want.xmax) || d(g.area.ymin, c.want.ymin) || d(g.area.ymax, c.want.ymax) {
			t.Errorf("%s: area %+v, graphite-web's %+v", c.name, g.area, c.want)
		}
	}
}
