package graph

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"net/url"
	"strings"
	"testing"
)

const t0 = 1_700_000_000

// constant is a series of n points of value v, a minute apart.
func constant(name string, n int, v float64) Series {
	vals := make([]float64, n)
	for i := range vals {
		vals[i] = v
	}
	return Series{Name: name, Start: t0, End: t0 + int64(n)*60, Step: 60, Values: vals}
}

func ptr(v float64) *float64 { return &v }

// render draws a PNG and returns it decoded, with the graph's layout.
func render(t *testing.T, series []Series, p Params) (*image.RGBA, *lineGraph) {
	t.Helper()
	c := newRaster(p.Width, p.Height)
	g, err := newLineGraph(c, series, &p)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.draw(); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.encode(&buf); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	rgba := image.NewRGBA(img.Bounds())
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			rgba.Set(x, y, img.At(x, y))
		}
	}
	return rgba, g
}

// near reports whether the pixel is within tol of c in every channel.
func near(img *image.RGBA, x, y int, c color.RGBA, tol int) bool {
	p := img.RGBAAt(x, y)
	d := func(a, b uint8) bool { return math.Abs(float64(a)-float64(b)) <= float64(tol) }
	return d(p.R, c.R) && d(p.G, c.G) && d(p.B, c.B)
}

var (
	black = color.RGBA{0, 0, 0, 255}
	white = color.RGBA{255, 255, 255, 255}
	red   = color.RGBA{255, 0, 0, 255}
	green = color.RGBA{0, 255, 0, 255}
)

// graphOnly params: the drawing area is the whole image, so a value's row
// is height - height*(v-yMin)/(yMax-yMin).
func graphOnly(w, h int) Params {
	p := DefaultParams()
	p.Width, p.Height = w, h
	p.GraphOnly = true
	p.BgColor = "black"
	p.YMin, p.YMax = ptr(0), ptr(100)
	p.LineWidth = 2
	return p
}

func TestLinePixels(t *testing.T) {
	gap := constant("gap", 10, 50)
	gap.Values[5] = math.NaN()
	step := constant("step", 10, 20)
	for i := 5; i < 10; i++ {
		step.Values[i] = 80
	}
	cases := []struct {
		name   string
		series Series
		mod    func(*Params)
		on     [][2]int // pixels that must be the line's colour
		off    [][2]int // pixels that must be background
	}{
		{"flat at 50", constant("a", 10, 50), nil,
			[][2]int{{5, 50}, {50, 50}, {95, 50}}, [][2]int{{50, 40}, {50, 60}, {50, 5}, {50, 95}}},
		{"flat at 25", constant("a", 10, 25), nil,
			[][2]int{{50, 75}}, [][2]int{{50, 50}, {50, 25}}},
		{"value above yMax is clipped", constant("a", 10, 500), nil,
			nil, [][2]int{{50, 50}, {50, 99}}},
		{"far below yMin: the visible part still slopes right", func() Series {
			s := constant("a", 3, 50)
			s.Values[2] = -1e300
			return s
		}(), nil,
			[][2]int{{20, 50}}, [][2]int{{20, 5}, {75, 20}, {75, 50}}},
		{"null leaves a gap", gap, nil,
			[][2]int{{20, 50}, {80, 50}}, [][2]int{{60, 50}}},
		{"drawNullAsZero drops to zero", gap, func(p *Params) { p.DrawNullAsZero = true; p.YMin = ptr(-100) },
			[][2]int{{20, 25}, {55, 47}}, [][2]int{{55, 25}}},
		{"staircase holds each value for its step", step, func(p *Params) { p.LineMode = "staircase" },
			[][2]int{{25, 80}, {75, 20}}, [][2]int{{25, 20}, {75, 80}}},
		{"areaMode=first fills below", constant("a", 10, 50), func(p *Params) { p.AreaMode = "first" },
			[][2]int{{50, 60}, {50, 90}}, [][2]int{{50, 40}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := graphOnly(100, 100)
			s := c.series
			s.Color = "ff0000"
			if c.mod != nil {
				c.mod(&p)
			}
			img, _ := render(t, []Series{s}, p)
			if img.Bounds() != image.Rect(0, 0, 100, 100) {
				t.Fatalf("size %v", img.Bounds())
			}
			for _, xy := range c.on {
				if !near(img, xy[0], xy[1], red, 40) {
					t.Errorf("pixel %v = %v, want the line's red", xy, img.RGBAAt(xy[0], xy[1]))
				}
			}
			for _, xy := range c.off {
				if !near(img, xy[0], xy[1], black, 10) {
					t.Errorf("pixel %v = %v, want background", xy, img.RGBAAt(xy[0], xy[1]))
				}
			}
		})
	}
}

