// Package render answers graphite-web's HTTP API: /render with its target
// grammar, function library and output formats, /functions and /version.
package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzhttp"

	"statbox/render/expr"
	"statbox/render/graph"
	"statbox/render/pyfmt"
	"statbox/render/pyjson"
	"statbox/storage/whisper"
)

// Fetcher reads a metric's points as whisper's fetch does, with points not
// yet on disk merged in. The storage cache implements it.
type Fetcher interface {
	Fetch(dst []float64, name string, from, until, now int64) (whisper.Range, []float64, error)
}

// Options are what the handler reads from and the bounds it keeps.
type Options struct {
	Fetcher Fetcher
	// Finder expands globs and tag queries; nil serves exact paths only.
	Finder Finder
	// Events feeds events(); nil gives events() no events.
	Events EventSource
	// Now is the clock relative times are taken from; nil is time.Now.
	Now func() time.Time
	// Bounds of one request: 0 takes the default, negative means none.
	MaxSeries   int           // series fetched (default 10,000)
	MaxPoints   int64         // points fetched (default 100,000,000)
	MaxTargets  int           // targets (default 100)
	MaxDepth    int           // nesting of calls (default expr.MaxDepth)
	MaxDuration time.Duration // evaluation time (default 30s)
}

// Version is the graphite-web version /version reports; Grafana picks its
// function set by it.
const Version = "1.1.8"

// Handler serves /render with its options.
func Handler(o Options) http.Handler {
	if o.Now == nil {
		o.Now = time.Now
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		} else if *v < 0 {
			*v = 0
		}
	}
	def(&o.MaxSeries, 10_000)
	def(&o.MaxTargets, 100)
	def(&o.MaxDepth, expr.MaxDepth)
	if o.MaxPoints == 0 {
		o.MaxPoints = 100_000_000
	} else if o.MaxPoints < 0 {
		o.MaxPoints = 0
	}
	if o.MaxDuration == 0 {
		o.MaxDuration = 30 * time.Second
	}
	return gzhttp.GzipHandler(&handler{o: o})
}

// Mux serves graphite-web's /render, /functions and /version on one handler.
func Mux(o Options) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/render", Handler(o))
	mux.Handle("/render/", Handler(o))
	mux.Handle("/functions", gzhttp.GzipHandler(http.HandlerFunc(serveFunctions)))
	mux.Handle("/functions/", gzhttp.GzipHandler(http.HandlerFunc(serveFunctions)))
	mux.HandleFunc("/version", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, Version)
	})
	mux.HandleFunc("/version/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, Version)
	})
	return mux
}

type handler struct{ o Options }

// request is one parsed /render request.
type request struct {
	targets     []string
	from, until int64
	now         int64
	loc         *time.Location
	format      string
	jsonp       string
	maxPoints   int
	noNull      bool
	pretty      bool
	templates   [][2]string
	xff         float64
}

