package whispertool

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// pyEval runs a Python program that reads a JSON list of cases on stdin and
// prints one JSON result per case, one per line.
func pyEval(t *testing.T, program string, cases any) []string {
	t.Helper()
	needPython(t)
	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, "-c", "import sys, json, time, os\ncases = json.load(sys.stdin)\n"+program)
	cmd.Stdin = strings.NewReader(string(in))
	cmd.Env = append(cmd.Environ(), "TZ=Europe/Berlin")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v", err)
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

func TestByteFormatMatchesPython(t *testing.T) {
	sizes := []int64{0, 1023, 1024, 1025, 4096, 17308, 1048575, 1048576, 5 << 30, 1<<40 + 12345, 999999999999}
	got := pyEval(t, `
def byte_format(num):
  for x in ['bytes', 'KB', 'MB']:
    if num < 1024.0:
      return "%.3f%s" % (num, x)
    num /= 1024.0
  return "%.3f%s" % (num, 'GB')
for n in cases:
    print(json.dumps(byte_format(n)))
`, sizes)
	for i, n := range sizes {
		if s := byteFormat(float64(n)); s != got[i] {
			t.Errorf("%d: go %q, python %q", n, s, got[i])
		}
	}
}

func TestNumberParsingMatchesPython(t *testing.T) {
	cases := []string{"0", "7", "-7", "+7", " 42 ", "\t42\n", "1_000", "1__0", "_1", "1_", "007", "08", "0x1f", "0X1F",
		"0x_1f", "0b101", "0b", "0o17", "017", "1.5", "1e3", "", " ", "abc", "nan", "-nan", "NaN", "inf", "-Infinity",
		"+inf", "infinity", "in", "\u00a05\u2003", "\u00857", ".5", "5.", ".", "1e", "1e+5", "1E-5", "1_0.2_5", "1._5", "1e_5", "0x1p3", "--1",
		"99999999999999999999999", "-99999999999999999999999", "1e400", "-1e400", "1e-400", "12abc", "\x1c5\x1f"}
	got := pyEval(t, `
def opt_int(val):
    if val[:2].lower() == "0x": radix = 16
    elif val[:2].lower() == "0b":
        radix = 2
        val = val[2:] or "0"
    elif val[:1] == "0": radix = 8
    else: radix = 10
    return int(val, radix)
for s in cases:
    out = []
    for f in (lambda s: int(s), opt_int, float):
        try:
            v = f(s)
            if isinstance(v, int):
                v = max(min(v, 1 << 60), -(1 << 60))
            out.append(repr(v))
        except ValueError:
            out.append('error')
    print(json.dumps('|'.join(out)))
`, cases)
	for i, s := range cases {
		var out []string
		for _, f := range []func(string) (int64, bool){func(s string) (int64, bool) { return parsePyInt(s, 10) }, parseOptInt} {
			if n, ok := f(s); ok {
				out = append(out, itoa(n))
			} else {
				out = append(out, "error")
			}
		}
		if v, ok := parsePyFloat(s); ok {
			out = append(out, floatRepr(v))
		} else {
			out = append(out, "error")
		}
		if g := strings.Join(out, "|"); g != got[i] {
			t.Errorf("%q: go %s, python %s", s, g, got[i])
		}
	}
}

func TestStrftimeMatchesPython(t *testing.T) {
	formats := []string{"%Y-%m-%d %H:%M:%S", "%a %A %b %B %h", "%c|%x|%X|%D|%F|%T|%R|%r", "%y %C %j %e %k %l %I %p %P",
		"%u %w %U %W %V %G %g", "%s %z %Z", "%%|%n|%t|%q|%5%", "%-d %-m %_H %05d %10Y %-5d %^a %#b %#Z %^#a %#p %^P",
		"%Q %5 abc% %+ %E %Ey %Od", "plain", "", "%010a|%3p|%12c", "%^c|%#A"}
	times := []int64{0, 1, 86399, 951782400, 1700000000, 1711846800, 1711850400, 1729990800, 2147483647, 4294967295}
	type tc struct {
		F string `json:"f"`
		T int64  `json:"t"`
	}
	var cases []tc
	for _, f := range formats {
		for _, tm := range times {
			cases = append(cases, tc{f, tm})
		}
	}
	got := pyEval(t, `
for c in cases:
    print(json.dumps(time.strftime(c['f'], time.localtime(c['t'])) + '|' + time.ctime(c['t'])))
`, cases)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err, "(apt-get install tzdata)")
		}
		t.Skip("no tzdata:", err)
	}
	for i, c := range cases {
		tm := time.Unix(c.T, 0).In(berlin)
		g := string(appendStrftime(nil, c.F, tm)) + "|" + string(appendCtime(nil, tm))
		if g != got[i] {
			t.Errorf("%q at %d: go %q, python %q", c.F, c.T, g, got[i])
		}
	}
}
