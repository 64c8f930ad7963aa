package graph

import (
	"bytes"
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
// graphite-web 1.1.8 laid out for the same graph: one series "x" of six
// hours at 60 s, default parameters. Fonts differ (Go's against DejaVu
// Sans), so a few pixels of difference are expected.
func TestAreaMatchesGraphite(t *testing.T) {
	want := rect{34.48, 320, 10, 202}
	s := constant("x", 360, 1)
	_, g := render(t, []Series{s}, DefaultParams())
	d := func(a, b float64) bool { return a-b > 3 || b-a > 3 }
	if d(g.area.xmin, want.xmin) || d(g.area.xmax, want.xmax) || d(g.area.ymin, want.ymin) || d(g.area.ymax, want.ymax) {
		t.Errorf("area %+v, graphite-web's %+v", g.area, want)
	}
}
