package render_test

import (
	"fmt"
	"io"
	"net/http/httptest"
	"time"

	"statbox/render"
	"statbox/storage/whisper"
)

// fixed serves one metric, a.b, with a value a minute.
type fixed struct{}

func (fixed) Fetch(dst []float64, name string, from, until, now int64) (whisper.Range, []float64, error) {
	if name != "a.b" {
		return whisper.Range{}, dst, whisper.ErrNoData
	}
	start := from - from%60 + 60
	for t := start; t < until; t += 60 {
		dst = append(dst, float64(t%7))
	}
	return whisper.Range{From: start, Until: start + 60*int64(len(dst)), Step: 60}, dst, nil
}

func ExampleMux() {
	h := render.Mux(render.Options{Fetcher: fixed{}, Now: func() time.Time { return time.Unix(1_700_000_040, 0) }})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/render?format=json&from=-3min&target=alias(scale(a.b,2),'twice')", nil))
	body, _ := io.ReadAll(rec.Body)
	fmt.Println(string(body))
	// Output:
	// [{"target": "twice", "tags": {"name": "a.b", "scale": "2.0"}, "datapoints": [[6.0, 1699999920], [0.0, 1699999980]]}]
}
