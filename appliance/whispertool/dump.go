package whispertool

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"statbox/render/pyfmt"
	"strconv"

	"statbox/storage/whisper"
)

// runDump is whisper-dump: the header and every stored point of every
// archive, slot by slot. Like whisper-dump it reads the bytes itself and
// checks nothing but their presence, so it shows files the library refuses.
func runDump(r *run, args []string) int {
	var pretty bool
	var timeFormat string
	p := &optParser{prog: "whisper-dump", usage: "%prog path", options: []*option{
		{long: "--pretty", flag: &pretty, help: "Show human-readable timestamps instead of unix times"},
		{long: "--time-format", short: "-t", metavar: "TIME_FORMAT", str: &timeFormat,
			help: "Time format to use with --pretty; see time.strftime()"},
	}}
	args, code := r.parseArgs(p, args)
	if code != nil {
		return *code
	}
	if len(args) != 1 {
		p.fail(r.errw, errors.New("require one input file name"))
		return 2
	}
	path := args[0]
	if !exists(path) {
		return r.exit("[ERROR] File \"" + path + "\" does not exist!")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return r.fail(pyError(err, path))
	}
	if len(data) == 0 {
		return r.fail("cannot mmap an empty file")
	}
	if len(data) < whisper.MetadataSize {
		return r.fail("Unable to unpack header")
	}
	u32 := func(off int) uint32 { return binary.BigEndian.Uint32(data[off:]) }
	method := whisper.AggregationMethod(u32(0))
	if !method.Valid() {
		method = whisper.Average // whisper-dump's aggregationTypeToMethod.get(type, 'average')
	}
	count := int64(u32(12))
	var archives []whisper.ArchiveInfo
	for i := int64(0); i < count; i++ {
		off := whisper.MetadataSize + i*whisper.ArchiveInfoSize
		if off+whisper.ArchiveInfoSize > int64(len(data)) {
			return r.fail("Unable to read archive " + itoa(i) + " metadata")
		}
		archives = append(archives, whisper.ArchiveInfo{
			Offset: u32(int(off)), SecondsPerPoint: u32(int(off) + 4), Points: u32(int(off) + 8),
		})
	}
	line := []byte("Meta data:\n  aggregation method: " + method.String() +
		"\n  max retention: " + itoa(int64(u32(4))) + "\n  xFilesFactor: ")
	line = pyfmt.AppendFormatG(line, float64(math.Float32frombits(u32(8))), 0, 6)
	r.out.Write(append(line, "\n\n"...))
	for i, a := range archives {
		r.printf("Archive %d info:\n  offset: %d\n  seconds per point: %d\n  points: %d\n  retention: %d\n  size: %d\n\n",
			i, a.Offset, a.SecondsPerPoint, a.Points, a.Retention(), a.Size())
	}
	for i, a := range archives {
		r.printf("Archive %d data:\n", i)
		off := int64(a.Offset)
		for k := int64(0); k < int64(a.Points); k++ {
			if off+whisper.PointSize > int64(len(data)) {
				return r.fail("unpack requires a buffer of 12 bytes")
			}
			t := int64(u32(int(off)))
			v := math.Float64frombits(binary.BigEndian.Uint64(data[off+4:]))
			line = append(strconv.AppendInt(line[:0], k, 10), ": "...)
			line = appendTimestamp(line, r, t, pretty, timeFormat)
			line = append(line, ", "...)
			line = pyfmt.AppendFormatG(line, v, 10, 35)
			r.out.Write(append(line, '\n'))
			off += whisper.PointSize
		}
	}
	return 0
}
