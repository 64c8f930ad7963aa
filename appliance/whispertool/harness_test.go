package whispertool

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The reference: Debian's python3-whisper tools, run by Debian's python3
// (the first python3 on PATH may be another without the whisper module).
const (
	python  = "/usr/bin/python3"
	toolDir = "/usr/bin"
)

// needPython skips the test when the reference tools are missing, or fails
// it under CI=true, where they must be installed.
func needPython(t *testing.T) {
	t.Helper()
	need := []string{python, "/usr/lib/python3/dist-packages/whisper.py"}
	for tool := range tools {
		need = append(need, toolDir+"/whisper-"+tool)
	}
	for _, p := range need {
		if _, err := os.Stat(p); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("reference missing: %v (apt-get install python3-whisper)", err)
			}
			t.Skipf("reference missing: %v", err)
		}
	}
}

// toolServer runs whisper tools in one Python process, one per request line
// on standard input, answering each with a JSON line: the tool's standard
// output, standard error and exit status as a process of its own would show
// them (SystemExit's message, or a traceback, and status 1). time.time() is
// the request's time. Starting Python once per pair rather than once per run
// keeps the package's tests fast.
const toolServer = `
import sys, os, io, json, time, runpy, traceback
import whisper
clock = [0.0]
time.time = lambda: clock[0]
answers = sys.stdout
for line in sys.stdin:
    req = json.loads(line)
    clock[0] = req['now']
    os.chdir(req['dir'])
    sys.argv = [req['tool']] + req['args']
    sys.stdout, sys.stderr = io.StringIO(), io.StringIO()
    code = 0
    try:
        runpy.run_path('` + toolDir + `/' + req['tool'], run_name='__main__')
    except SystemExit as e:
        if isinstance(e.code, int):
            code = e.code
        elif e.code is not None:
            print(e.code, file=sys.stderr)
            code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    whisper.LOCK = False
    out, err = sys.stdout.getvalue(), sys.stderr.getvalue()
    sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    answers.write(json.dumps({'stdout': out, 'stderr': err, 'code': code}) + '\n')
    answers.flush()
`

// outcome is what one run of a tool showed.
type outcome struct {
	stdout, stderr string
	code           int
}

// pair is a Python side and a Go side, each in its own directory, run at the
// same fixed time in the same time zone. Arguments starting with "@" name
// files in the side's directory; outputs show the directory as "DIR".
type pair struct {
	t      *testing.T
	now    float64 // time.time() on both sides
	tz     string
	pyDir  string
	goDir  string
	server *json.Encoder // requests to the toolServer
	answer *json.Decoder // its answers
}

func newPair(t *testing.T, now float64, tz string) *pair {
	needPython(t)
	root := t.TempDir()
	p := &pair{t: t, now: now, tz: tz, pyDir: filepath.Join(root, "py"), goDir: filepath.Join(root, "go")}
	for _, d := range []string{p.pyDir, p.goDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(python, "-c", toolServer)
	cmd.Env = p.env()
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Close()
		cmd.Wait()
	})
	p.server, p.answer = json.NewEncoder(in), json.NewDecoder(out)
	return p
}

func (p *pair) args(dir string, args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, "@", dir+"/")
	}
	return out
}

func (p *pair) env() []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "COLUMNS=") || strings.HasPrefix(kv, "TZ=")
	})
	return append(env, "TZ="+p.tz)
}

// python runs a Python snippet with whisper imported, now (int) defined and
// the Python side's directory current, then copies every file there to the
// Go side, so both start from the same bytes.
func (p *pair) setup(script string) {
	p.t.Helper()
	cmd := exec.Command(python, "-c", "import whisper, os\nnow = "+fmt.Sprint(int64(p.now))+"\n"+script)
	cmd.Dir = p.pyDir
	cmd.Env = p.env()
	if out, err := cmd.CombinedOutput(); err != nil {
		p.t.Fatalf("setup: %v\n%s", err, out)
	}
	p.sync()
}

// sync makes the Go side's directory a copy of the Python side's.
func (p *pair) sync() {
	p.t.Helper()
	os.RemoveAll(p.goDir)
	if err := os.CopyFS(p.goDir, os.DirFS(p.pyDir)); err != nil {
		p.t.Fatal(err)
	}
}

func (p *pair) runPy(tool string, args ...string) outcome {
	p.t.Helper()
	req := map[string]any{"now": p.now, "dir": p.pyDir, "tool": "whisper-" + tool, "args": p.args(p.pyDir, args)}
	var ans struct {
		Stdout, Stderr string
		Code           int
	}
	if err := p.server.Encode(req); err != nil {
		p.t.Fatal(err)
	}
	if err := p.answer.Decode(&ans); err != nil {
		p.t.Fatal(err)
	}
	return outcome{strings.ReplaceAll(ans.Stdout, p.pyDir, "DIR"), strings.ReplaceAll(ans.Stderr, p.pyDir, "DIR"), ans.Code}
}

