package graph

import (
	"bytes"
	"encoding/xml"
	"image/color"
	"io"
	"strconv"
)

// svgDoc writes the graph as an SVG document of the same size and layout as
// the PNG. Text is placed with the Go fonts' measurements and asks for a
// sans-serif face, so a viewer's font may run slightly longer or shorter.
type svgDoc struct {
	b       bytes.Buffer
	w, h    int
	inGroup bool
	clipN   int // clip paths defined so far
	inClip  bool
	maskN   int // masks made by exclusive fills
	num     []byte
	meta    []byte // graphite-web's metadata JSON, or nil
}

func newSVG(w, h int) *svgDoc {
	s := &svgDoc{w: w, h: h}
	s.b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	s.b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="`)
	s.b.WriteString(strconv.Itoa(w))
	s.b.WriteString(`px" height="`)
	s.b.WriteString(strconv.Itoa(h))
	s.b.WriteString(`px" viewBox="0 0 `)
	s.b.WriteString(strconv.Itoa(w) + " " + strconv.Itoa(h))
	s.b.WriteString("\">\n<g class=\"graphite\">\n")
	return s
}

// f writes a coordinate with at most two decimals.
func (s *svgDoc) f(v float64) {
	s.num = strconv.AppendFloat(s.num[:0], float64(int64(v*100))/100, 'f', -1, 64)
	s.b.Write(s.num)
}

func (s *svgDoc) attr(name string, v float64) {
	s.b.WriteString(" " + name + `="`)
	s.f(v)
	s.b.WriteByte('"')
}

// paint writes a fill or stroke colour with its opacity.
func (s *svgDoc) paint(kind string, c color.NRGBA) {
	const hex = "0123456789abcdef"
	s.b.WriteString(" " + kind + `="#`)
	for _, v := range []uint8{c.R, c.G, c.B} {
		s.b.WriteByte(hex[v>>4])
		s.b.WriteByte(hex[v&15])
	}
	s.b.WriteByte('"')
	if c.A != 255 {
		s.b.WriteString(" " + kind + `-opacity="`)
		s.b.WriteString(strconv.FormatFloat(float64(c.A)/255, 'f', 3, 64))
		s.b.WriteByte('"')
	}
}

func (s *svgDoc) closeClip() {
	if s.inClip {
		s.b.WriteString("</g>\n")
		s.inClip = false
	}
}

func (s *svgDoc) group(name string) {
	s.closeClip()
	if s.inGroup {
		s.b.WriteString("</g>\n")
	}
	s.b.WriteString(`<g class="`)
	xml.EscapeText(&s.b, []byte(name))
	s.b.WriteString("\">\n")
	s.inGroup = true
}

func (s *svgDoc) clip(x0, y0, x1, y1 float64) {
	s.closeClip()
	s.clipN++
	id := "clip" + strconv.Itoa(s.clipN)
	s.b.WriteString(`<clipPath id="` + id + `"><rect`)
	s.attr("x", x0)
	s.attr("y", y0)
	s.attr("width", x1-x0)
	s.attr("height", y1-y0)
	s.b.WriteString("/></clipPath>\n<g clip-path=\"url(#" + id + ")\">\n")
	s.inClip = true
}

func (s *svgDoc) rect(x, y, w, h float64) {
	s.b.WriteString("<rect")
	s.attr("x", x)
	s.attr("y", y)
	s.attr("width", w)
	s.attr("height", h)
}

func (s *svgDoc) fillRect(x, y, w, h float64, c color.NRGBA) {
	s.rect(x, y, w, h)
	s.paint("fill", c)
	s.b.WriteString("/>\n")
}

func (s *svgDoc) strokeRect(x, y, w, h, lw float64, c color.NRGBA) {
	s.rect(x, y, w, h)
	s.b.WriteString(` fill="none"`)
	s.paint("stroke", c)
	s.attr("stroke-width", lw)
	s.b.WriteString("/>\n")
}

func (s *svgDoc) lines(segs []float64, lw float64, c color.NRGBA) {
	if len(segs) < 4 {
		return
	}
	s.b.WriteString(`<path fill="none"`)
	s.paint("stroke", c)
	s.attr("stroke-width", lw)
	s.b.WriteString(` d="`)
	for i := 0; i+3 < len(segs); i += 4 {
		s.b.WriteByte('M')
		s.f(segs[i])
		s.b.WriteByte(' ')
		s.f(segs[i+1])
		s.b.WriteByte('L')
		s.f(segs[i+2])
		s.b.WriteByte(' ')
		s.f(segs[i+3])
	}
	s.b.WriteString("\"/>\n")
}

