package render

import (
	"net/http"
	"slices"
	"strings"
)

// serveFunctions answers /functions and /functions/NAME with graphite-web's
// metadata of the functions statbox implements, the shape Grafana reads.
func serveFunctions(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed: use GET", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	name := strings.Trim(strings.TrimPrefix(r.URL.Path, "/functions"), "/")
	w.Header().Set("Content-Type", "application/json")
	if name != "" {
		f, ok := functions[name]
		if !ok {
			http.Error(w, "Function not found: "+name, http.StatusNotFound)
			return
		}
		w.Write(appendFunctionInfo(nil, f))
		return
	}
	if q.Get("type") == "pie" {
		w.Write([]byte("{}"))
		return
	}
	grouped := strings.EqualFold(q.Get("grouped"), "true") || q.Get("grouped") == "1"
	group, hasGroup := q["group"]
	names := make([]string, 0, len(functions))
	for n, f := range functions {
		if hasGroup && f.group != group[0] {
			continue
		}
		names = append(names, n)
	}
	slices.Sort(names)
	dst := []byte{'{'}
	if grouped {
		byGroup := map[string][]string{}
		var groups []string
		for _, n := range names {
			g := functions[n].group
			if _, ok := byGroup[g]; !ok {
				groups = append(groups, g)
			}
			byGroup[g] = append(byGroup[g], n)
		}
		slices.Sort(groups)
		for i, g := range groups {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			dst = appendJSONString(dst, g)
			dst = append(dst, ": {"...)
			for j, n := range byGroup[g] {
				if j > 0 {
					dst = append(dst, ", "...)
				}
				dst = appendJSONString(dst, n)
				dst = append(dst, ": "...)
				dst = appendFunctionInfo(dst, functions[n])
			}
			dst = append(dst, '}')
		}
	} else {
		for i, n := range names {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			dst = appendJSONString(dst, n)
			dst = append(dst, ": "...)
			dst = appendFunctionInfo(dst, functions[n])
		}
	}
	w.Write(append(dst, '}'))
}

// appendFunctionInfo writes one function as graphite-web's functionInfo:
// name, signature, description, module, group, params.
func appendFunctionInfo(dst []byte, f *function) []byte {
	sig := []string{}
	for _, p := range f.params {
		s := p.name
		if p.multiple {
			s = "*" + s
		}
		if p.def != nil {
			s += "=" + defText(p.def)
		}
		sig = append(sig, s)
	}
	dst = append(dst, `{"name": `...)
	dst = appendJSONString(dst, f.name)
	dst = append(dst, `, "function": `...)
	dst = appendJSONString(dst, f.name+"("+strings.Join(sig, ", ")+")")
	dst = append(dst, `, "description": `...)
	dst = appendJSONString(dst, f.desc)
	dst = append(dst, `, "module": "graphite.render.functions", "group": `...)
	dst = appendJSONString(dst, f.group)
	dst = append(dst, `, "params": [`...)
	for i, p := range f.params {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		dst = append(dst, `{"name": `...)
		dst = appendJSONString(dst, p.name)
		dst = append(dst, `, "type": `...)
		dst = appendJSONString(dst, p.typ)
		if p.required {
			dst = append(dst, `, "required": true`...)
		}
		if p.def != nil {
			dst = append(dst, `, "default": `...)
			dst = appendDefault(dst, p.def)
		}
		if p.multiple {
			dst = append(dst, `, "multiple": true`...)
		}
		if len(p.options) > 0 {
			dst = append(dst, `, "options": [`...)
			opts := slices.Clone(p.options)
			slices.Sort(opts)
			for j, o := range opts {
				if j > 0 {
					dst = append(dst, ", "...)
				}
				dst = appendJSONString(dst, o)
			}
			dst = append(dst, ']')
		}
		dst = append(dst, '}')
	}
	return append(dst, "]}"...)
}

func defText(v any) string {
	switch d := v.(type) {
	case string:
		if d == "INF" {
			return "inf"
		}
		return "'" + d + "'"
	case bool:
		if d {
			return "True"
		}
		return "False"
	}
	return string(appendDefault(nil, v))
}

func appendDefault(dst []byte, v any) []byte {
	switch d := v.(type) {
	case string:
		if d == "INF" {
			return append(dst, "1e9999"...)
		}
		return appendJSONString(dst, d)
	case bool:
		if d {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case int:
		return append(dst, pyNum(float64(d), true)...)
	case float64:
		return appendPyRepr(dst, d)
	}
	return append(dst, "null"...)
}