func (h *handler) parse(r *http.Request) (*request, error) {
	if err := r.ParseForm(); err != nil {
		return nil, fmt.Errorf("bad form: %w", err)
	}
	q := r.Form
	req := &request{loc: time.UTC, format: "png"}
	req.targets = q["target"]
	if len(req.targets) == 0 {
		req.targets = q["target[]"]
	}
	if h.o.MaxTargets > 0 && len(req.targets) > h.o.MaxTargets {
		return nil, &limitError{fmt.Sprintf("more than %d targets (bound MaxTargets)", h.o.MaxTargets)}
	}
	if q.Has("pickle") {
		req.format = "pickle"
	}
	if q.Has("rawData") {
		req.format = "raw"
	}
	if q.Has("format") {
		req.format = q.Get("format")
		req.jsonp = q.Get("jsonp")
	}
	if s := q.Get("maxDataPoints"); s != "" && strings.Trim(s, "0123456789") == "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("maxDataPoints %q: %w", s, err)
		}
		req.maxPoints = n
		req.maxPoints = max(req.maxPoints, 0)
	}
	req.noNull = q.Has("noNullPoints")
	for k, v := range q {
		if strings.HasPrefix(k, "template[") && strings.HasSuffix(k, "]") && len(v) > 0 {
			req.templates = append(req.templates, [2]string{k[len("template[") : len(k)-1], v[len(v)-1]})
		}
	}
	slices.SortFunc(req.templates, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	req.pretty = q.Get("pretty") != "" // graphite-web's bool(pretty)
	if tz := q.Get("tz"); tz != "" {
		// graphite-web ignores an unknown zone.
		if loc, err := time.LoadLocation(tz); err == nil {
			req.loc = loc
		}
	}
	now := h.o.Now()
	if s := q.Get("now"); s != "" {
		t, err := ParseTimeIn(s, now, req.loc)
		if err != nil {
			return nil, fmt.Errorf("now: %w", err)
		}
		now = t
	}
	until := now
	if s, ok := q["until"]; ok {
		t, err := ParseTimeIn(s[0], now, req.loc)
		if err != nil {
			return nil, fmt.Errorf("until: %w", err)
		}
		until = t
	}
	from := now.Add(-24 * time.Hour)
	if s, ok := q["from"]; ok {
		t, err := ParseTimeIn(s[0], now, req.loc)
		if err != nil {
			return nil, fmt.Errorf("from: %w", err)
		}
		from = t
	}
	req.from, req.until, req.now = min(from.Unix(), until.Unix()), max(from.Unix(), until.Unix()), now.Unix()
	if req.from == req.until {
		return nil, errors.New("invalid empty time range: from equals until")
	}
	if s := q.Get("xFilesFactor"); s != "" {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < 0 || f > 1 {
			return nil, fmt.Errorf("xFilesFactor %q: must be a number from 0 to 1", s)
		}
		req.xff = f
	}
	return req, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost && r.Method != http.MethodHead {
		http.Error(w, "method not allowed: use GET or POST", http.StatusMethodNotAllowed)
		return
	}
	req, err := h.parse(r)
	if err != nil {
		fail(w, err)
		return
	}
	var gp graph.Params
	switch req.format {
	case "json", "csv", "raw", "pickle":
	case "png", "svg":
		// Graph parameters are checked before anything is fetched.
		if gp, err = graph.ParseParams(r.Form); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		gp.From, gp.Until = req.from, req.until
	default:
		http.Error(w, fmt.Sprintf("unknown format %q: json, csv, raw, pickle, png or svg", req.format), http.StatusBadRequest)
		return
	}
	out, release, err := h.evaluate(r.Context(), req)
	defer release()
	if err != nil {
		fail(w, err)
		return
	}
	var body []byte
	switch req.format {
	case "json":
		if req.maxPoints > 0 {
			consolidateForJSON(out, req.maxPoints)
		}
		body = appendJSON(nil, out, req.noNull)
		if req.pretty {
			body = indentJSON(body)
		}
		if req.jsonp != "" {
			w.Header().Set("Content-Type", "text/javascript")
			body = append(append([]byte(req.jsonp+"("), body...), ')')
		} else {
			w.Header().Set("Content-Type", "application/json")
		}
	case "csv":
		w.Header().Set("Content-Type", "text/csv")
		body = appendCSV(nil, out, req.loc)
	case "raw":
		w.Header().Set("Content-Type", "text/plain")
		body = appendRaw(nil, out)
	case "pickle":
		w.Header().Set("Content-Type", "application/pickle")
		body = appendPickle(nil, out)
	case "png", "svg":
		var buf bytes.Buffer
		if err := graph.Render(&buf, req.format, graphSeries(out), gp); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = buf.Bytes()
		switch {
		case req.format == "png":
			w.Header().Set("Content-Type", "image/png")
		case req.jsonp != "":
			// graphite-web hands an SVG to a jsonp callback as a JSON string.
			w.Header().Set("Content-Type", "text/javascript")
			body = append(appendJSONString([]byte(req.jsonp+"("), buf.String()), ')')
		default:
			w.Header().Set("Content-Type", "image/svg+xml")
		}
	}
	w.Write(body)
}