// pathData writes p as the d attribute; closed subpaths end in Z.
func (s *svgDoc) pathData(p *path, closed bool) {
	s.b.WriteString(` d="`)
	p.sub(func(pts []float64) {
		for k := 0; k+1 < len(pts); k += 2 {
			if k == 0 {
				s.b.WriteByte('M')
			} else {
				s.b.WriteByte('L')
			}
			s.f(pts[k])
			s.b.WriteByte(' ')
			s.f(pts[k+1])
		}
		if closed {
			s.b.WriteByte('Z')
		}
	})
	s.b.WriteByte('"')
}

func (s *svgDoc) strokePath(p *path, lw, dash float64, c color.NRGBA) {
	if p.empty() {
		return
	}
	s.b.WriteString(`<path fill="none" stroke-linejoin="miter" stroke-linecap="butt"`)
	s.paint("stroke", c)
	s.attr("stroke-width", lw)
	if dash > 0 {
		s.attr("stroke-dasharray", dash)
		s.b.WriteString(` stroke-dashoffset="1"`)
	}
	s.pathData(p, false)
	s.b.WriteString("/>\n")
}

// fillPath draws exclusive fills through a chain of masks: mask k shows
// what mask k-1 showed less fill k-1, so each stacked area covers only what
// no earlier one did, in constant size per fill.
func (s *svgDoc) fillPath(p *path, c color.NRGBA, exclusive bool) {
	if p.empty() {
		return
	}
	if !exclusive {
		s.b.WriteString("<path")
		s.paint("fill", c)
		s.pathData(p, true)
		s.b.WriteString("/>\n")
		return
	}
	prev := s.maskN
	s.maskN++
	id := "excl" + strconv.Itoa(s.maskN)
	s.b.WriteString(`<path id="` + id + `"`)
	s.paint("fill", c)
	if prev > 0 {
		s.b.WriteString(` mask="url(#m` + strconv.Itoa(prev) + `)"`)
	}
	s.pathData(p, true)
	s.b.WriteString("/>\n")
	// the next mask: white everywhere the previous one was, less this fill
	s.b.WriteString(`<mask id="m` + strconv.Itoa(s.maskN) + `" maskUnits="userSpaceOnUse"`)
	s.attr("x", 0)
	s.attr("y", 0)
	s.attr("width", float64(s.w))
	s.attr("height", float64(s.h))
	s.b.WriteString("><g")
	if prev > 0 {
		s.b.WriteString(` mask="url(#m` + strconv.Itoa(prev) + `)"`)
	}
	s.b.WriteString(`><rect width="100%" height="100%" fill="#fff"/><path fill="#000"`)
	s.pathData(p, true)
	s.b.WriteString("/></g></mask>\n")
}

func (s *svgDoc) text(str string, x, y float64, f *face, c color.NRGBA, angle int) {
	if str == "" {
		return
	}
	s.b.WriteString(`<text xml:space="preserve" font-family="Go, DejaVu Sans, sans-serif"`)
	s.attr("font-size", f.size)
	if f.bold {
		s.b.WriteString(` font-weight="bold"`)
	}
	if f.italic {
		s.b.WriteString(` font-style="italic"`)
	}
	s.paint("fill", c)
	s.attr("x", x)
	s.attr("y", y)
	if angle != 0 {
		s.b.WriteString(` transform="rotate(` + strconv.Itoa(angle) + " ")
		s.f(x)
		s.b.WriteByte(' ')
		s.f(y)
		s.b.WriteString(`)"`)
	}
	s.b.WriteByte('>')
	xml.EscapeText(&s.b, []byte(str))
	s.b.WriteString("</text>\n")
}

func (s *svgDoc) encode(w io.Writer) error {
	s.closeClip()
	if s.inGroup {
		s.b.WriteString("</g>\n")
	}
	s.b.WriteString("</g>\n")
	if s.meta != nil {
		s.b.WriteString("<script>\n  <![CDATA[\n    metadata = ")
		s.b.Write(s.meta)
		s.b.WriteString("\n  ]]>\n</script>\n")
	}
	s.b.WriteString("</svg>\n")
	_, err := w.Write(s.b.Bytes())
	return err
}
