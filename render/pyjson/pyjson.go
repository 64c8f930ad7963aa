// Package pyjson writes JSON byte for byte as Python's json.dumps writes it
// with its default separators (", " and ": "), the form graphite-web's API
// answers in, and sends it as graphite-web's views do (jsonp, content type).
package pyjson

import (
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"statbox/render/pyfmt"
)

// Field is one key and value of an Object.
type Field struct {
	Key   string
	Value any
}

// Object is a JSON object whose keys keep their order, as a Python dict
// keeps its insertion order.
type Object []Field

// Append appends v as json.dumps(v, ensure_ascii=ascii) writes it. v is nil,
// bool, int, int64, uint32, float64 (NaN is NaN, infinities Infinity, as
// Python writes them), string, []string, []int64, []any or Object; any other
// type is written as null.
func Append(dst []byte, v any, ascii bool) []byte {
	return Options{ASCII: ascii}.Append(dst, v)
}

// Options are json.dumps's arguments that graphite-web varies.
type Options struct {
	ASCII    bool // ensure_ascii
	Indent   int  // indent: 0 is None (one line); n puts each item on its own line
	SortKeys bool // sort_keys
}

// Append appends v as json.dumps(v, ensure_ascii=o.ASCII, indent=o.Indent or
// None, sort_keys=o.SortKeys) writes it.
func (o Options) Append(dst []byte, v any) []byte {
	return o.appendValue(dst, v, 0)
}

// open starts a container's item: the separator after the previous one and,
// when indenting, a new line at the item's depth. With an indent Python
// separates items by "," alone, without by ", ".
func (o Options) open(dst []byte, i, level int) []byte {
	if i > 0 {
		dst = append(dst, ',')
		if o.Indent == 0 {
			dst = append(dst, ' ')
		}
	}
	if o.Indent > 0 {
		dst = append(dst, '\n')
		for range o.Indent * (level + 1) {
			dst = append(dst, ' ')
		}
	}
	return dst
}

// close ends a non-empty container: a new line at its own depth.
func (o Options) close(dst []byte, level int, c byte) []byte {
	if o.Indent > 0 {
		dst = append(dst, '\n')
		for range o.Indent * level {
			dst = append(dst, ' ')
		}
	}
	return append(dst, c)
}

func (o Options) appendValue(dst []byte, v any, level int) []byte {
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...)
	case bool:
		if v {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case int:
		return strconv.AppendInt(dst, int64(v), 10)
	case int64:
		return strconv.AppendInt(dst, v, 10)
	case uint32:
		return strconv.AppendUint(dst, uint64(v), 10)
	case float64:
		switch {
		case math.IsNaN(v):
			return append(dst, "NaN"...)
		case math.IsInf(v, 1):
			return append(dst, "Infinity"...)
		case math.IsInf(v, -1):
			return append(dst, "-Infinity"...)
		}
		return pyfmt.AppendFloatRepr(dst, v)
	case string:
		return AppendString(dst, v, o.ASCII)
	case []string:
		if len(v) == 0 {
			return append(dst, "[]"...)
		}
		dst = append(dst, '[')
		for i, s := range v {
			dst = o.open(dst, i, level)
			dst = AppendString(dst, s, o.ASCII)
		}
		return o.close(dst, level, ']')
	case []int64:
		if len(v) == 0 {
			return append(dst, "[]"...)
		}
		dst = append(dst, '[')
		for i, n := range v {
			dst = o.open(dst, i, level)
			dst = strconv.AppendInt(dst, n, 10)
		}
		return o.close(dst, level, ']')
	case []any:
		if len(v) == 0 {
			return append(dst, "[]"...)
		}
		dst = append(dst, '[')
		for i, e := range v {
			dst = o.open(dst, i, level)
			dst = o.appendValue(dst, e, level+1)
		}
		return o.close(dst, level, ']')
	case Object:
		if len(v) == 0 {
			return append(dst, "{}"...)
		}
		if o.SortKeys && !slices.IsSortedFunc(v, func(a, b Field) int { return strings.Compare(a.Key, b.Key) }) {
			v = slices.Clone(v)
			slices.SortStableFunc(v, func(a, b Field) int { return strings.Compare(a.Key, b.Key) })
		}
		dst = append(dst, '{')
		for i, f := range v {
			dst = o.open(dst, i, level)
			dst = AppendString(dst, f.Key, o.ASCII)
			dst = append(dst, ": "...)
			dst = o.appendValue(dst, f.Value, level+1)
		}
		return o.close(dst, level, '}')
	}
	return append(dst, "null"...)
}

// AppendString appends s as a JSON string the way Python's json module
// writes it: with ascii (ensure_ascii, the default) every character outside
// space..'~' is a \u escape (surrogate pairs above U+FFFF); without, only
// quote, backslash and control characters are escaped.
func AppendString(dst []byte, s string, ascii bool) []byte {
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
		case r < 0x20:
			dst = u(dst, r)
		case !ascii || r < 0x7f:
			dst = append(dst, string(r)...)
		case r < 0x10000:
			dst = u(dst, r)
		default:
			r -= 0x10000
			dst = u(dst, 0xd800+(r>>10))
			dst = u(dst, 0xdc00+(r&0x3ff))
		}
	}
	return append(dst, '"')
}

// Respond writes v as graphite-web's json_response_for does: ASCII-only
// JSON as application/json when the request's Accept header is missing or
// exactly application/json, UTF-8 JSON with ";charset=utf-8" otherwise
// (browsers, Grafana), wrapped as jsonp(...) in text/javascript when the
// jsonp parameter is set, indented by 2 when the pretty parameter (form,
// else query string) is not empty. r's form must have been parsed.
func Respond(w http.ResponseWriter, r *http.Request, v any, jsonp string) {
	accept := r.Header.Get("Accept")
	ascii := accept == "" || accept == "application/json"
	o := Options{ASCII: ascii}
	// Django's QueryDict.get gives a key's last value.
	pretty := ""
	if p := r.URL.Query()["pretty"]; len(p) > 0 {
		pretty = p[len(p)-1]
	}
	if p := r.PostForm["pretty"]; len(p) > 0 {
		pretty = p[len(p)-1]
	}
	if pretty != "" {
		o.Indent = 2
	}
	body := make([]byte, 0, 256)
	ctype := "application/json"
	if jsonp != "" {
		body = append(body, jsonp...)
		body = append(body, '(')
		ctype = "text/javascript"
	}
	body = o.Append(body, v)
	if jsonp != "" {
		body = append(body, ')')
	}
	if !ascii {
		ctype += ";charset=utf-8"
	}
	w.Header().Set("Content-Type", ctype)
	w.Write(body)
}

// Error answers status with {"error": msg}, as graphite-web's tags and
// events views report a bad request.
func Error(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(Append(nil, Object{{"error", msg}}, true))
}

// O builds an Object from alternating keys and values: O("a", 1, "b", x).
// A key that is not a string is written as "".
func O(kv ...any) Object {
	o := make(Object, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		k, _ := kv[i].(string)
		o = append(o, Field{Key: k, Value: kv[i+1]})
	}
	return o
}