func TestStacked(t *testing.T) {
	p := graphOnly(100, 100)
	p.AreaMode = "stacked"
	a, b := constant("a", 10, 25), constant("b", 10, 25)
	a.Color, b.Color = "ff0000", "00ff00"
	img, _ := render(t, []Series{a, b}, p)
	for _, c := range []struct {
		y    int
		want color.RGBA
	}{{90, red}, {80, red}, {70, green}, {55, green}, {40, black}, {10, black}} {
		if !near(img, 50, c.y, c.want, 10) {
			t.Errorf("row %d = %v, want %v", c.y, img.RGBAAt(50, c.y), c.want)
		}
	}
}

func TestAlpha(t *testing.T) {
	p := graphOnly(100, 100)
	s := constant("a", 10, 50)
	s.Color, s.Alpha, s.LineWidth = "ffffff", 0.5, 6
	img, _ := render(t, []Series{s}, p)
	if got := img.RGBAAt(50, 50); got.R < 100 || got.R > 160 {
		t.Errorf("half-transparent white on black = %v, want about 128", got)
	}
	s.Color = "ffffff40" // the colour's own alpha wins
	img, _ = render(t, []Series{s}, p)
	if got := img.RGBAAt(50, 50); got.R < 50 || got.R > 80 {
		t.Errorf("colour alpha 0x40 = %v, want about 64", got)
	}
}

func TestDrawAsInfinite(t *testing.T) {
	p := graphOnly(100, 100)
	s := constant("events", 10, 0)
	s.Values[4] = 1
	s.DrawAsInfinite, s.Color = true, "ff0000"
	img, g := render(t, []Series{s}, p)
	x := int(g.area.xmin + g.lineWidth/2 + 4*g.data[0].xStep)
	for _, y := range []int{2, 50, 97} {
		if !near(img, x, y, red, 40) {
			t.Errorf("pixel %d,%d = %v, want the vertical line", x, y, img.RGBAAt(x, y))
		}
	}
	if !near(img, x+15, 50, black, 10) {
		t.Errorf("beside the line: %v", img.RGBAAt(x+15, 50))
	}
}

func TestSecondYAxis(t *testing.T) {
	p := DefaultParams()
	p.BgColor = "black"
	p.HideGrid = true
	p.YMinLeft, p.YMaxLeft = ptr(0), ptr(20)
	p.YMinRight, p.YMaxRight = ptr(0), ptr(1000)
	l, r := constant("left", 30, 5), constant("right", 30, 750)
	l.Color, r.Color, r.SecondYAxis = "ff0000", "00ff00", true
	p.LineWidth = 3
	img, g := render(t, []Series{l, r}, p)
	if !g.secondY || g.axR == nil || g.area.xmax >= float64(p.Width-p.Margin) {
		t.Fatalf("no right axis: %+v", g.area)
	}
	x := int((g.area.xmin + g.area.xmax) / 2)
	h := g.area.ymax - g.area.ymin
	if y := int(g.area.ymax - h*0.25); !near(img, x, y, red, 60) {
		t.Errorf("left series at row %d: %v", y, img.RGBAAt(x, y))
	}
	if y := int(g.area.ymax - h*0.75); !near(img, x, y, green, 60) {
		t.Errorf("right series at row %d: %v", y, img.RGBAAt(x, y))
	}
	// a step under 1000 keeps the right axis's labels without a prefix
	if g.axR.labels[len(g.axR.labels)-1] != "1000.0 " || g.axL.labels[1] != "5.0 " {
		t.Errorf("right labels %q", g.axR.labels)
	}
}

