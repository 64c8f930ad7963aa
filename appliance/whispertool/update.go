package whispertool

import (
	"fmt"
	"math"
	"strings"

	"statbox/storage/whisper"
)

// runUpdate is whisper-update: one point goes through update(), several
// through update_many(), as in whisper-update.
func runUpdate(r *run, args []string) int {
	p := &optParser{prog: "whisper-update", usage: "%prog [options] path timestamp:value [timestamp:value]*"}
	args, code := r.parseArgs(p, args)
	if code != nil {
		return *code
	}
	if len(args) < 2 {
		r.out.WriteString(p.help())
		return 1
	}
	now := r.now.Unix()
	path := args[0]
	fields := make([][]string, 0, len(args)-1)
	for _, s := range args[1:] {
		s = strings.ReplaceAll(s, "N:", itoa(now)+":")
		fields = append(fields, strings.Split(s, ":"))
	}
	if len(fields) == 1 {
		if msg := unpackPair(fields[0]); msg != "" {
			return r.fail(msg)
		}
		value, ok := parsePyFloat(fields[0][1])
		if !ok {
			return r.fail("could not convert string to float: " + strRepr(fields[0][1]))
		}
		f, msg := openWhisper(path, whisper.Options{})
		if f == nil {
			return r.fail(msg)
		}
		defer f.Close()
		ts, ok := parsePyInt(fields[0][0], 10)
		if !ok {
			return r.fail("invalid literal for int() with base 10: " + strRepr(fields[0][0]))
		}
		if err := f.Update(value, ts, now); err != nil {
			return r.fail(pyError(err, path))
		}
		return 0
	}
	points := make([]whisper.Point, 0, len(fields))
	for _, fs := range fields {
		if msg := unpackPair(fs); msg != "" {
			return r.fail(msg)
		}
		ts, ok := parsePyInt(fs[0], 10)
		if !ok {
			return r.fail("invalid literal for int() with base 10: " + strRepr(fs[0]))
		}
		value, ok := parsePyFloat(fs[1])
		if !ok {
			return r.fail("could not convert string to float: " + strRepr(fs[1]))
		}
		points = append(points, whisper.Point{Timestamp: ts, Value: value})
	}
	f, msg := openWhisper(path, whisper.Options{})
	if f == nil {
		return r.fail(msg)
	}
	defer f.Close()
	if msg := checkPackable(f, points, now); msg != "" {
		return r.fail(msg)
	}
	if err := f.UpdateMany(points, now); err != nil {
		return r.fail(pyError(err, path))
	}
	return 0
}

// unpackPair is Python's error for unpacking a split point into
// (timestamp, value), or "" when it has two fields.
func unpackPair(fields []string) string {
	switch {
	case len(fields) < 2:
		return fmt.Sprintf("not enough values to unpack (expected 2, got %d)", len(fields))
	case len(fields) > 2:
		return "too many values to unpack (expected 2)"
	}
	return ""
}

// checkPackable refuses, before anything is written, a batch that whisper.py
// would fail to pack: a point from the future lands in the first archive, and
// an interval past 2^32-1 does not fit its 32-bit field. whisper.py packs a
// batch before writing it; the library would write the points before it.
func checkPackable(f *whisper.File, points []whisper.Point, now int64) string {
	step := int64(f.Header.Archives[0].SecondsPerPoint)
	retention := f.Header.Archives[0].Retention()
	for _, p := range points {
		if now-p.Timestamp <= retention && p.Timestamp-pyMod(p.Timestamp, step) > math.MaxUint32 {
			return "'L' format requires 0 <= number <= 4294967295"
		}
	}
	return ""
}

// pyMod is Python's %: the result has the sign of m.
func pyMod(a, m int64) int64 {
	r := a % m
	if r != 0 && (r < 0) != (m < 0) {
		r += m
	}
	return r
}
