package pickle

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"testing"
)

// point is what a Sink received, with the name copied.
type point struct {
	Name  string
	TS    int64
	Value float64
}

func (p point) String() string { return fmt.Sprintf("%q %d %v", p.Name, p.TS, p.Value) }

// recorder is a Sink that keeps copies of what it got.
type recorder struct{ points []point }

func (r *recorder) Store(name []byte, ts int64, v float64) {
	r.points = append(r.points, point{string(name), ts, v})
}

// counter is a Sink that only counts, so it allocates nothing.
type counter struct{ n int }

func (c *counter) Store(name []byte, ts int64, v float64) { c.n++ }

// encodeProto2 pickles points as CPython 3's pickle.dumps(list_of_tuples,
// protocol=2) does (TestGoEncoderMatchesPython checks it byte for byte):
// memoised list, str and tuples, APPENDS batches of 1000, an APPEND for a
// list of one (_pickle.c's batch_list_exact).
func encodeProto2(points []point, intTimestamps bool) []byte {
	b := []byte{opProto, 2, opEmptyList}
	memo := 0
	put := func() {
		if memo < 256 {
			b = append(b, opBinPut, byte(memo))
		} else {
			b = append(b, opLongBinPut)
			b = binary.LittleEndian.AppendUint32(b, uint32(memo))
		}
		memo++
	}
	put()
	for i := 0; i < len(points); i += 1000 {
		batch := points[i:min(i+1000, len(points))]
		if len(points) > 1 {
			b = append(b, opMark)
		}
		for _, p := range batch {
			b = append(b, opBinUnicode)
			b = binary.LittleEndian.AppendUint32(b, uint32(len(p.Name)))
			b = append(b, p.Name...)
			put()
			if intTimestamps {
				b = appendBinInt(b, p.TS)
			} else {
				b = appendBinFloat(b, float64(p.TS))
			}
			b = appendBinFloat(b, p.Value)
			b = append(b, opTuple2)
			put()
			b = append(b, opTuple2)
			put()
		}
		if len(points) > 1 {
			b = append(b, opAppends)
		} else {
			b = append(b, opAppend)
		}
	}
	return append(b, opStop)
}

func appendBinInt(b []byte, v int64) []byte {
	switch {
	case v >= 0 && v <= 0xff:
		return append(b, opBinInt1, byte(v))
	case v >= 0 && v <= 0xffff:
		return append(b, opBinInt2, byte(v), byte(v>>8))
	case v >= math.MinInt32 && v <= math.MaxInt32:
		b = append(b, opBinInt)
		return binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	b = append(b, opLong1, 8)
	return binary.LittleEndian.AppendUint64(b, uint64(v))
}

func appendBinFloat(b []byte, v float64) []byte {
	b = append(b, opBinFloat)
	return binary.BigEndian.AppendUint64(b, math.Float64bits(v))
}

// frame prefixes a pickle with its 4-byte big-endian length.
func frame(pickle []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(pickle))), pickle...)
}

// typicalPoints returns n points as a Diamond or carbon-relay batch has.
func typicalPoints(n int) []point {
	ps := make([]point, n)
	for i := range ps {
		ps[i] = point{fmt.Sprintf("servers.web%03d.cpu.total.user", i), 1700000000 + int64(i/50)*10, float64(i) * 1.25}
	}
	return ps
}

// python3 returns Debian's python3, skipping the test without it (failing
// with CI=true, where `make test` should have installed it).
func python3(t testing.TB) string {
	const py = "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing: %v", py, err)
		}
		t.Skipf("%s is missing: %v", py, err)
	}
	return py
}

func runQuiet(name string, args ...string) error {
	return exec.Command(name, args...).Run()
}

func execOutput(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	return cmd.Output()
}