// graphSeries hands the series to the graph renderer with their drawing
// attributes, values as they read after any consolidation.
func graphSeries(out []*Series) []graph.Series {
	gs := make([]graph.Series, 0, len(out))
	for _, s := range out {
		if s.Invisible {
			// areaBetween's lower bound: render/graph has no invisible
			// series yet, so it is left out and the area starts at zero.
			continue
		}
		step := s.Step * int64(max(s.ValuesPerPoint, 1))
		vals := s.Points()
		gs = append(gs, graph.Series{
			Name: s.Name, Start: s.Start, End: s.Start + int64(len(vals))*step, Step: step, Values: vals,
			Color: s.Color, LineWidth: s.LineWidth, Dashed: s.Dashed, Alpha: s.Alpha,
			Stacked: s.Stacked, SecondYAxis: s.SecondYAxis, DrawAsInfinite: s.DrawAsInfinite,
			Consolidate: s.ConsolidationFunc,
		})
	}
	return gs
}

// fail answers an error: 400 for the request's faults, 413 past a bound
// (series, points, targets, depth, made points, time), 500 for the rest.
func fail(w http.ResponseWriter, err error) {
	var le *limitError
	var se *expr.SyntaxError
	switch {
	case errors.As(err, &le):
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
	case errors.Is(err, context.DeadlineExceeded):
		http.Error(w, "request took longer than its bound (MaxDuration)", http.StatusRequestEntityTooLarge)
	case errors.As(err, &se):
		http.Error(w, err.Error(), http.StatusBadRequest)
	default:
		var ie *inputError
		if errors.As(err, &ie) || !strings.HasPrefix(err.Error(), "fetch ") {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// evaluate runs every target, bounded in time by MaxDuration.
func (h *handler) evaluate(ctx context.Context, req *request) ([]*Series, func(), error) {
	var nSeries int
	var nPoints int64
	ec := &evalCtx{from: req.from, until: req.until, now: req.now, loc: req.loc, xff: req.xff, opts: &h.o, templates: req.templates,
		series: &nSeries, points: &nPoints, stacks: map[string][]float64{}, bufMu: new(sync.Mutex), bufs: new([][]float64),
		deadline: time.Now().Add(h.o.MaxDuration)}
	type result struct {
		s   []*Series
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- result{err: fmt.Errorf("fetch: internal error evaluating targets: %v", p)}
			}
		}()
		var out []*Series
		for _, t := range req.targets {
			if strings.TrimSpace(t) == "" {
				continue
			}
			e, err := expr.Parse(t)
			if err != nil {
				done <- result{err: err}
				return
			}
			if d := depth(e); h.o.MaxDepth > 0 && d > h.o.MaxDepth {
				done <- result{err: &limitError{fmt.Sprintf("target nests %d calls, more than %d (bound MaxDepth)", d, h.o.MaxDepth)}}
				return
			}
			v, err := ec.eval(e)
			if err != nil {
				done <- result{err: err}
				return
			}
			if v.kind != expr.Path && v.kind != expr.Call {
				done <- result{err: inputErrorf("target %q is not a series", t)}
				return
			}
			out = append(out, v.series...)
		}
		done <- result{s: out}
	}()
	timer := time.NewTimer(h.o.MaxDuration)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.s, ec.release, r.err
	case <-timer.C:
		// The evaluation goes on in its goroutine and may still hold the
		// buffers: they are left to the garbage collector.
		return nil, func() {}, context.DeadlineExceeded
	case <-ctx.Done():
		return nil, func() {}, ctx.Err()
	}
}

func depth(e *expr.Expr) int {
	if e.Kind != expr.Call {
		return 0
	}
	d := 0
	for _, a := range e.Args {
		d = max(d, depth(a))
	}
	for _, k := range e.Kwargs {
		d = max(d, depth(k.Value))
	}
	return d + 1
}