func TestLayout(t *testing.T) {
	many := make([]Series, 11)
	for i := range many {
		many[i] = constant("s"+string(rune('a'+i)), 10, float64(i))
	}
	cases := []struct {
		name   string
		series []Series
		mod    func(*Params)
		check  func(g *lineGraph) string
	}{
		{"default area", many[:1], nil, func(g *lineGraph) string {
			if g.area.ymin != 10 || g.area.xmax != 320 || g.area.ymax > 230 || g.area.xmin < 20 {
				return "area"
			}
			return ""
		}},
		{"legend shows up to 10 series", many[:10], nil, func(g *lineGraph) string {
			if g.area.ymax > 200 {
				return "no room taken for the legend"
			}
			return ""
		}},
		{"legend hides itself past 10", many, nil, func(g *lineGraph) string {
			if g.area.ymax < 215 {
				return "legend drawn"
			}
			return ""
		}},
		{"hideLegend=false forces it", many, func(p *Params) { p.LegendSet = true }, func(g *lineGraph) string {
			if g.area.ymax > 200 {
				return "legend missing"
			}
			return ""
		}},
		{"title takes the top", many[:1], func(p *Params) { p.Title = "x" }, func(g *lineGraph) string {
			if g.area.ymin < 30 {
				return "title"
			}
			return ""
		}},
		{"hideAxes", many[:1], func(p *Params) { p.HideAxes = true; p.HideLegend = true; p.LegendSet = true }, func(g *lineGraph) string {
			if g.area != (rect{20, 320, 10, 240}) {
				return "axes took room"
			}
			return ""
		}},
		{"graphOnly", many[:3], func(p *Params) { p.GraphOnly = true; p.Title = "ignored" }, func(g *lineGraph) string {
			if g.area != (rect{0, 330, 0, 250}) {
				return "not the whole image"
			}
			return ""
		}},
	}
	for _, c := range cases {
		p := DefaultParams()
		if c.mod != nil {
			c.mod(&p)
		}
		_, g := render(t, c.series, p)
		if msg := c.check(g); msg != "" {
			t.Errorf("%s: %s: area %+v", c.name, msg, g.area)
		}
	}
}

// svgTexts parses an SVG document strictly and returns its size and texts.
func svgTexts(t *testing.T, doc []byte) (w, h string, texts []string) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	var inText bool
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("invalid SVG: %v\n%s", err, doc)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if e.Name.Local == "svg" {
				for _, a := range e.Attr {
					switch a.Name.Local {
					case "width":
						w = a.Value
					case "height":
						h = a.Value
					}
				}
			}
			inText = e.Name.Local == "text"
		case xml.CharData:
			if inText {
				texts = append(texts, string(e))
			}
		case xml.EndElement:
			inText = false
		}
	}
	return w, h, texts
}

