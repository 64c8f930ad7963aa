package graph

import (
	"image/color"
	"io"
	"math"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gobolditalic"
	"golang.org/x/image/font/gofont/goitalic"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// canvas is what a graph is drawn on: a raster for PNG, a document for SVG.
// Coordinates are pixels from the top left, as in cairo.
type canvas interface {
	fillRect(x, y, w, h float64, c color.NRGBA)
	strokeRect(x, y, w, h, lw float64, c color.NRGBA)
	// lines strokes the segments x0,y0,x1,y1, ... (grid lines), unclipped.
	lines(segs []float64, lw float64, c color.NRGBA)
	// text draws s with its baseline starting at x,y, turned clockwise by
	// angle degrees (0, 90 or 270).
	text(s string, x, y float64, f *face, c color.NRGBA, angle int)
	// group starts a named part of the drawing (SVG's <g class=...>).
	group(name string)
	// clip limits strokePath and fillPath to a rectangle from now on.
	clip(x0, y0, x1, y1 float64)
	strokePath(p *path, lw, dash float64, c color.NRGBA)
	// fillPath fills the closed subpaths of p. An exclusive fill leaves
	// alone what earlier exclusive fills covered, as graphite-web's clip
	// after each stacked area does.
	fillPath(p *path, c color.NRGBA, exclusive bool)
	encode(w io.Writer) error
}

// path is a polyline of subpaths: pts holds x,y pairs, starts the index in
// pts (in pairs) where each subpath begins.
type path struct {
	pts    []float64
	starts []int
}

func (p *path) reset() { p.pts, p.starts = p.pts[:0], p.starts[:0] }

// coordLimit keeps coordinates that came from huge or infinite values
// finite and small enough for the rasterizer's fixed-point arithmetic.
const coordLimit = 1 << 20

func clampCoord(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return math.Max(-coordLimit, math.Min(coordLimit, v))
}

func (p *path) moveTo(x, y float64) {
	p.starts = append(p.starts, len(p.pts)/2)
	p.pts = append(p.pts, clampCoord(x), clampCoord(y))
}

// lineTo continues the subpath; without one it starts one, as cairo does.
func (p *path) lineTo(x, y float64) {
	if len(p.starts) == 0 {
		p.moveTo(x, y)
		return
	}
	p.pts = append(p.pts, clampCoord(x), clampCoord(y))
}

func (p *path) empty() bool { return len(p.pts) == 0 }

// sub calls f with each subpath's points.
func (p *path) sub(f func(pts []float64)) {
	for i, s := range p.starts {
		e := len(p.pts) / 2
		if i+1 < len(p.starts) {
			e = p.starts[i+1]
		}
		f(p.pts[2*s : 2*e])
	}
}

// face is a font at one size with its measurements in pixels.
type face struct {
	font.Face
	size                    float64
	ascent, descent, height float64
	bold, italic            bool
}

var (
	fontsOnce sync.Once
	fonts     [4]*opentype.Font // regular, bold, italic, bold italic
	fontsErr  error
)

// newFace loads the Go fonts (sans-serif, like graphite-web's default
// "Sans") at size pixels to the em, as cairo sizes fonts.
func newFace(size float64, bold, italic bool) (*face, error) {
	fontsOnce.Do(func() {
		for i, ttf := range [][]byte{goregular.TTF, gobold.TTF, goitalic.TTF, gobolditalic.TTF} {
			if fonts[i], fontsErr = opentype.Parse(ttf); fontsErr != nil {
				return
			}
		}
	})
	if fontsErr != nil {
		return nil, fontsErr
	}
	i := 0
	if bold {
		i |= 1
	}
	if italic {
		i |= 2
	}
	size = math.Max(1, size)
	ff, err := opentype.NewFace(fonts[i], &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingNone})
	if err != nil {
		return nil, err
	}
	m := ff.Metrics()
	return &face{Face: ff, size: size, bold: bold, italic: italic,
		ascent: fix(m.Ascent), descent: fix(m.Descent), height: fix(m.Height)}, nil
}

func fix(v fixed.Int26_6) float64 { return float64(v) / 64 }

// width is the advance of s in pixels.
func (f *face) width(s string) float64 { return fix(font.MeasureString(f, s)) }