// consolidateForJSON is graphite-web's maxDataPoints for json: series with
// more points than asked are consolidated by their consolidation function,
// their start nudged so bands stay put between refreshes.
func consolidateForJSON(list []*Series, maxPoints int) {
	if len(list) == 0 {
		return
	}
	start, end := list[0].Start, list[0].End
	for _, s := range list {
		start, end = min(start, s.Start), max(end, s.End)
	}
	span := end - start
	for _, s := range list {
		if maxPoints == 1 {
			s.ValuesPerPoint = max(len(s.Values), 1)
			continue
		}
		n := float64(span) / float64(s.Step)
		if float64(maxPoints) >= n {
			continue
		}
		vpp := int64(math.Ceil(n / float64(maxPoints)))
		spp := vpp * s.Step
		nudge := spp + mod(s.Start, s.Step) - mod(s.Start, spp)
		s.Start += nudge
		lose := int(nudge / s.Step)
		if lose > 1 {
			s.Values = s.Values[min(lose-1, len(s.Values)):]
		}
		s.ValuesPerPoint = int(vpp)
	}
}

// datapoints calls fn for each point as graphite-web's datapoints() pairs
// values with timestamps: as many as the shorter of the two.
func datapoints(s *Series, fn func(v float64, t int64)) {
	pts := s.Points()
	step := s.Step * int64(max(s.ValuesPerPoint, 1))
	t := s.Start
	for _, v := range pts {
		if t > s.End {
			return
		}
		fn(v, t)
		t += step
	}
}

// appendJSON writes series as graphite-web's json.dumps does: ", " and ": "
// separators, keys target, tags, datapoints, floats as Python's repr, null for
// None and NaN, 1e9999 for infinities.
func appendJSON(dst []byte, out []*Series, noNull bool) []byte {
	// graphite-web writes nothing when no series has a value (any(data)).
	if !slices.ContainsFunc(out, func(s *Series) bool { return len(s.Values) > 0 }) {
		return append(dst, "[]"...)
	}
	dst = append(dst, '[')
	first := true
	var pts []byte
	for _, s := range out {
		pts = pts[:0]
		n := 0
		datapoints(s, func(v float64, t int64) {
			if noNull && math.IsNaN(v) {
				return
			}
			if n > 0 {
				pts = append(pts, ", "...)
			}
			n++
			pts = append(pts, '[')
			switch {
			case math.IsNaN(v):
				pts = append(pts, "null"...)
			case math.IsInf(v, 1):
				pts = append(pts, "1e9999"...)
			case math.IsInf(v, -1):
				pts = append(pts, "-1e9999"...)
			default:
				pts = pyfmt.AppendFloatRepr(pts, v)
			}
			pts = append(pts, ", "...)
			pts = strconv.AppendInt(pts, t, 10)
			pts = append(pts, ']')
		})
		if noNull && n == 0 {
			continue
		}
		if !first {
			dst = append(dst, ", "...)
		}
		first = false
		dst = append(dst, `{"target": `...)
		dst = appendJSONString(dst, s.Name)
		dst = append(dst, `, "tags": `...)
		dst = appendTagsJSON(dst, s.tags())
		dst = append(dst, `, "datapoints": [`...)
		dst = append(dst, pts...)
		dst = append(dst, "]}"...)
	}
	return append(dst, ']')
}

// appendTagsJSON writes tags as a JSON object in their order.
func appendTagsJSON(dst []byte, t *Tags) []byte {
	dst = append(dst, '{')
	for i, kv := range t.kv {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		dst = appendJSONString(dst, kv[0])
		dst = append(dst, ": "...)
		dst = appendJSONString(dst, kv[1])
	}
	return append(dst, '}')
}

// appendJSONString writes s as Python's json.dumps does with its default
// ensure_ascii.
func appendJSONString(dst []byte, s string) []byte {
	return pyjson.AppendString(dst, s, true)
}