func TestSVG(t *testing.T) {
	q, _ := url.ParseQuery("width=400&height=300&title=a<b>%26c&uniqueLegend=true&yUnitSystem=binary")
	p, err := ParseParams(q)
	if err != nil {
		t.Fatal(err)
	}
	a := constant("dup", 60, 3<<20)
	b := constant("dup", 60, 1<<20)
	var buf bytes.Buffer
	if err := Render(&buf, "svg", []Series{a, b}, p); err != nil {
		t.Fatal(err)
	}
	w, h, texts := svgTexts(t, buf.Bytes())
	if w != "400px" || h != "300px" {
		t.Errorf("size %s×%s", w, h)
	}
	all := strings.Join(texts, "|")
	if strings.Count(all, "dup") != 1 {
		t.Errorf("uniqueLegend: %q", all)
	}
	if !strings.Contains(all, "a<b>&c") {
		t.Errorf("title: %q", all)
	}
	// steps of 512 Ki: graphite-web names values by the step's prefix
	if !strings.Contains(all, "|1024.0 Ki |1536.0 Ki |") {
		t.Errorf("binary labels: %q", all)
	}
	// graphite-web's metadata for scripts
	doc := buf.String()
	i, j := strings.Index(doc, "metadata = "), strings.Index(doc, "\n  ]]>")
	if i < 0 || j < i {
		t.Fatalf("no metadata in\n%s", doc)
	}
	var meta struct {
		X      struct{ Start, End int64 }
		Y      struct{ Labels []string }
		Series []struct {
			Name string
			Data []*float64
		}
	}
	if err := json.Unmarshal([]byte(doc[i+len("metadata = "):j]), &meta); err != nil {
		t.Fatal(err)
	}
	if meta.X.Start != t0 || len(meta.Y.Labels) == 0 || len(meta.Series) != 2 || meta.Series[0].Name != "dup" || len(meta.Series[0].Data) != 60 {
		t.Errorf("metadata %+v", meta)
	}
	// control characters and bad UTF-8 in names must not break the XML
	buf.Reset()
	p.Title = "nul\x00 bad\xff"
	if err := Render(&buf, "svg", []Series{constant("x\x01<y>", 5, 1)}, p); err != nil {
		t.Fatal(err)
	}
	svgTexts(t, buf.Bytes())
	buf.Reset()
	p.Title = "a<b>&c"
	if err := Render(&buf, "svg", []Series{a, b}, p); err != nil {
		t.Fatal(err)
	}
	// an hour over about 300 pixels: labels every 20 minutes, as
	// graphite-web chooses
	if !strings.HasSuffix(all, "|22:20|22:40|23:00") {
		t.Errorf("time labels: %q", all)
	}
}

// TestLabels checks y-axis labels against what graphite-web 1.1.8's
// _LinearAxisTics printed for the same data limits.
func TestLabels(t *testing.T) {
	cases := []struct {
		lo, hi float64
		system string
		want   string
	}{
		{0, 100, "si", "0 |20.0 |40.0 |60.0 |80.0 |100.0 "},
		{0, 1, "si", "0 |0.20 |0.40 |0.60 |0.80 |1.00 "},
		{0, 5e6, "si", "0 |1.0 M |2.0 M |3.0 M |4.0 M |5.0 M "},
		{0, 5e6, "none", "0 |1000000.0 |2000000.0 |3000000.0 |4000000.0 |5000000.0 "},
		{0, 4096, "binary", "0 |1.0 Ki |2.0 Ki |3.0 Ki |4.0 Ki "},
		{-10, 10, "si", "-10 |-5 |0 |5.0 |10.0 "},
		{0.001, 0.005, "si", "0.001 |0.002 |0.003 |0.004 |0.005 "},
		{42, 42, "si", "36.0 |38.0 |40.0 |42.0 |44.0 |46.0 |48.0 "},
		{1 << 20, 3 << 20, "binary", "1024.0 Ki |1536.0 Ki |2048.0 Ki |2560.0 Ki |3072.0 Ki "},
		{0.5, 17.3, "si", "0 |5.0 |10.0 |15.0 |20.0 "},
		{-3.7, 123456, "si", "0 |50.0 k |100.0 k |150.0 k "},
		{1e-5, 3e-5, "si", "1e-05 |1.5e-05 |2e-05 |2.5e-05 |3e-05 "},
	}
	for _, c := range cases {
		a := newAxis(c.lo, c.hi, c.system, 0)
		if err := a.apply(nil, nil, nil, false); err != nil {
			t.Fatal(err)
		}
		a.chooseStep(nil, c.system == "binary")
		if err := a.chooseLimits(); err != nil {
			t.Fatal(err)
		}
		if err := a.labelValues(); err != nil {
			t.Fatal(err)
		}
		a.makeLabels()
		if got := strings.Join(a.labels, "|"); got != c.want {
			t.Errorf("%g..%g %s: %q, want %q", c.lo, c.hi, c.system, got, c.want)
		}
	}
}

