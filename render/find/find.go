// Package find answers graphite-web's metric browsing API from the index:
// /metrics/find (treejson, completer, nodelist, json, pickle),
// /metrics/expand and /metrics/index.json, in graphite-web 1.1.8's shapes.
package find

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"statbox/render"
	"statbox/render/pyjson"
	"statbox/storage/index"
)

// maxBody bounds a POSTed form: a find request is a pattern and a few flags.
const maxBody = 1 << 20

// Intervals gives the time span a leaf holds data for, as graphite-web's
// whisper reader reports it: from now minus the file's longest retention to
// its modification time. ok is false when the file cannot be read. Optional:
// without it a leaf's intervals are empty.
type Intervals func(name string) (start, end float64, ok bool)

// Handler serves /metrics/find, /metrics/expand and /metrics/index.json
// (and /metrics, which graphite-web answers as find) from x.
type Handler struct {
	Index     *index.Index
	Intervals Intervals
}

// ServeHTTP dispatches on the path's last element.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch strings.TrimSuffix(r.URL.Path, "/") {
	case "/metrics/find", "/metrics":
		h.find(w, r)
	case "/metrics/expand":
		h.expand(w, r)
	case "/metrics/index.json":
		h.indexJSON(w, r)
	default:
		http.NotFound(w, r)
	}
}

// form parses the query string and a POSTed form, POST values winning as in
// graphite-web's queryParams.update(request.POST).
func form(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, fmt.Sprintf("request body larger than %d bytes", maxBody), http.StatusRequestEntityTooLarge)
			return nil, false
		}
		http.Error(w, "bad form: "+err.Error(), http.StatusBadRequest)
		return nil, false
	}
	q := r.URL.Query()
	for k, v := range r.PostForm {
		q[k] = v
	}
	return q, true
}

// last is graphite-web's QueryDict.get: the last value of key.
func last(q url.Values, key string) (string, bool) {
	v, ok := q[key]
	if !ok || len(v) == 0 {
		return "", false
	}
	return v[len(v)-1], true
}

// intParam is graphite-web's queryParamAsInt: a missing parameter is def, a
// bad one a 400 naming it.
func intParam(q url.Values, key string, def int) (int, error) {
	s, ok := last(q, key)
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("Invalid int value %q for param %s", s, key)
	}
	return n, nil
}

// match is one result of a find: graphite-web yields a path that is both a
// branch and a leaf as two nodes, the branch first.
type match struct {
	path string
	leaf bool
}

func (m match) name() string { return m.path[strings.LastIndexByte(m.path, '.')+1:] }

