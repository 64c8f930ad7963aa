package graph

import (
	"encoding/binary"
	"io"
	"math"
	"net/url"
	"testing"
)

// FuzzRender draws whatever parameters and values it is given: a bad
// request must come back as an error, never a panic.
func FuzzRender(f *testing.F) {
	f.Add("width=100&height=80&areaMode=stacked", []byte{0, 0, 0, 0, 0, 0, 0xf0, 0x7f, 1, 2, 3, 4, 5, 6, 7, 8}, int64(60), uint8(2), false)
	f.Add("graphOnly=true&lineMode=staircase&yMin=5&yMax=1", []byte{0, 0, 0, 0, 0, 0, 0xf8, 0x7f}, int64(1), uint8(1), true)
	f.Add("title=a%0Ab&vtitle=v&logBase=10&drawNullAsZero=true&yStep=0.001", []byte{1, 2, 3}, int64(10), uint8(3), false)
	f.Fuzz(func(t *testing.T, query string, raw []byte, step int64, n uint8, svg bool) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		p, err := ParseParams(q)
		if err != nil {
			return
		}
		// keep each run quick: the sizes are capped anyway
		p.Width, p.Height = min(p.Width, 400), min(p.Height, 300)
		var vals []float64
		for len(raw) >= 8 {
			vals = append(vals, math.Float64frombits(binary.LittleEndian.Uint64(raw)))
			raw = raw[8:]
		}
		var series []Series
		for i := 0; i < int(n%8); i++ {
			series = append(series, Series{Name: "s", Start: t0 + int64(i)*step, Step: step, Values: vals,
				Stacked: i == 1, SecondYAxis: i == 2, DrawAsInfinite: i == 3, Dashed: float64(i % 3)})
		}
		format := "png"
		if svg {
			format = "svg"
		}
		_ = Render(io.Discard, format, series, p)
	})
}
