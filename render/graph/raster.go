package graph

import (
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

// raster draws on an RGBA image with anti-aliasing. Every shape becomes
// polygons handed to one rasterizer sized to the shape's bounding box, so a
// grid line costs its own pixels, not the whole image's.
type raster struct {
	img     *image.RGBA
	z       vector.Rasterizer
	clipR   image.Rectangle
	poly    []float32 // x,y pairs of the polygons being collected
	starts  []int     // where each polygon begins in poly (in pairs)
	minX    float64
	minY    float64
	maxX    float64
	maxY    float64
	maskPix []uint8 // scratch coverage for exclusive fills
	covered []uint8 // what exclusive fills covered, over clipR
}

func newRaster(w, h int) *raster {
	r := &raster{img: image.NewRGBA(image.Rect(0, 0, w, h))}
	r.clipR = r.img.Bounds()
	return r
}

func (r *raster) encode(w io.Writer) error {
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	return enc.Encode(w, r.img)
}

func (r *raster) group(string) {}

func (r *raster) clip(x0, y0, x1, y1 float64) {
	r.clipR = image.Rect(int(math.Floor(x0)), int(math.Floor(y0)), int(math.Ceil(x1)), int(math.Ceil(y1))).Intersect(r.img.Bounds())
	r.covered = nil
}

// begin starts collecting polygons.
func (r *raster) begin() {
	r.poly, r.starts = r.poly[:0], r.starts[:0]
	r.minX, r.minY = math.Inf(1), math.Inf(1)
	r.maxX, r.maxY = math.Inf(-1), math.Inf(-1)
}

// polygon adds a closed polygon given as x,y pairs. Overlapping polygons
// must all turn the same way so that their coverage adds up rather than
// cancels: polygon makes them so.
func (r *raster) polygon(pts ...float64) {
	n := len(pts) / 2
	if n < 3 {
		return
	}
	var area float64
	for i := 0; i < n; i++ {
		j := (i + 1) % n
		area += pts[2*i]*pts[2*j+1] - pts[2*j]*pts[2*i+1]
	}
	r.starts = append(r.starts, len(r.poly)/2)
	for k := 0; k < n; k++ {
		i := k
		if area < 0 {
			i = n - 1 - k
		}
		x, y := pts[2*i], pts[2*i+1]
		r.minX, r.maxX = math.Min(r.minX, x), math.Max(r.maxX, x)
		r.minY, r.maxY = math.Min(r.minY, y), math.Max(r.maxY, y)
		r.poly = append(r.poly, float32(x), float32(y))
	}
}

// rasterize turns the collected polygons into coverage over their bounding
// box within clip, and returns that box; it is empty when nothing shows.
func (r *raster) rasterize(clip image.Rectangle) image.Rectangle {
	if len(r.starts) == 0 {
		return image.Rectangle{}
	}
	b := image.Rect(int(math.Floor(r.minX)), int(math.Floor(r.minY)), int(math.Ceil(r.maxX)), int(math.Ceil(r.maxY))).Intersect(clip)
	if b.Empty() {
		return b
	}
	r.z.Reset(b.Dx(), b.Dy())
	ox, oy := float32(b.Min.X), float32(b.Min.Y)
	for i, s := range r.starts {
		e := len(r.poly) / 2
		if i+1 < len(r.starts) {
			e = r.starts[i+1]
		}
		pts := r.poly[2*s : 2*e]
		r.z.MoveTo(pts[0]-ox, pts[1]-oy)
		for k := 2; k < len(pts); k += 2 {
			r.z.LineTo(pts[k]-ox, pts[k+1]-oy)
		}
		r.z.ClosePath()
	}
	return b
}

// paint composites c through the collected polygons.
func (r *raster) paint(c color.NRGBA, clip image.Rectangle) {
	if c.A == 0 {
		return
	}
	if b := r.rasterize(clip); !b.Empty() {
		r.z.Draw(r.img, b, image.NewUniform(c), image.Point{})
	}
}

func (r *raster) fillRect(x, y, w, h float64, c color.NRGBA) {
	if x == math.Trunc(x) && y == math.Trunc(y) && w == math.Trunc(w) && h == math.Trunc(h) {
		// whole pixels, such as the background: no edges to anti-alias
		rr := image.Rect(int(x), int(y), int(x+w), int(y+h)).Intersect(r.img.Bounds())
		draw.Draw(r.img, rr, image.NewUniform(c), image.Point{}, draw.Over)
		return
	}
	r.begin()
	r.polygon(x, y, x+w, y, x+w, y+h, x, y+h)
	r.paint(c, r.img.Bounds())
}

func (r *raster) strokeRect(x, y, w, h, lw float64, c color.NRGBA) {
	// cairo strokes a rectangle's outline centred on its edges
	r.begin()
	o := lw / 2
	r.polygon(x-o, y-o, x+w+o, y-o, x+w+o, y+o, x-o, y+o)
	r.polygon(x-o, y+h-o, x+w+o, y+h-o, x+w+o, y+h+o, x-o, y+h+o)
	r.polygon(x-o, y+o, x+o, y+o, x+o, y+h-o, x-o, y+h-o)
	r.polygon(x+w-o, y+o, x+w+o, y+o, x+w+o, y+h-o, x+w-o, y+h-o)
	r.paint(c, r.img.Bounds())
}

func (r *raster) lines(segs []float64, lw float64, c color.NRGBA) {
	// one at a time: grid lines together span the whole drawing area,
	// each alone only its own row or column
	for i := 0; i+3 < len(segs); i += 4 {
		r.begin()
		r.segment(segs[i], segs[i+1], segs[i+2], segs[i+3], lw)
		r.paint(c, r.img.Bounds())
	}
}

// segment adds a line from (x0,y0) to (x1,y1) lw wide with butt ends.
func (r *raster) segment(x0, y0, x1, y1, lw float64) {
	dx, dy := x1-x0, y1-y0
	l := math.Hypot(dx, dy)
	if l == 0 || math.IsInf(l, 0) {
		return
	}
	nx, ny := -dy/l*lw/2, dx/l*lw/2
	r.polygon(x0+nx, y0+ny, x1+nx, y1+ny, x1-nx, y1-ny, x0-nx, y0-ny)
}

// join fills the notch between two segments meeting at (x,y), as a bevel:
// cairo's miter join differs only at sharp angles of thick lines.
func (r *raster) join(ax, ay, x, y, bx, by, lw float64) {
	d1x, d1y := x-ax, y-ay
	d2x, d2y := bx-x, by-y
	l1, l2 := math.Hypot(d1x, d1y), math.Hypot(d2x, d2y)
	if l1 == 0 || l2 == 0 || math.IsInf(l1+l2, 0) {
		return
	}
	h := lw / 2
	n1x, n1y := -d1y/l1*h, d1x/l1*h
	n2x, n2y := -d2y/l2*h, d2x/l2*h
	// the outer side of the turn is where the cross product says
	if d1x*d2y-d1y*d2x > 0 {
		n1x, n1y, n2x, n2y = -n1x, -n1y, -n2x, -n2y
	}
	r.polygon(x, y, x+n1x, y+n1y, x+n2x, y+n2y)
}

func (r *raster) strokePath(p *path, lw, dash float64, c color.NRGBA) {
	r.begin()
	p.sub(func(pts []float64) {
		if dash > 0 {
			r.dashed(pts, lw, dash, c)
			return
		}
		for k := 2; k < len(pts); k += 2 {
			r.segment(pts[k-2], pts[k-1], pts[k], pts[k+1], lw)
			if lw > 1.5 && k+3 < len(pts) {
				r.join(pts[k-2], pts[k-1], pts[k], pts[k+1], pts[k+2], pts[k+3], lw)
			}
			r.flushSome(c)
		}
	})
	r.paint(c, r.clipR)
}

// strokeBatch is how many polygons a stroke collects before painting them.
// A long line's bounding box is most of the drawing area; short runs of it
// have small ones, and the rasterizer's cost follows the box's area.
const strokeBatch = 64

// flushSome paints what a stroke collected once there is a batch of it.
func (r *raster) flushSome(c color.NRGBA) {
	if len(r.starts) >= strokeBatch {
		r.paint(c, r.clipR)
		r.begin()
	}
}

// dashed adds the "on" pieces of a polyline dashed with equal dashes and
// gaps of length dash, starting one pixel into the pattern as graphite-web
// asks cairo to.
func (r *raster) dashed(pts []float64, lw, dash float64, c color.NRGBA) {
	pos := 1.0 // distance into the current dash period of 2*dash
	for k := 2; k < len(pts); k += 2 {
		x0, y0, x1, y1 := pts[k-2], pts[k-1], pts[k], pts[k+1]
		l := math.Hypot(x1-x0, y1-y0)
		if l == 0 || math.IsInf(l, 0) {
			continue
		}
		// bound the pieces of one segment: a tiny dash on a huge line
		// would otherwise make millions
		if l/dash > 1e5 {
			r.segment(x0, y0, x1, y1, lw)
			continue
		}
		t := 0.0
		for t < l {
			period := math.Mod(pos, 2*dash)
			on := period < dash
			left := dash - period
			if !on {
				left = 2*dash - period
			}
			e := math.Min(l, t+left)
			if on {
				r.segment(x0+(x1-x0)*t/l, y0+(y1-y0)*t/l, x0+(x1-x0)*e/l, y0+(y1-y0)*e/l, lw)
				r.flushSome(c)
			}
			pos += e - t
			t = e
		}
	}
}

func (r *raster) fillPath(p *path, c color.NRGBA, exclusive bool) {
	r.begin()
	p.sub(func(pts []float64) { r.polygon(pts...) })
	if !exclusive {
		r.paint(c, r.clipR)
		return
	}
	b := r.rasterize(r.clipR)
	if b.Empty() {
		return
	}
	// The rasterizer's fast path writes rows back to back: the mask's
	// stride must be its width.
	n := b.Dx() * b.Dy()
	if cap(r.maskPix) < n {
		r.maskPix = make([]uint8, n)
	}
	m := &image.Alpha{Pix: r.maskPix[:n], Stride: b.Dx(), Rect: image.Rect(0, 0, b.Dx(), b.Dy())}
	clear(m.Pix)
	r.z.DrawOp = draw.Src
	r.z.Draw(m, m.Bounds(), image.Opaque, image.Point{})
	if r.covered == nil {
		r.covered = make([]uint8, r.clipR.Dx()*r.clipR.Dy())
	}
	cw := r.clipR.Dx()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := m.Pix[(y-b.Min.Y)*m.Stride:]
		cov := r.covered[(y-r.clipR.Min.Y)*cw:]
		for x := b.Min.X; x < b.Max.X; x++ {
			ci := x - r.clipR.Min.X
			a := uint32(row[x-b.Min.X]) * uint32(255-cov[ci]) / 255
			if a == 0 {
				continue
			}
			cov[ci] += uint8(a)
			blend(r.img, x, y, c, a)
		}
	}
}