func (h *Handler) find(w http.ResponseWriter, r *http.Request) {
	q, ok := form(w, r)
	if !ok {
		return
	}
	format, ok := last(q, "format")
	if !ok {
		format = "treejson"
	}
	var flags [4]int
	for i, k := range []string{"leavesOnly", "local", "wildcards", "position"} {
		def := 0
		if k == "position" {
			def = -1
		}
		n, err := intParam(q, k, def)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		flags[i] = n
	}
	leavesOnly, wildcards, position := flags[0] != 0, flags[2] != 0, flags[3]
	query, ok := last(q, "query")
	if !ok {
		http.Error(w, "Missing required parameter 'query'", http.StatusBadRequest)
		return
	}
	if query == "" {
		http.Error(w, "Required parameter 'query' is empty", http.StatusBadRequest)
		return
	}
	// from and until are checked, as graphite-web checks them, then unused:
	// graphite-web uses them only to pick among cluster nodes holding the
	// same leaf, and one box holds every leaf.
	now := time.Now()
	for _, k := range []string{"now", "from", "until"} {
		v, ok := last(q, k)
		if !ok || v == "-1" && k != "now" {
			continue
		}
		t, err := render.ParseTime(v, now)
		if err != nil {
			http.Error(w, fmt.Sprintf("Invalid value %q for param %s: %v", v, k, err), http.StatusBadRequest)
			return
		}
		if k == "now" {
			now = t
		}
	}
	basePath := ""
	if i := strings.LastIndexByte(query, '.'); i >= 0 {
		basePath = query[:i+1]
	}
	if format == "completer" {
		query = strings.ReplaceAll(query, "..", "*.")
		if !strings.HasSuffix(query, "*") {
			query += "*"
		}
		if av, _ := intParam(q, "automatic_variants", 0); av != 0 {
			parts := strings.Split(query, ".")
			for i, p := range parts {
				if strings.Contains(p, ",") && !strings.Contains(p, "{") {
					parts[i] = "{" + p + "}"
				}
			}
			query = strings.Join(parts, ".")
		}
	}
	nodes, err := h.Index.Find(query)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var ms []match
	for _, n := range nodes {
		if n.Branch && !leavesOnly {
			ms = append(ms, match{n.Path, false})
		}
		if n.Leaf {
			ms = append(ms, match{n.Path, true})
		}
	}
	// graphite-web sorts its matches by node name, stably; which of several
	// paths with one name comes first is up to its shuffle, here path order.
	slices.SortStableFunc(ms, func(a, b match) int { return strings.Compare(a.name(), b.name()) })
	jsonp, _ := last(q, "jsonp")
	w.Header().Set("Pragma", "no-cache")
	w.Header().Set("Cache-Control", "no-cache")
	switch format {
	case "treejson":
		pyjson.Respond(w, r, treeJSON(ms, basePath, wildcards), jsonp)
	case "completer":
		var out []any
		for _, m := range ms {
			p, leaf := m.path, "1"
			if !m.leaf {
				p, leaf = p+".", "0"
			}
			out = append(out, pyjson.O("path", p, "name", m.name(), "is_leaf", leaf))
		}
		if len(out) > 1 && wildcards {
			out = append(out, pyjson.O("name", "*"))
		}
		pyjson.Respond(w, r, pyjson.O("metrics", orEmpty(out)), jsonp)
	case "nodelist":
		seen := map[string]bool{}
		var out []string
		for _, m := range ms {
			parts := strings.Split(m.path, ".")
			i := position
			if i < 0 {
				i += len(parts)
			}
			if i < 0 || i >= len(parts) {
				http.Error(w, fmt.Sprintf("position %d is outside the path %q", position, m.path), http.StatusBadRequest)
				return
			}
			if !seen[parts[i]] {
				seen[parts[i]] = true
				out = append(out, parts[i])
			}
		}
		slices.Sort(out)
		pyjson.Respond(w, r, pyjson.O("nodes", orEmptyS(out)), jsonp)
	case "json":
		slices.SortStableFunc(ms, func(a, b match) int { return strings.Compare(a.path, b.path) })
		out := make([]any, 0, len(ms))
		for _, m := range ms {
			o := pyjson.O("path", m.path, "is_leaf", m.leaf)
			if m.leaf {
				var iv []any
				if s, e, ok := h.intervals(m.path); ok {
					iv = []any{pyjson.O("start", s, "end", e)}
				}
				o = append(o, pyjson.Field{Key: "intervals", Value: orEmpty(iv)})
			}
			out = append(out, o)
		}
		pyjson.Respond(w, r, out, jsonp)
	case "pickle":
		w.Header().Set("Content-Type", "application/pickle")
		w.Write(h.pickleNodes(ms))
	default:
		http.Error(w, "Invalid value for 'format' parameter", http.StatusBadRequest)
	}
}

func (h *Handler) intervals(name string) (float64, float64, bool) {
	if h.Intervals == nil {
		return 0, 0, false
	}
	return h.Intervals(name)
}

func orEmpty(v []any) []any {
	if v == nil {
		return []any{}
	}
	return v
}

