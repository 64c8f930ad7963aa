package pyjson

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestPython compares Append with Python's json.dumps, ASCII and not.
func TestPython(t *testing.T) {
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s missing", py)
		}
		t.Skip("no /usr/bin/python3")
	}
	strs := []string{"", "a", `q"b\s`, "tab\tnl\nff\fbs\bcr\r", "\x00\x1f\x7f", "caf\u00e9", "\u2603", "\U0001F600", "</script>"}
	floats := []float64{0, math.Copysign(0, -1), 1, 0.1, 1e16, 1e-7, 123456789.125, math.MaxFloat64, math.Inf(1), math.Inf(-1), math.NaN()}
	in, _ := json.Marshal(strs)
	cmd := exec.Command(py, "-c", `
import json, sys
strs = json.load(sys.stdin)
floats = [0.0, -0.0, 1.0, 0.1, 1e16, 1e-7, 123456789.125, 1.7976931348623157e308, float('inf'), float('-inf'), float('nan')]
for a in (True, False):
    print(json.dumps(strs, ensure_ascii=a))
print(json.dumps(floats))
print(json.dumps({"k": [1, None, True, "v"], "e": {}}))
v = {"b": [{"z": 1, "a": []}, "x"], "a": {}, "c": {"y": [1, 2]}}
print(json.dumps(v, indent=2).replace("\n", "|"))
print(json.dumps(v, indent=2, sort_keys=True).replace("\n", "|"))`)
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	anyStrs := make([]any, len(strs))
	for i, s := range strs {
		anyStrs[i] = s
	}
	anyFloats := make([]any, len(floats))
	for i, f := range floats {
		anyFloats[i] = f
	}
	nested := O("b", []any{O("z", 1, "a", []any{}), "x"}, "a", Object{}, "c", O("y", []int64{1, 2}))
	for i, got := range []string{
		string(Append(nil, anyStrs, true)),
		string(Append(nil, strs, false)),
		string(Append(nil, anyFloats, true)),
		string(Append(nil, O("k", []any{1, nil, true, "v"}, "e", Object{}), true)),
		strings.ReplaceAll(string(Options{ASCII: true, Indent: 2}.Append(nil, nested)), "\n", "|"),
		strings.ReplaceAll(string(Options{ASCII: true, Indent: 2, SortKeys: true}.Append(nil, nested)), "\n", "|"),
	} {
		if got != lines[i] {
			t.Errorf("line %d\n Python %s\n pyjson %s", i, lines[i], got)
		}
	}
}
