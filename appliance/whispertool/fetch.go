package whispertool

import (
	"errors"
	"statbox/render/pyfmt"

	"statbox/storage/whisper"
)

// runFetch is whisper-fetch: the values of a time range, one per line or as JSON.
func runFetch(r *run, args []string) int {
	now := r.now.Unix()
	from, until := now-86400, now
	var asJSON, pretty bool
	var timeFormat, drop string
	p := &optParser{prog: "whisper-fetch", usage: "%prog [options] path", options: []*option{
		{long: "--from", metavar: "_FROM", integer: &from,
			help: "Unix epoch time of the beginning of your requested interval (default: 24 hours ago)"},
		{long: "--until", metavar: "UNTIL", integer: &until,
			help: "Unix epoch time of the end of your requested interval (default: now)"},
		{long: "--json", flag: &asJSON, help: "Output results in JSON form"},
		{long: "--pretty", flag: &pretty, help: "Show human-readable timestamps instead of unix times"},
		{long: "--time-format", short: "-t", metavar: "TIME_FORMAT", str: &timeFormat,
			help: "Time format to use with --pretty; see time.strftime()"},
		{long: "--drop", metavar: "DROP", str: &drop, choices: []string{"zeroes", "nulls", "empty"},
			help: "Specify 'nulls' to drop all null values. Specify 'zeroes' to drop all zero values. " +
				"Specify 'empty' to drop both null and zero values"},
	}}
	args, code := r.parseArgs(p, args)
	if code != nil {
		return *code
	}
	if len(args) != 1 {
		r.out.WriteString(p.help())
		return 1
	}
	path := args[0]
	f, msg := openWhisper(path, whisper.Options{ReadOnly: true})
	if f == nil {
		return r.fail(msg)
	}
	defer f.Close()
	rng, values, err := f.Fetch(nil, from, until, now)
	switch {
	case errors.Is(err, whisper.ErrNoData):
		return r.exit("No data in selected timerange")
	case err != nil:
		return r.fail(pyError(err, path))
	}
	if drop != "" {
		kept := values[:0]
		for _, v := range values {
			// Python compares None != 0 as true and NaN != 0 as true.
			zero := !isNone(v) && v == 0
			if (drop == "zeroes" && !zero) || (drop == "nulls" && !isNone(v)) || (drop == "empty" && !zero && !isNone(v)) {
				kept = append(kept, v)
			}
		}
		values = kept
	}
	if asJSON {
		buf := []byte("[")
		for i, v := range values {
			if i > 0 {
				buf = append(buf, ", "...)
			}
			if isNone(v) {
				buf = append(buf, "null"...)
			} else {
				buf = pyfmt.AppendFloatRepr(buf, v)
			}
		}
		buf = append(buf, ']')
		r.printf("{\n    \"start\" : %d,\n    \"end\" : %d,\n    \"step\" : %d,\n    \"values\" : %s\n  }\n",
			rng.From, rng.Until, rng.Step, buf)
		return 0
	}
	// After --drop the timestamps no longer match the values: whisper-fetch
	// counts one step per value printed, and so does this.
	var line []byte
	t := rng.From
	for _, v := range values {
		line = appendTimestamp(line[:0], r, t, pretty, timeFormat)
		line = append(line, '\t')
		if isNone(v) {
			line = append(line, "None"...)
		} else {
			line = pyfmt.AppendFormatF(line, v)
		}
		line = append(line, '\n')
		r.out.Write(line)
		t += rng.Step
	}
	return 0
}

// appendTimestamp is how whisper-fetch and whisper-dump print a time: the
// number, or with --pretty time.ctime() or the strftime format in local time.
func appendTimestamp(dst []byte, r *run, t int64, pretty bool, format string) []byte {
	switch {
	case !pretty:
		return append(dst, itoa(t)...)
	case format == "":
		return appendCtime(dst, r.unixTime(t))
	}
	return appendStrftime(dst, format, r.unixTime(t))
}
