// Package tags answers graphite-web's tag API from the index: registering
// series (/tags/tagSeries, /tags/tagMultiSeries), finding them by tag
// expressions (/tags/findSeries), listing tags and values (/tags,
// /tags/<tag>) and Grafana's autocompletion (/tags/autoComplete/...), in
// graphite-web 1.1.8's shapes with LocalDatabaseTagDB's semantics.
package tags

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"statbox/hotpath/carbon"
	"statbox/render/pyjson"
	"statbox/storage/index"
	"statbox/storage/layout"
)

// maxBody bounds a POSTed form; tagMultiSeries may carry many paths.
const maxBody = 8 << 20

// maxPaths bounds the series one tagMultiSeries call registers.
const maxPaths = 10000

// defaultLimit is graphite-web's TAGDB_AUTOCOMPLETE_LIMIT.
const defaultLimit = 100

// Handler serves /tags and everything under it from Index.
type Handler struct {
	Index *index.Index
}

// ServeHTTP dispatches on the path below /tags, as graphite-web's tags/urls.py.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sub := strings.TrimPrefix(r.URL.Path, "/tags")
	q, ok := form(w, r)
	if !ok {
		return
	}
	switch sub {
	case "/tagSeries":
		h.tagSeries(w, r, q, false)
	case "/tagMultiSeries":
		h.tagSeries(w, r, q, true)
	case "/findSeries":
		h.findSeries(w, r, q)
	case "/delSeries":
		// The series log has no tombstones yet: say so rather than pretend.
		if methods(w, r, http.MethodPost) {
			pyjson.Error(w, http.StatusNotImplemented, "delSeries is not supported by statbox yet")
		}
	case "/autoComplete/tags":
		h.autoCompleteTags(w, r, q)
	case "/autoComplete/values":
		h.autoCompleteValues(w, r, q)
	case "", "/":
		h.list(w, r)
	default:
		h.details(w, r, q, sub[1:])
	}
}

// form gives graphite-web's queryParams: the query string, plus the posted
// form for a POST; nothing for other methods.
func form(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	q := r.URL.Query()
	if r.Method != http.MethodPost {
		return q, true
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			pyjson.Error(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", maxBody))
			return nil, false
		}
		pyjson.Error(w, http.StatusBadRequest, "bad form: "+err.Error())
		return nil, false
	}
	for k, v := range r.PostForm {
		q[k] = v
	}
	return q, true
}

func last(q url.Values, key string) string {
	if v := q[key]; len(v) > 0 {
		return v[len(v)-1]
	}
	return ""
}

// list returns q[key], or q[key+"[]"] (the jQuery/PHP form graphite-web
// also reads) when the first is empty.
func list(q url.Values, key string) []string {
	if v := q[key]; len(v) > 0 {
		return v
	}
	return q[key+"[]"]
}

