package whispertool

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strings"

	"statbox/storage/whisper"
)

// runCreate is whisper-create: a new file, or with --estimate the size one would have.
func runCreate(r *run, args []string) int {
	xff := 0.5
	method := "average"
	var overwrite, estimate, sparse, fallocate bool
	p := &optParser{
		prog: "whisper-create",
		usage: "%prog path timePerPoint:timeToStore [timePerPoint:timeToStore]*\n" +
			"%prog --estimate timePerPoint:timeToStore [timePerPoint:timeToStore]*" + retentionUsage,
		options: []*option{
			{long: "--xFilesFactor", metavar: "XFILESFACTOR", float: &xff},
			{long: "--aggregationMethod", metavar: "AGGREGATIONMETHOD", str: &method,
				help: "Function to use when aggregating values (" + methodList + ")"},
			{long: "--overwrite", flag: &overwrite},
			{long: "--estimate", flag: &estimate,
				help: "Don't create a whisper file, estimate storage requirements based on archive definitions"},
			{long: "--sparse", flag: &sparse, help: "Create new whisper as sparse file"},
			// The library allocates every file's blocks, with fallocate(2) where it can.
			{long: "--fallocate", flag: &fallocate, help: "Create new whisper and use fallocate"},
		},
	}
	args, code := r.parseArgs(p, args)
	if code != nil {
		return *code
	}
	if estimate {
		return r.estimate(p, args)
	}
	if len(args) < 2 {
		r.out.WriteString(p.help())
		return 1
	}
	path := args[0]
	archives, err := parseRetentions(args[1:])
	if err != nil {
		return r.fail(err.Error())
	}
	if overwrite && exists(path) {
		r.printf("Overwriting existing file: %s\n", path)
		if err := unlink(path); err != nil {
			return r.fail(pyError(err, path))
		}
	}
	if msg := create(path, archives, xff, method, sparse); msg != "" {
		return r.fail(msg)
	}
	st, err := os.Stat(path)
	if err != nil {
		return r.fail(pyError(err, path))
	}
	r.printf("Created: %s (%d bytes)\n", path, st.Size())
	return 0
}

// create makes the file as whisper.create does, with its checks in its
// order: the archive list, then an existing file, then the method and the
// xFilesFactor. It returns whisper.py's message for a failure, or "".
func create(path string, archives []whisper.Retention, xff float64, method string, sparse bool) string {
	if err := whisper.ValidateArchiveList(archives); err != nil {
		return err.Error()
	}
	if exists(path) {
		return "File " + path + " already exists!"
	}
	m, err := whisper.ParseAggregationMethod(method)
	if err != nil {
		return err.Error()
	}
	// whisper.py checks the double before packing it as a float.
	if xff < 0 || xff > 1 || math.IsNaN(xff) {
		return "Invalid xFilesFactor " + floatRepr(xff) + ", not between 0 and 1"
	}
	err = whisper.Create(path, archives, whisper.CreateOptions{
		XFilesFactor: xff, XFilesFactorSet: true, AggregationMethod: m, Sparse: sparse,
	})
	switch {
	case errors.Is(err, whisper.ErrExists):
		return "File " + path + " already exists!"
	case err != nil:
		return pyError(err, path)
	}
	return ""
}

// estimate is whisper-create --estimate.
func (r *run) estimate(p *optParser, args []string) int {
	if len(args) == 0 {
		p.printUsage(r.out)
		return 1
	}
	if len(args) == 1 && strings.Index(args[0], ",") > 0 {
		args = strings.Split(args[0], ",")
	}
	var archives, points int64
	for _, def := range args {
		ret, err := whisper.ParseRetentionDef(def)
		if err != nil {
			return r.fail(err.Error())
		}
		r.printf("Archive %d: %d points of %ds precision\n", archives, ret.Points, ret.SecondsPerPoint)
		archives++
		points += int64(ret.Points)
	}
	size := 16 + archives*12 + points*12
	diskSize := int64(math.Ceil(float64(size)/4096.0) * 4096)
	r.printf("\nEstimated Whisper DB Size: %s (%d bytes on disk with 4k blocks)\n\n", byteFormat(float64(size)), diskSize)
	for _, x := range []int64{1, 5, 10, 50, 100, 500} {
		r.printf("Estimated storage requirement for %dk metrics: %s\n", x, byteFormat(float64(x*1000*diskSize)))
	}
	return 0
}

// byteFormat is whisper-create's byte_format: "%.3f" and the largest unit
// up to GB that keeps the number under 1024.
func byteFormat(n float64) string {
	for _, unit := range []string{"bytes", "KB", "MB"} {
		if n < 1024 {
			return fmt.Sprintf("%.3f%s", n, unit)
		}
		n /= 1024
	}
	return fmt.Sprintf("%.3f%s", n, "GB")
}
