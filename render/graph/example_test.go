package graph_test

import (
	"bytes"
	"fmt"
	"image/png"
	"math"
	"net/url"

	"statbox/render/graph"
)

// A render request's parameters and two series, drawn as a PNG.
func ExampleRender() {
	q, _ := url.ParseQuery("width=400&height=200&title=load&areaMode=first&colorList=green,red")
	p, err := graph.ParseParams(q)
	if err != nil {
		fmt.Println(err)
		return
	}
	load := make([]float64, 60)
	for i := range load {
		load[i] = 2 + math.Sin(float64(i)/6)
	}
	limit := []float64{2.5, math.NaN(), 2.5} // NaN is a gap
	series := []graph.Series{
		{Name: "host.load", Start: 1_700_000_000, End: 1_700_003_600, Step: 60, Values: load},
		{Name: "host.limit", Start: 1_700_000_000, End: 1_700_003_600, Step: 1200, Values: limit, Dashed: 4},
	}
	var buf bytes.Buffer
	if err := graph.Render(&buf, "png", series, p); err != nil {
		fmt.Println(err)
		return
	}
	img, err := png.Decode(&buf)
	fmt.Println(img.Bounds().Size(), err)
	// Output: (400,200) <nil>
}
