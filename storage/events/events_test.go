package events

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestParseTagInput compares ParseTagInput with django-tagging's own
// parse_tag_input (installed with graphite-web).
func TestParseTagInput(t *testing.T) {
	inputs := []string{"", "a", "a b", "b a a", "  a   b ", "a,b", "a, b c", "ops,  reboot ,web", `"a b" c`,
		`"a,b" c`, `"unclosed a`, `"unclosed, a`, `x "a b",c`, `,`, `""`, `" "`, "caf\u00e9 \u2603", "a\tb"}
	in, _ := json.Marshal(inputs)
	cmd := exec.Command("/usr/bin/python3", "-c", `
import json, sys
from tagging.utils import parse_tag_input
print(json.dumps([parse_tag_input(s) for s in json.load(sys.stdin)]))`)
	cmd.Stdin = strings.NewReader(string(in))
	cmd.Env = append(os.Environ(), "DJANGO_SETTINGS_MODULE=graphite.settings")
	out, err := cmd.Output()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("django-tagging (graphite-web) missing: %v", err)
		}
		t.Skipf("django-tagging (graphite-web) missing: %v", err)
	}
	var want [][]string
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	for i, s := range inputs {
		got := ParseTagInput(s)
		if len(got) == 0 && len(want[i]) == 0 {
			continue
		}
		if !slices.Equal(got, want[i]) {
			t.Errorf("ParseTagInput(%q) = %q, django-tagging %q", s, got, want[i])
		}
	}
}

func TestReplay(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []Event{{When: 3e6, What: "c", Tags: "x"}, {When: 1e6, What: "a\n\"q\"", Tags: "x y"}, {When: 2e6, What: "b"}} {
		if _, err := s.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	f, _ := os.OpenFile(filepath.Join(dir, logName), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("garbage\n{\"id\":9,\"when\":")
	f.Close()
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Skipped != 1 {
		t.Errorf("Skipped = %d, want 1", s.Skipped)
	}
	var whats []string
	for _, e := range s.Find(0, 1e7, nil, All) {
		whats = append(whats, e.What)
	}
	if want := []string{"a\n\"q\"", "b", "c"}; !slices.Equal(whats, want) {
		t.Errorf("replayed %q, want %q", whats, want)
	}
	e, _ := s.Add(Event{When: 4e6, What: "d"})
	if e.ID != 4 {
		t.Errorf("next id %d, want 4", e.ID)
	}
	if got, _ := s.EventTimes(0, 10, []string{"x"}); !slices.Equal(got, []int64{1, 3}) {
		t.Errorf("EventTimes(x) = %v", got)
	}
}