// respond writes v as graphite-web's jsonResponse does: ASCII JSON, indented
// by 2 with sorted keys when the pretty parameter is not empty.
func respond(w http.ResponseWriter, q url.Values, v any) {
	o := pyjson.Options{ASCII: true}
	if last(q, "pretty") != "" {
		o.Indent, o.SortKeys = 2, true
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(o.Append(nil, v))
}

func methods(w http.ResponseWriter, r *http.Request, allowed ...string) bool {
	for _, m := range allowed {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	w.WriteHeader(http.StatusMethodNotAllowed)
	return false
}

// limitParam reads limit: missing is def, anything but an integer a 400.
func limitParam(w http.ResponseWriter, q url.Values, def int) (int, bool) {
	s := last(q, "limit")
	if s == "" {
		return def, true
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		pyjson.Error(w, http.StatusBadRequest, fmt.Sprintf("invalid limit %q: not an integer", s))
		return 0, false
	}
	return n, true
}

// fail answers an index error: a refused expression is the client's 400.
func fail(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	if errors.Is(err, index.ErrTagExpr) {
		status = http.StatusBadRequest
	}
	pyjson.Error(w, status, err.Error())
}

// Normalize returns the normal form of a series path as graphite-web's
// TaggedSeries.parse(path).path gives it (carbon's: tags sorted, "name"
// dropped, leading '~' of the metric stripped), or an error naming what is
// wrong with it.
func Normalize(path string) (string, error) {
	b, err := carbon.AppendNormalized(nil, []byte(path))
	if err != nil {
		return "", fmt.Errorf("cannot parse path %q: %w", path, err)
	}
	if err := layout.Check(b); err != nil {
		return "", fmt.Errorf("path %q: %w", path, err)
	}
	return string(b), nil
}

func (h *Handler) tagSeries(w http.ResponseWriter, r *http.Request, q url.Values, multi bool) {
	if !methods(w, r, http.MethodPost) {
		return
	}
	var paths []string
	if multi {
		paths = list(q, "path")
		if len(paths) == 0 {
			pyjson.Error(w, http.StatusBadRequest, "no paths specified")
			return
		}
		if len(paths) > maxPaths {
			pyjson.Error(w, http.StatusBadRequest, fmt.Sprintf("more than %d paths", maxPaths))
			return
		}
	} else {
		p := last(q, "path")
		if p == "" {
			pyjson.Error(w, http.StatusBadRequest, "no path specified")
			return
		}
		paths = []string{p}
	}
	// Every path is checked before any is registered: a bad one fails the
	// call without leaving half of it done.
	out := make([]string, len(paths))
	for i, p := range paths {
		n, err := Normalize(p)
		if err != nil {
			pyjson.Error(w, http.StatusBadRequest, err.Error())
			return
		}
		out[i] = n
	}
	for _, n := range out {
		if err := h.Index.AddTagged(n); err != nil {
			pyjson.Error(w, http.StatusInternalServerError, err.Error())
			return
		}
	}
	if multi {
		respond(w, q, out)
		return
	}
	respond(w, q, out[0])
}

func (h *Handler) findSeries(w http.ResponseWriter, r *http.Request, q url.Values) {
	if !methods(w, r, http.MethodGet, http.MethodPost) {
		return
	}
	exprs := list(q, "expr")
	if len(exprs) == 0 {
		pyjson.Error(w, http.StatusBadRequest, "no tag expressions specified")
		return
	}
	out, err := h.Index.TaggedSeries(exprs)
	if err != nil {
		fail(w, err)
		return
	}
	respond(w, q, nonNil(out))
}

func (h *Handler) autoCompleteTags(w http.ResponseWriter, r *http.Request, q url.Values) {
	if !methods(w, r, http.MethodGet, http.MethodPost) {
		return
	}
	limit, ok := limitParam(w, q, defaultLimit)
	if !ok {
		return
	}
	out, err := h.Index.AutoCompleteTags(list(q, "expr"), last(q, "tagPrefix"), limit)
	if err != nil {
		fail(w, err)
		return
	}
	respond(w, q, nonNil(out))
}

func (h *Handler) autoCompleteValues(w http.ResponseWriter, r *http.Request, q url.Values) {
	if !methods(w, r, http.MethodGet, http.MethodPost) {
		return
	}
	tag := last(q, "tag")
	if tag == "" {
		pyjson.Error(w, http.StatusBadRequest, "no tag specified")
		return
	}
	limit, ok := limitParam(w, q, defaultLimit)
	if !ok {
		return
	}
	out, err := h.Index.AutoCompleteValues(list(q, "expr"), tag, last(q, "valuePrefix"), limit)
	if err != nil {
		fail(w, err)
		return
	}
	respond(w, q, nonNil(out))
}

// list is GET /tags: [{"id": n, "tag": t}, ...]; its filter is read from the
// query string only, as graphite-web reads it.
func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	if !methods(w, r, http.MethodGet) {
		return
	}
	q := r.URL.Query()
	limit, ok := limitParam(w, q, 0)
	if !ok {
		return
	}
	tags, err := h.Index.Tags(last(q, "filter"), limit)
	if err != nil {
		fail(w, err)
		return
	}
	out := make([]any, len(tags))
	for i, t := range tags {
		out[i] = pyjson.O("id", t.ID, "tag", t.Tag)
	}
	respond(w, q, out)
}

// details is GET /tags/<tag>: its values with their series counts, or
// null for a tag no series has.
func (h *Handler) details(w http.ResponseWriter, r *http.Request, q url.Values, tag string) {
	if !methods(w, r, http.MethodGet) {
		return
	}
	limit, ok := limitParam(w, q, 0)
	if !ok {
		return
	}
	id, values, found, err := h.Index.Tag(tag, last(q, "filter"), limit)
	if err != nil {
		fail(w, err)
		return
	}
	if !found {
		respond(w, q, nil)
		return
	}
	vs := make([]any, len(values))
	for i, v := range values {
		vs[i] = pyjson.O("id", v.ID, "value", v.Value, "count", v.Count)
	}
	respond(w, q, pyjson.O("id", id, "tag", tag, "values", vs))
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