func (p *pair) location() *time.Location {
	p.t.Helper()
	loc, err := time.LoadLocation(p.tz)
	if err != nil {
		p.t.Fatal(err)
	}
	return loc
}

func (p *pair) runGo(tool string, args ...string) outcome {
	p.t.Helper()
	var stdout, stderr bytes.Buffer
	sec, frac := math.Modf(p.now)
	now := time.Unix(int64(sec), int64(math.Round(frac*1e9))).In(p.location())
	code := Main(append([]string{tool}, p.args(p.goDir, args)...), Env{
		Stdout: &stdout, Stderr: &stderr, Now: func() time.Time { return now },
	})
	return outcome{strings.ReplaceAll(stdout.String(), p.goDir, "DIR"), strings.ReplaceAll(stderr.String(), p.goDir, "DIR"), code}
}

// check runs the tool on both sides and compares what they printed, their
// exit status, and then every file in the two directories, byte for byte.
// Where Python died with a traceback, the Go side must exit 1 with one
// "[ERROR] " line instead.
func (p *pair) check(tool string, args ...string) outcome {
	p.t.Helper()
	py := p.runPy(tool, args...)
	gx := p.runGo(tool, args...)
	name := tool + " " + strings.Join(args, " ")
	p.compare(name, py, gx)
	p.compareFiles(name)
	return py
}

// compare fails the test where the outcomes differ.
func (p *pair) compare(name string, py, gx outcome) {
	p.t.Helper()
	if py.stdout != gx.stdout {
		p.t.Errorf("%s: stdout differs\n--- python\n%s\n--- go\n%s", name, clip(py.stdout), clip(gx.stdout))
	}
	if py.code != gx.code {
		p.t.Errorf("%s: exit status python %d, go %d (stderr python %q, go %q)", name, py.code, gx.code, py.stderr, gx.stderr)
	}
	if strings.Contains(py.stderr, "Traceback (most recent call last)") {
		if !strings.HasPrefix(gx.stderr, "[ERROR] ") || strings.Count(gx.stderr, "\n") != 1 {
			p.t.Errorf("%s: python died with a traceback, go's stderr is not one [ERROR] line: %q\n%s", name, gx.stderr, py.stderr)
		}
	} else if py.stderr != gx.stderr {
		p.t.Errorf("%s: stderr differs\n--- python\n%s\n--- go\n%s", name, py.stderr, gx.stderr)
	}
}

// compareFiles fails the test where the two directories differ.
func (p *pair) compareFiles(name string) {
	p.t.Helper()
	pyFiles, goFiles := listDir(p.t, p.pyDir), listDir(p.t, p.goDir)
	for _, f := range pyFiles {
		if !slices.Contains(goFiles, f) {
			p.t.Errorf("%s: python made %s, go did not", name, f)
			continue
		}
		a, _ := os.ReadFile(filepath.Join(p.pyDir, f))
		b, _ := os.ReadFile(filepath.Join(p.goDir, f))
		if !bytes.Equal(a, b) {
			p.t.Errorf("%s: %s differs: %s", name, f, firstDiff(a, b))
		}
	}
	for _, f := range goFiles {
		if !slices.Contains(pyFiles, f) {
			p.t.Errorf("%s: go made %s, python did not", name, f)
		}
	}
}

// checkNoLeftover is check for a run where whisper.create fails after
// creating its file: whisper.py leaves an empty file behind, the Go side
// leaves none. Everything else must match.
func (p *pair) checkNoLeftover(leftover string, tool string, args ...string) {
	p.t.Helper()
	name := tool + " " + strings.Join(args, " ")
	p.compare(name, p.runPy(tool, args...), p.runGo(tool, args...))
	path := filepath.Join(p.pyDir, leftover)
	if st, err := os.Stat(path); err != nil || st.Size() != 0 {
		p.t.Errorf("%s: python left no empty %s: %v", name, leftover, err)
	}
	os.Remove(path)
	p.compareFiles(name)
}

func listDir(t *testing.T, dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func firstDiff(a, b []byte) string {
	if len(a) != len(b) {
		return fmt.Sprintf("python %d bytes, go %d bytes", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			return fmt.Sprintf("first at byte %d (python %#x, go %#x)", i, a[i], b[i])
		}
	}
	return ""
}

func clip(s string) string {
	if len(s) > 3000 {
		return s[:3000] + "..."
	}
	return s
}
