package graph

import (
	"io"
	"math"
	"testing"
)

// bigSeries is n series of a day at 10 s (8,640 points), some nulls.
func bigSeries(n int) []Series {
	ss := make([]Series, n)
	for i := range ss {
		vals := make([]float64, 8640)
		for j := range vals {
			vals[j] = float64(i) + 10*math.Sin(float64(j)/300+float64(i))
			if j%1000 == 7 {
				vals[j] = math.NaN()
			}
		}
		ss[i] = Series{Name: "host.cpu" + string(rune('a'+i%26)), Start: t0, End: t0 + 86400, Step: 10, Values: vals}
	}
	return ss
}

// BenchmarkRender1000x8640 draws 1,000 series of 8,640 points at the
// default size, the render budget's workload.
func BenchmarkRender1000x8640(b *testing.B) {
	ss := bigSeries(1000)
	p := DefaultParams()
	for _, f := range []string{"png", "svg"} {
		b.Run(f, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := Render(io.Discard, f, ss, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRenderStacked1000 stacks the same series as filled areas.
func BenchmarkRenderStacked1000(b *testing.B) {
	ss := bigSeries(1000)
	p := DefaultParams()
	p.AreaMode = "stacked"
	b.ReportAllocs()
	for b.Loop() {
		if err := Render(io.Discard, "png", ss, p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderLarge draws the same series on a 2000×1000 image, where
// a long line's bounding box would be most of the image.
func BenchmarkRenderLarge(b *testing.B) {
	ss := bigSeries(1000)
	p := DefaultParams()
	p.Width, p.Height = 2000, 1000
	b.ReportAllocs()
	for b.Loop() {
		if err := Render(io.Discard, "png", ss, p); err != nil {
			b.Fatal(err)
		}
	}
}