// blend composites c over the pixel at x,y with coverage a (0 to 255).
func blend(img *image.RGBA, x, y int, c color.NRGBA, a uint32) {
	i := img.PixOffset(x, y)
	sa := uint32(c.A) * a / 255
	p := img.Pix[i : i+4 : i+4]
	inv := 255 - sa
	p[0] = uint8((uint32(c.R)*sa + uint32(p[0])*inv) / 255)
	p[1] = uint8((uint32(c.G)*sa + uint32(p[1])*inv) / 255)
	p[2] = uint8((uint32(c.B)*sa + uint32(p[2])*inv) / 255)
	p[3] = uint8(sa + uint32(p[3])*inv/255)
}

func (r *raster) text(s string, x, y float64, f *face, c color.NRGBA, angle int) {
	if s == "" || c.A == 0 {
		return
	}
	src := image.NewUniform(c)
	if angle == 0 {
		d := font.Drawer{Dst: r.img, Src: src, Face: f, Dot: fixed.Point26_6{X: fixed.Int26_6(x * 64), Y: fixed.Int26_6(y * 64)}}
		d.DrawString(s)
		return
	}
	// Turned text: draw it level on a scratch image, then copy it turned.
	w := int(math.Ceil(f.width(s))) + 1
	h := int(math.Ceil(f.ascent+f.descent)) + 1
	if w <= 0 || h <= 0 || w > 4*MaxSide {
		return
	}
	tmp := image.NewRGBA(image.Rect(0, 0, w, h))
	d := font.Drawer{Dst: tmp, Src: src, Face: f, Dot: fixed.Point26_6{Y: fixed.Int26_6(f.ascent * 64)}}
	d.DrawString(s)
	bounds := r.img.Bounds()
	for ty := 0; ty < h; ty++ {
		for tx := 0; tx < w; tx++ {
			i := tmp.PixOffset(tx, ty)
			a := tmp.Pix[i+3]
			if a == 0 {
				continue
			}
			u, v := float64(tx)+0.5, float64(ty)+0.5-f.ascent
			var px, py float64
			if angle == 270 { // reads upwards
				px, py = x+v, y-u
			} else { // 90: reads downwards
				px, py = x-v, y+u
			}
			pt := image.Pt(int(math.Floor(px)), int(math.Floor(py)))
			if !pt.In(bounds) {
				continue
			}
			blend(r.img, pt.X, pt.Y, color.NRGBA{c.R, c.G, c.B, c.A}, uint32(a)*255/uint32(max(c.A, 1)))
		}
	}
}
