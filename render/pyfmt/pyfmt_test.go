package pyfmt

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// pyEval runs a program in Debian's Python that reads a JSON list of cases
// on stdin and prints one JSON string per case, one per line.
func pyEval(t *testing.T, program string, cases any) []string {
	t.Helper()
	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/bin/python3", "-c", "import sys, json\ncases = json.load(sys.stdin)\n"+program)
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("/usr/bin/python3: %v", err)
		}
		t.Skipf("/usr/bin/python3: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	results := make([]string, len(lines))
	for i, l := range lines {
		if err := json.Unmarshal([]byte(l), &results[i]); err != nil {
			t.Fatalf("python line %q: %v", l, err)
		}
	}
	return results
}

// floatCases are the values the float formatters are checked on, as bits
// so that -0 and the NaNs survive JSON.
var floatCases = []float64{
	0, math.Copysign(0, -1), 1, -1, 0.1, 1.0 / 3, 2.0 / 3, 1e-5, 1e-4, 0.5, 1.5, 100, 123456.789,
	1e15, 1e16, 1e17, 1.5e16, 9999999999999998, 1e20, 1e21, 1e22, 1e35, 1e34, 1e36, 1e300, 1.7976931348623157e308,
	5e-324, 2.2250738585072014e-308, 1e-310, 0.30000001192092896, 0.1 + 0.2, 12345678901234567890,
	-123.456, 1e-7, 0.000123, 123456789012345680000, math.Pi, -math.E * 1e10, 4.35, 2.675, 1e23,
	math.Inf(1), math.Inf(-1), math.Float64frombits(0x7ff8000000000000), math.Float64frombits(0xfff8000000000000),
}

func TestFloatFormatsMatchPython(t *testing.T) {
	bits := make([]uint64, len(floatCases))
	for i, v := range floatCases {
		bits[i] = math.Float64bits(v)
	}
	got := pyEval(t, `
import struct
for b in cases:
    v = struct.unpack('<d', struct.pack('<Q', b))[0]
    print(json.dumps('%r|%s|%f|%10.35g|%g|%.3f' % (v, str([v]), v, v, v, v)))
`, bits)
	for i, v := range floatCases {
		var b []byte
		b = AppendFloatRepr(b, v)
		b = append(b, "|["...)
		b = AppendFloatRepr(b, v)
		b = append(b, "]|"...)
		b = AppendFormatF(b, v)
		b = append(b, '|')
		b = AppendFormatG(b, v, 10, 35)
		b = append(b, '|')
		b = AppendFormatG(b, v, 0, 6)
		if want := got[i]; !strings.HasPrefix(want, string(b)+"|") {
			t.Errorf("%x: go %q, python %q", bits[i], b, want)
		}
	}
}

func TestStrReprMatchesPython(t *testing.T) {
	cases := []string{"", "a.wsp", "it's", `say "hi"`, `both ' and "`, "tab\there", "nl\n", `back\slash`,
		"\x00\x1f\x7f", "caf\u00e9", "\u00a0nbsp", "zw\u200bsp", "emoji \U0001F600", "\u2028", "日本"}
	got := pyEval(t, `
for s in cases:
    print(json.dumps(repr(s)))
`, cases)
	for i, s := range cases {
		if r := string(AppendStrRepr(nil, s)); r != got[i] {
			t.Errorf("%q: go %s, python %s", s, r, got[i])
		}
	}
}
