package whisper

import (
	"encoding/json"
	"math/rand/v2"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestPySetOrderMatchesCPython checks pySet against list(set(keys)) in
// Debian's Python for many key lists shaped like whisper intervals, some
// near the epoch with 0 among them.
func TestPySetOrderMatchesCPython(t *testing.T) {
	requireReference(t)
	rng := rand.New(rand.NewPCG(1, 2))
	var lists [][]int64
	for n := 0; n < 300; n++ {
		size := 1 + rng.IntN(200)
		step := []int64{1, 10, 60, 300, 3600}[rng.IntN(5)]
		base := int64(1_700_000_000) - int64(1_700_000_000)%step
		if n%4 == 1 {
			base = 0 // intervals from the epoch on, 0 among them
		}
		keys := make([]int64, size)
		for i := range keys {
			keys[i] = base + step*rng.Int64N(int64(size)*2)
		}
		if n%3 == 0 {
			slices.Sort(keys)
		}
		lists = append(lists, keys)
	}
	in, _ := json.Marshal(lists)
	cmd := exec.Command(debianPython, "-c", "import json,sys\nfor l in json.load(sys.stdin): print(json.dumps(list(set(l))))")
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var s pySet
	for i, keys := range lists {
		var want []int64
		json.Unmarshal([]byte(lines[i]), &want)
		if got := s.order(nil, keys); !slices.Equal(got, want) {
			t.Fatalf("list %d (%d keys): got %v, python %v", i, len(keys), got, want)
		}
	}
}
