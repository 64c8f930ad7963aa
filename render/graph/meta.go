package graph

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
)

// jsonFloats writes NaN and ±Inf as null, where graphite-web's metadata
// has None.
type jsonFloats []float64

func (fs jsonFloats) MarshalJSON() ([]byte, error) {
	b := []byte{'['}
	for i, v := range fs {
		if i > 0 {
			b = append(b, ", "...)
		}
		if !finite(v) {
			b = append(b, "null"...)
			continue
		}
		b = strconv.AppendFloat(b, v, 'g', -1, 64)
	}
	return append(b, ']'), nil
}

type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	if !finite(float64(f)) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, float64(f), 'g', -1, 64), nil
}

// svgMetadata is the JSON graphite-web appends to its SVG graphs in a
// <script> element (metadata = {...}) for scripts that annotate the graph:
// the time range, drawing area, y-axis and the drawn series.
func (g *lineGraph) svgMetadata() []byte {
	if g.timeRange == 0 {
		return []byte("{}")
	}
	type series struct {
		Name           string         `json:"name"`
		Start          int64          `json:"start"`
		End            int64          `json:"end"`
		Step           int64          `json:"step"`
		ValuesPerPoint int            `json:"valuesPerPoint"`
		Color          string         `json:"color"`
		Data           jsonFloats     `json:"data"`
		Options        map[string]any `json:"options"`
	}
	m := map[string]any{
		"x":       map[string]int64{"start": g.startTime, "end": g.endTime},
		"options": map[string]float64{"lineWidth": g.lineWidth},
		"font": map[string]any{"name": g.p.FontName, "size": g.font.size,
			"bold": g.p.FontBold, "italic": g.p.FontItalic},
		"area": map[string]jsonFloat{"xmin": jsonFloat(g.area.xmin), "xmax": jsonFloat(g.area.xmax),
			"ymin": jsonFloat(g.area.ymin), "ymax": jsonFloat(g.area.ymax)},
	}
	if !g.secondY && g.ax != nil {
		m["y"] = map[string]any{"top": jsonFloat(g.ax.top), "bottom": jsonFloat(g.ax.bottom),
			"step": jsonFloat(g.ax.step), "labels": g.ax.labels, "labelValues": jsonFloats(g.ax.values)}
	}
	list := []series{}
	for _, d := range g.data {
		if d.stacked {
			continue
		}
		opts := map[string]any{}
		if d.right {
			opts["secondYAxis"] = true
		}
		if d.infinite {
			opts["drawAsInfinite"] = true
		}
		if d.lineWidth > 0 {
			opts["lineWidth"] = d.lineWidth
		}
		if d.dash > 0 {
			opts["dashed"] = d.dash
		}
		if d.alpha > 0 && !math.IsNaN(d.alpha) {
			opts["alpha"] = d.alpha
		}
		list = append(list, series{Name: d.Name, Start: d.Start, End: d.end(), Step: d.Step,
			ValuesPerPoint: d.perPoint, Color: d.colorName, Data: d.vals, Options: opts})
	}
	m["series"] = list
	var b bytes.Buffer
	// json escapes <, > and &, so nothing in a name can end the CDATA
	// section the document wraps this in
	if err := json.NewEncoder(&b).Encode(m); err != nil {
		return []byte("{}")
	}
	return bytes.TrimSpace(b.Bytes())
}