func orEmptyS(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// treeJSON is graphite-web's tree_json: an optional "*" node, then the
// branches, then the leaves, one entry per node name (the first seen).
func treeJSON(ms []match, basePath string, wildcards bool) []any {
	branch := pyjson.O("allowChildren", 1, "expandable", 1, "leaf", 0)
	leaf := pyjson.O("allowChildren", 0, "expandable", 0, "leaf", 1)
	out := []any{}
	if len(ms) > 1 && wildcards {
		kind := leaf
		for _, m := range ms {
			if !m.leaf {
				kind = branch
				break
			}
		}
		out = append(out, append(pyjson.O("text", "*", "id", basePath+"*"), kind...))
	}
	seen := map[string]bool{}
	var branches, leaves []any
	for _, m := range ms {
		name := m.name()
		if seen[name] {
			continue
		}
		seen[name] = true
		// graphite-web unquotes the text (unquote_plus) but not the id.
		text := name
		if u, err := url.QueryUnescape(name); err == nil {
			text = u
		}
		o := pyjson.O("text", text, "id", basePath+name)
		if m.leaf {
			leaves = append(leaves, append(o, leaf...))
		} else {
			branches = append(branches, append(o, branch...))
		}
	}
	out = append(out, branches...)
	return append(out, leaves...)
}

func (h *Handler) expand(w http.ResponseWriter, r *http.Request) {
	q, ok := form(w, r)
	if !ok {
		return
	}
	var flags [3]int
	for i, k := range []string{"local", "groupByExpr", "leavesOnly"} {
		n, err := intParam(q, k, 0)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		flags[i] = n
	}
	groupByExpr, leavesOnly := flags[1] != 0, flags[2] != 0
	jsonp, _ := last(q, "jsonp")
	grouped := pyjson.Object{}
	var all []string
	for _, query := range q["query"] {
		nodes, err := h.Index.Find(query)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var paths []string
		for _, n := range nodes {
			if n.Leaf || !leavesOnly {
				paths = append(paths, n.Path)
			}
		}
		all = append(all, paths...)
		// A query given twice keeps one key, as in graphite-web's dict.
		i := slices.IndexFunc(grouped, func(f pyjson.Field) bool { return f.Key == query })
		if i < 0 {
			grouped = append(grouped, pyjson.Field{Key: query, Value: orEmptyS(paths)})
		}
	}
	w.Header().Set("Pragma", "no-cache")
	w.Header().Set("Cache-Control", "no-cache")
	if groupByExpr {
		pyjson.Respond(w, r, pyjson.O("results", grouped), jsonp)
		return
	}
	slices.Sort(all)
	pyjson.Respond(w, r, pyjson.O("results", orEmptyS(slices.Compact(all))), jsonp)
}

func (h *Handler) indexJSON(w http.ResponseWriter, r *http.Request) {
	q, ok := form(w, r)
	if !ok {
		return
	}
	jsonp, _ := last(q, "jsonp")
	if pretty, _ := last(q, "pretty"); pretty != "" {
		pyjson.Respond(w, r, orEmptyS(h.Index.Names()), jsonp)
		return
	}
	// The whole tree can be a million names: write them straight into one
	// body rather than a string each.
	accept := r.Header.Get("Accept")
	ascii := accept == "" || accept == "application/json"
	body := make([]byte, 0, 64<<10)
	if jsonp != "" {
		body = append(append(body, jsonp...), '(')
	}
	body = append(body, '[')
	n := 0
	h.Index.WalkNames(func(name []byte) {
		if n > 0 {
			body = append(body, ", "...)
		}
		n++
		body = pyjson.AppendString(body, string(name), ascii)
	})
	body = append(body, ']')
	ctype := "application/json"
	if jsonp != "" {
		body = append(body, ')')
		ctype = "text/javascript"
	}
	if !ascii {
		ctype += ";charset=utf-8"
	}
	w.Header().Set("Content-Type", ctype)
	w.Write(body)
}