func TestBadInput(t *testing.T) {
	nan := constant("nan", 10, math.NaN())
	inf := constant("inf", 10, 5)
	inf.Values[3], inf.Values[6] = math.Inf(1), math.Inf(-1)
	huge := constant("huge", 10, 1e308)
	huge.Values[2] = -1e308
	one := constant("one", 1, 7)
	ok := []struct {
		name   string
		series []Series
		mod    func(*Params)
	}{
		{"no series", nil, nil},
		{"all null", []Series{nan}, nil},
		{"single point", []Series{one}, nil},
		{"infinities", []Series{inf}, nil},
		{"huge values", []Series{huge}, nil},
		{"all null stacked", []Series{nan, nan}, func(p *Params) { p.AreaMode = "stacked" }},
		{"tiny image", []Series{inf}, func(p *Params) { p.Width, p.Height = 1, 1 }},
		{"thin image", []Series{inf}, func(p *Params) { p.Width, p.Height = 5, 500; p.Title = "t" }},
		{"dashed", []Series{{Name: "d", Start: t0, Step: 1, Values: []float64{0, 1e9}, Dashed: 0.001}}, nil},
		{"huge font", []Series{inf}, func(p *Params) { p.FontSize = 500 }},
		{"staircase inf", []Series{inf, nan}, func(p *Params) { p.LineMode = "staircase"; p.AreaMode = "all" }},
		{"log scale", []Series{constant("l", 10, 1000)}, func(p *Params) { p.LogBase = 10 }},
		{"tiny yStep", []Series{inf}, func(p *Params) { p.YStep = ptr(1e-300) }},
	}
	for _, c := range ok {
		p := DefaultParams()
		if c.mod != nil {
			c.mod(&p)
		}
		for _, f := range []string{"png", "svg"} {
			var buf bytes.Buffer
			if err := Render(&buf, f, c.series, p); err != nil {
				t.Errorf("%s %s: %v", c.name, f, err)
				continue
			}
			if f == "png" {
				img, err := png.Decode(&buf)
				if err != nil || img.Bounds().Dx() != p.Width || img.Bounds().Dy() != p.Height {
					t.Errorf("%s: %v %v", c.name, err, img)
				}
			} else {
				svgTexts(t, buf.Bytes())
			}
		}
	}

	bad := []struct {
		name   string
		series []Series
		mod    func(*Params)
		want   error
	}{
		{"negative width", nil, func(p *Params) { p.Width = -1 }, ErrSize},
		{"zero height", nil, func(p *Params) { p.Height = 0 }, ErrSize},
		{"huge", nil, func(p *Params) { p.Width, p.Height = 10000, 10000 }, ErrSize},
		{"bad colour", []Series{one}, func(p *Params) { p.BgColor = "nocolour" }, nil},
		{"bad series colour", []Series{{Name: "x", Start: t0, Step: 60, Values: []float64{1}, Color: "zzzzzz"}}, nil, nil},
		{"zero step", []Series{{Name: "x", Start: t0, Values: []float64{1}}}, nil, nil},
		{"min above max", []Series{one}, func(p *Params) { p.YMin, p.YMax = ptr(5), ptr(1) }, errAxis},
		{"log of negatives", []Series{constant("n", 3, -1)}, func(p *Params) { p.LogBase = 10 }, errAxis},
		{"bad areaMode", []Series{one}, func(p *Params) { p.AreaMode = "sideways" }, nil},
	}
	for _, c := range bad {
		p := DefaultParams()
		if c.mod != nil {
			c.mod(&p)
		}
		err := Render(io.Discard, "png", c.series, p)
		if err == nil || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	if err := Render(io.Discard, "gif", nil, DefaultParams()); !errors.Is(err, ErrFormat) {
		t.Errorf("gif: %v", err)
	}
}

func TestParseParams(t *testing.T) {
	cases := []struct {
		query string
		check func(p Params) bool
	}{
		{"", func(p Params) bool {
			return p.Width == 330 && p.Height == 250 && p.LineWidth == 1.2 && p.FontSize == 10 && p.YUnitSystem == "si" && p.YMin == nil && !p.LegendSet
		}},
		{"width=800&height=600&title=t&vtitle=v", func(p Params) bool { return p.Width == 800 && p.Height == 600 && p.Title == "t" && p.VTitle == "v" }},
		{"min=1&max=9&thickness=3", func(p Params) bool { return *p.YMin == 1 && *p.YMax == 9 && p.LineWidth == 3 }},
		{"yMin=2&min=1&yMax=max", func(p Params) bool { return *p.YMin == 2 && p.YMaxIsMax && p.YMax == nil }},
		{"colorList=red,%2300ff00,0000ff80&bgcolor=black&fgcolor=white", func(p Params) bool {
			return strings.Join(p.ColorList, " ") == "red #00ff00 0000ff80" && p.BgColor == "black" && p.FgColor == "white"
		}},
		{"hideLegend=false", func(p Params) bool { return p.LegendSet && !p.HideLegend }},
		{"hideLegend=true&hideAxes=1&graphOnly=true&drawNullAsZero=true&uniqueLegend=true", func(p Params) bool {
			return p.HideLegend && p.HideAxes && p.GraphOnly && p.DrawNullAsZero && p.UniqueLegend
		}},
		{"yUnitSystem=Binary&areaMode=Stacked&lineMode=staircase", func(p Params) bool {
			return p.YUnitSystem == "binary" && p.AreaMode == "stacked" && p.LineMode == "staircase"
		}},
		{"yUnitSystem=klingon&width=default", func(p Params) bool { return p.YUnitSystem == "si" && p.Width == 330 }},
		{"tz=Europe/Berlin&logBase=e&minorY=0", func(p Params) bool { return p.TZ.String() == "Europe/Berlin" && p.LogBase == math.E && p.MinorY == 0 }},
	}
	for _, c := range cases {
		q, _ := url.ParseQuery(c.query)
		p, err := ParseParams(q)
		if err != nil || !c.check(p) {
			t.Errorf("%q: %v %+v", c.query, err, p)
		}
	}
	for _, bad := range []string{"width=-5", "width=100000", "yMin=abc", "areaMode=x", "lineMode=y", "yDivisors=0", "yStep=-1", "width=20000&height=20000", "fontSize=1e9", "bgcolor=nope", "colorList=red,,blue", "fgcolor=%23ff00"} {
		q, _ := url.ParseQuery(bad)
		if _, err := ParseParams(q); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestUnquotePlus(t *testing.T) {
	for in, want := range map[string]string{
		"plain": "plain", "a+b": "a b", "50%": "50%", "a%2Bb": "a+b", "%zz%4": "%zz%4", "%e2%82%ac": "€", "x%": "x%",
	} {
		if got := unquotePlus(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

// TestConcurrent renders from several goroutines: the fonts are shared,
// the faces and canvases are not.
func TestConcurrent(t *testing.T) {
	done := make(chan error)
	for i := 0; i < 4; i++ {
		go func() {
			p := DefaultParams()
			p.Title = "concurrent"
			err := Render(io.Discard, []string{"png", "svg"}[i%2], []Series{constant("a", 100, float64(i))}, p)
			done <- err
		}()
	}
	for i := 0; i < 4; i++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
