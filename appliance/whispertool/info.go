package whispertool

import (
	"os"
	"strings"
)

// runInfo is whisper-info: a file's header, as text, as JSON, or one field.
func runInfo(r *run, args []string) int {
	var asJSON bool
	p := &optParser{prog: "whisper-info", usage: "%prog [options] path [field]", options: []*option{
		{long: "--json", flag: &asJSON, help: "Output results in JSON form"},
	}}
	args, code := r.parseArgs(p, args)
	if code != nil {
		return *code
	}
	if len(args) < 1 {
		r.out.WriteString(p.help())
		return 1
	}
	path := args[0]
	h, err := readPyHeader(path)
	if err != nil {
		return r.fail(pyError(err, path))
	}
	st, err := os.Stat(path)
	if err != nil {
		return r.fail(pyError(err, path))
	}
	// whisper.info's dict, in its key order, with fileSize added last.
	fields := []struct{ key, value string }{
		{"aggregationMethod", h.method.String()},
		{"maxRetention", itoa(int64(h.maxRetention))},
		{"xFilesFactor", floatRepr(float64(h.xff))},
		{"archives", archivesRepr(h)},
		{"fileSize", itoa(st.Size())},
	}
	if len(args) > 1 && args[1] != "" {
		field := args[1]
		keys := make([]string, len(fields))
		for i, f := range fields {
			if f.key == field {
				r.printf("%s\n", f.value)
				return 0
			}
			keys[i] = f.key
		}
		r.printf("Unknown field \"%s\". Valid fields are %s\n", field, strings.Join(keys, ","))
		return 1
	}
	if asJSON {
		r.printf("{\n  \"aggregationMethod\": \"%s\",\n  \"maxRetention\": %s,\n  \"xFilesFactor\": %s,\n  \"archives\": ",
			fields[0].value, fields[1].value, fields[2].value)
		if len(h.archives) == 0 {
			r.printf("[]")
		} else {
			r.printf("[\n")
			for i, a := range h.archives {
				if i > 0 {
					r.printf(",\n")
				}
				r.printf("    {\n      \"offset\": %d,\n      \"secondsPerPoint\": %d,\n      \"points\": %d,\n      \"retention\": %d,\n      \"size\": %d\n    }",
					a.Offset, a.SecondsPerPoint, a.Points, a.Retention(), a.Size())
			}
			r.printf("\n  ]")
		}
		r.printf(",\n  \"fileSize\": %s\n}\n", fields[4].value)
		return 0
	}
	for _, f := range fields {
		if f.key != "archives" {
			r.printf("%s: %s\n", f.key, f.value)
		}
	}
	r.printf("\n")
	for i, a := range h.archives {
		r.printf("Archive %d\noffset: %d\nsecondsPerPoint: %d\npoints: %d\nretention: %d\nsize: %d\n\n",
			i, a.Offset, a.SecondsPerPoint, a.Points, a.Retention(), a.Size())
	}
	return 0
}

// archivesRepr is Python's repr of whisper.info's list of archive dicts.
func archivesRepr(h pyHeader) string {
	var b strings.Builder
	b.WriteString("[")
	for i, a := range h.archives {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("{'offset': " + itoa(int64(a.Offset)) +
			", 'secondsPerPoint': " + itoa(int64(a.SecondsPerPoint)) +
			", 'points': " + itoa(int64(a.Points)) +
			", 'retention': " + itoa(a.Retention()) +
			", 'size': " + itoa(a.Size()) + "}")
	}
	b.WriteString("]")
	return b.String()
}
