// Package graph draws graphite-web's line graphs as PNG and SVG in pure Go:
// axes, grid, legend, titles, colours and the render API's graph parameters,
// laid out by the rules of graphite-web 1.1's LineGraph (glyph.py).
package graph

import (
	"errors"
	"fmt"
	"io"
	"math"
)

// Series is one line to draw.
type Series struct {
	Name string
	// Start, End and Step are unix seconds; len(Values) == (End-Start)/Step.
	Start, End, Step int64
	// Values holds one value a step; NaN is null.
	Values []float64
	// Color is a graphite colour name or hex "ff0000", "#ff0000" or, with
	// alpha, "ff000080"; "" takes the next colour of Params.ColorList.
	Color string
	// LineWidth 0 is Params.LineWidth; Dashed 0 is solid, otherwise the length
	// of dashes and gaps; Alpha 0 is opaque.
	LineWidth, Dashed, Alpha float64
	// Stacked fills the area under the line (stacked(), areaMode);
	// SecondYAxis draws against a right-hand axis; DrawAsInfinite draws a
	// vertical line at each point whose value is above zero.
	Stacked, SecondYAxis, DrawAsInfinite bool
	// Consolidate is consolidateBy()'s function for squeezing more points
	// than pixels: "average" (also ""), "sum", "min", "max", "first", "last".
	Consolidate string
}

// Limits on what one graph may cost. A request asks for its width and
// height; these bound a PNG's pixel buffers to about 80 MiB: 4 bytes a pixel
// for the image, at most 4 for the rasterizer's coverage, 2 for the masks of
// filled areas. An SVG holds no pixels; its size follows the points drawn,
// at most one per pixel of width per series once consolidated.
const (
	// MaxSide is the largest width or height drawn.
	MaxSide = 16384
	// MaxPixels caps width×height.
	MaxPixels = 8 << 20
)

// Errors Render returns for requests it cannot draw.
var (
	ErrSize   = errors.New("graph: width and height must be positive and at most 16384, width×height at most 8388608")
	ErrFormat = errors.New(`graph: format must be "png" or "svg"`)
)

// Render draws series as graphite-web's line graph in format "png" or "svg"
// and writes the image to w. Nothing is written when it fails: a bad size,
// format or colour, a series without a positive step, or a y-axis
// graphite-web cannot draw either (yMin above yMax, a log scale over values
// at or below zero). No series, or none with a time span, draws "No Data"
// as graphite-web does.
//
// Colours default to graphite-web 1.1's built-in template: white
// background, black text, rose major and grey minor grid lines
// (template=classic is the black one of older releases).
func Render(w io.Writer, format string, series []Series, p Params) error {
	if p.Width <= 0 || p.Height <= 0 || p.Width > MaxSide || p.Height > MaxSide || p.Width*p.Height > MaxPixels {
		return fmt.Errorf("%w: got %dx%d", ErrSize, p.Width, p.Height)
	}
	var c canvas
	switch format {
	case "png":
		c = newRaster(p.Width, p.Height)
	case "svg":
		c = newSVG(p.Width, p.Height)
	default:
		return fmt.Errorf("%w: got %q", ErrFormat, format)
	}
	g, err := newLineGraph(c, series, &p)
	if err != nil {
		return err
	}
	if err := g.draw(); err != nil {
		return err
	}
	if s, ok := c.(*svgDoc); ok {
		s.meta = g.svgMetadata()
	}
	return c.encode(w)
}

// finite reports whether v is neither NaN nor ±Inf.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
