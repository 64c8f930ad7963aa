// Package events answers graphite-web's events API from the event store:
// POST /events/ records an event, GET /events/ and /events/get_data list
// them as JSON, /events/<id> shows one, in graphite-web 1.1.8's shapes.
package events

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"statbox/render"
	"statbox/render/pyfmt"
	"statbox/render/pyjson"
	evstore "statbox/storage/events"
)

// maxBody bounds a POSTed event.
const maxBody = 1 << 20

// Handler serves /events/... from Store; Now is the clock for events posted
// without "when" and for relative times (time.Now when nil).
type Handler struct {
	Store *evstore.Store
	Now   func() time.Time
}

func (h *Handler) now() time.Time {
	if h.Now == nil {
		return time.Now()
	}
	return h.Now()
}

// ServeHTTP dispatches as graphite-web's events/urls.py.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sub := strings.TrimPrefix(r.URL.Path, "/events")
	switch {
	case sub == "" || sub == "/":
		if r.Method == http.MethodGet {
			h.getData(w, r)
			return
		}
		h.post(w, r)
	case sub == "/get_data" || sub == "/get_dat": // graphite-web's route, ^/get_data?$, takes both
		h.getData(w, r)
	default:
		id, err := strconv.ParseInt(strings.Trim(sub, "/"), 10, 64)
		if err != nil || strings.Count(sub, "/") > 2 {
			http.NotFound(w, r)
			return
		}
		h.detail(w, id)
	}
}

