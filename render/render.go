// Package render answers graphite-web's HTTP API: today GET /render of exact
// metric paths as JSON, the shape Grafana and graphite-web's clients read.
package render

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"statbox/render/pyfmt"
	"statbox/storage/whisper"
)

// Fetcher reads a metric's points as whisper's fetch does, with points not
// yet on disk merged in. The storage cache implements it.
type Fetcher interface {
	Fetch(dst []float64, name string, from, until, now int64) (whisper.Range, []float64, error)
}

// Handler serves /render. now is the clock relative times are taken from.
func Handler(f Fetcher, now func() time.Time) http.Handler {
	return &handler{f: f, now: now}
}

type handler struct {
	f   Fetcher
	now func() time.Time
}

type series struct {
	name   string
	r      whisper.Range
	values []float64
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	q := r.Form
	now := h.now()
	if s := q.Get("now"); s != "" {
		t, err := ParseTime(s, now)
		if err != nil {
			http.Error(w, "now: "+err.Error(), http.StatusBadRequest)
			return
		}
		now = t
	}
	from, until := now.Add(-24*time.Hour), now
	for _, p := range []struct {
		key string
		t   *time.Time
	}{{"from", &from}, {"until", &until}} {
		if s := q.Get(p.key); s != "" {
			t, err := ParseTime(s, now)
			if err != nil {
				http.Error(w, p.key+": "+err.Error(), http.StatusBadRequest)
				return
			}
			*p.t = t
		}
	}
	if format := q.Get("format"); format != "" && format != "json" {
		http.Error(w, fmt.Sprintf("format %q is not served yet: only json", format), http.StatusBadRequest)
		return
	}
	var out []series
	for _, target := range q["target"] {
		if target == "" {
			continue
		}
		if strings.ContainsAny(target, "*?[]{}()") {
			http.Error(w, fmt.Sprintf("target %q: only exact metric paths are served yet", target), http.StatusBadRequest)
			return
		}
		rg, vals, err := h.f.Fetch(nil, target, from.Unix(), until.Unix(), now.Unix())
		if err != nil {
			if errors.Is(err, whisper.ErrNoData) || errors.Is(err, fs.ErrNotExist) {
				continue
			}
			http.Error(w, fmt.Sprintf("target %q: %v", target, err), http.StatusInternalServerError)
			return
		}
		out = append(out, series{name: target, r: rg, values: vals})
	}
	body := appendJSON(nil, out)
	if cb := q.Get("jsonp"); cb != "" {
		w.Header().Set("Content-Type", "text/javascript")
		body = append(append([]byte(cb+"("), body...), ')')
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	w.Write(body)
}

// appendJSON writes series as graphite-web's json.dumps does: ", " and ": "
// separators, keys target, tags, datapoints, floats as Python's repr, null for
// None and NaN, 1e9999 for infinities.
func appendJSON(dst []byte, out []series) []byte {
	dst = append(dst, '[')
	for i, s := range out {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		dst = append(dst, `{"target": `...)
		dst = appendJSONString(dst, s.name)
		dst = append(dst, `, "tags": `...)
		dst = appendTags(dst, s.name)
		dst = append(dst, `, "datapoints": [`...)
		for k, v := range s.values {
			if k > 0 {
				dst = append(dst, ", "...)
			}
			dst = append(dst, '[')
			switch {
			case math.IsNaN(v):
				dst = append(dst, "null"...)
			case math.IsInf(v, 1):
				dst = append(dst, "1e9999"...)
			case math.IsInf(v, -1):
				dst = append(dst, "-1e9999"...)
			default:
				dst = pyfmt.AppendFloatRepr(dst, v)
			}
			dst = append(dst, ", "...)
			dst = strconv.AppendInt(dst, s.r.From+int64(k)*s.r.Step, 10)
			dst = append(dst, ']')
		}
		dst = append(dst, "]}"...)
	}
	return append(dst, ']')
}

// appendTags writes the tags graphite-web gives a series, as TaggedSeries.parse
// makes them: a tagged name's tags in the order they stand, then "name", the
// metric without leading '~'; a plain name's only tag is its name.
func appendTags(dst []byte, name string) []byte {
	metric, tags, tagged := strings.Cut(name, ";")
	dst = append(dst, '{')
	if tagged {
		for seg := range strings.SplitSeq(tags, ";") {
			k, v, _ := strings.Cut(seg, "=")
			dst = appendJSONString(dst, k)
			dst = append(dst, ": "...)
			dst = appendJSONString(dst, v)
			dst = append(dst, ", "...)
		}
		metric = strings.TrimLeft(metric, "~")
	}
	dst = append(dst, `"name": `...)
	dst = appendJSONString(dst, metric)
	return append(dst, '}')
}

// appendJSONString writes s as Python's json.dumps does with its default
// ensure_ascii: every non-ASCII character as a \u escape (surrogate pairs
// beyond the BMP), control characters as \uXXXX but for \b \f \n \r \t.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	u := func(dst []byte, r rune) []byte {
		return append(dst, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
	}
	dst = append(dst, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			dst = append(dst, '\\', byte(r))
		case r == '\b':
			dst = append(dst, `\b`...)
		case r == '\f':
			dst = append(dst, `\f`...)
		case r == '\n':
			dst = append(dst, `\n`...)
		case r == '\r':
			dst = append(dst, `\r`...)
		case r == '\t':
			dst = append(dst, `\t`...)
		case r < 0x20 || r > 0x7e && r < 0x10000:
			dst = u(dst, r)
		case r >= 0x10000:
			r -= 0x10000
			dst = u(dst, 0xd800+(r>>10))
			dst = u(dst, 0xdc00+(r&0x3ff))
		default:
			dst = append(dst, byte(r))
		}
	}
	return append(dst, '"')
}