func (h *Handler) post(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			pyjson.Error(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("event larger than %d bytes", maxBody))
			return
		}
		pyjson.Error(w, http.StatusBadRequest, "reading event: "+err.Error())
		return
	}
	e, err := h.parseEvent(body)
	if err != nil {
		pyjson.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	if _, err := h.Store.Add(e); err != nil {
		pyjson.Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.WriteHeader(http.StatusOK)
}

// parseEvent reads a posted event as graphite-web's post_event does: a JSON
// object with "what", optional "tags" (a list of strings or one string,
// parsed as django-tagging parses tag input), optional "when" (epoch
// seconds; now when missing) and optional "data" (a string, or any JSON
// value kept as Python's str() of it, as graphite-web's text column keeps
// it).
func (h *Handler) parseEvent(body []byte) (evstore.Event, error) {
	var e evstore.Event
	if !utf8.Valid(body) {
		return e, errors.New("event is not valid UTF-8")
	}
	var p fastjson.Parser
	v, err := p.ParseBytes(body)
	if err != nil {
		return e, fmt.Errorf("event is not JSON: %v", err)
	}
	if v.Type() != fastjson.TypeObject {
		return e, errors.New("event must be a JSON object")
	}
	what := v.Get("what")
	if what == nil || what.Type() != fastjson.TypeString {
		return e, errors.New(`"what" must be a string`)
	}
	e.What = string(what.GetStringBytes())
	var tagInput string
	switch t := v.Get("tags"); {
	case t == nil || t.Type() == fastjson.TypeNull:
	case t.Type() == fastjson.TypeString:
		tagInput = string(t.GetStringBytes())
	case t.Type() == fastjson.TypeArray:
		var parts []string
		for _, x := range t.GetArray() {
			if x.Type() != fastjson.TypeString {
				return e, errors.New(`"tags" must be an array of strings or a space-separated string`)
			}
			parts = append(parts, string(x.GetStringBytes()))
		}
		tagInput = strings.Join(parts, " ")
	default:
		return e, errors.New(`"tags" must be an array or space-separated string`)
	}
	e.Tags = tagInput
	switch when := v.Get("when"); {
	case when == nil:
		e.When = h.now().UnixMicro()
	case when.Type() == fastjson.TypeNumber:
		f := when.GetFloat64()
		if math.IsNaN(f) || math.Abs(f) > 1e13 {
			return e, fmt.Errorf(`"when" %v is out of range`, f)
		}
		if n, err := when.Int64(); err == nil {
			e.When = n * 1e6
		} else {
			e.When = int64(math.RoundToEven(f * 1e6))
		}
	default:
		return e, errors.New(`"when" must be a number (epoch seconds)`)
	}
	if d := v.Get("data"); d != nil {
		if d.Type() == fastjson.TypeString {
			e.Data = string(d.GetStringBytes())
		} else {
			e.Data = string(appendPyStr(nil, d, true))
		}
	}
	return e, nil
}

// appendPyStr appends Python's str() (top) or repr() of the value json.loads
// makes of v: dicts and lists with ", " and ": ", strings quoted by repr,
// True, False, None, ints and floats as Python prints them.
func appendPyStr(dst []byte, v *fastjson.Value, top bool) []byte {
	switch v.Type() {
	case fastjson.TypeString:
		if top {
			return append(dst, v.GetStringBytes()...)
		}
		return pyfmt.AppendStrRepr(dst, string(v.GetStringBytes()))
	case fastjson.TypeNumber:
		if n, err := v.Int64(); err == nil {
			return strconv.AppendInt(dst, n, 10)
		}
		raw := v.String()
		if !strings.ContainsAny(raw, ".eE") { // an int beyond int64: Python keeps it exact
			return append(dst, raw...)
		}
		return pyfmt.AppendFloatRepr(dst, v.GetFloat64())
	case fastjson.TypeTrue:
		return append(dst, "True"...)
	case fastjson.TypeFalse:
		return append(dst, "False"...)
	case fastjson.TypeNull:
		return append(dst, "None"...)
	case fastjson.TypeArray:
		dst = append(dst, '[')
		for i, x := range v.GetArray() {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			dst = appendPyStr(dst, x, false)
		}
		return append(dst, ']')
	case fastjson.TypeObject:
		dst = append(dst, '{')
		i := 0
		v.GetObject().Visit(func(k []byte, x *fastjson.Value) {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			i++
			dst = pyfmt.AppendStrRepr(dst, string(k))
			dst = append(dst, ": "...)
			dst = appendPyStr(dst, x, false)
		})
		return append(dst, '}')
	}
	return dst
}

// getData lists events as graphite-web's get_data: from and until (graphite
// time forms, from the query string only; from the epoch to now by
// default), tags (space-separated) and set (union or intersection).
func (h *Handler) getData(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			pyjson.Error(w, http.StatusBadRequest, "bad form: "+err.Error())
			return
		}
	}
	now := h.now()
	from, until := int64(0), now.UnixMicro()
	for _, p := range []struct {
		key string
		t   *int64
	}{{"from", &from}, {"until", &until}} {
		if s, ok := q[p.key]; ok && len(s) > 0 {
			t, err := render.ParseTime(s[len(s)-1], now)
			if err != nil {
				pyjson.Error(w, http.StatusBadRequest, fmt.Sprintf("%s: %v", p.key, err))
				return
			}
			*p.t = t.UnixMicro()
		}
	}
	var tags []string
	if s, ok := q["tags"]; ok && len(s) > 0 {
		tags = strings.Split(s[len(s)-1], " ")
	}
	op := evstore.All
	switch lastOf(q, "set") {
	case "union":
		op = evstore.Union
	case "intersection":
		op = evstore.Intersection
	}
	evs := h.Store.Find(from, until, tags, op)
	out := make([]any, len(evs))
	for i, e := range evs {
		out[i] = pyjson.O("when", floorDiv(e.When, 1e6), "what", e.What, "data", e.Data, "tags", nonNil(e.TagList()), "id", e.ID)
	}
	body := pyjson.Append(nil, out, true)
	// jsonp may come in the query string or the form, the form's last.
	if cb := append(q["jsonp"], r.PostForm["jsonp"]...); len(cb) > 0 {
		w.Header().Set("Content-Type", "text/javascript")
		w.Write([]byte(cb[len(cb)-1] + "(" + string(body) + ")"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

// detail is /events/<id>: the event as graphite-web's jsonDetail gives it
// (Django's model_to_dict, the time in ISO 8601 as DjangoJSONEncoder
// writes it).
func (h *Handler) detail(w http.ResponseWriter, id int64) {
	e, ok := h.Store.Get(id)
	if !ok {
		pyjson.Error(w, http.StatusNotFound, "Event matching query does not exist")
		return
	}
	t := time.UnixMicro(e.When).UTC()
	iso := t.Format("2006-01-02T15:04:05")
	if ms := t.Nanosecond() / 1e6; t.Nanosecond() != 0 {
		iso += fmt.Sprintf(".%03d", ms)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(pyjson.Append(nil, pyjson.O("id", e.ID, "when", iso+"Z", "what", e.What, "data", e.Data, "tags", nonNil(e.TagList())), true))
}

func lastOf(q url.Values, key string) string {
	if v := q[key]; len(v) > 0 {
		return v[len(v)-1]
	}
	return ""
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
