package whisper

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// pythonWhisper is whisper.py from Debian's python3-whisper, driven through
// testdata/driver.py: the reference implementation these tests compare with.
type pythonWhisper struct {
	t   testing.TB
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

// debianPython is Debian's interpreter: the first python3 on PATH may be
// another one without the whisper module (shared/REFERENCES.md).
const debianPython = "/usr/bin/python3"

// requireReference skips the test when whisper.py is missing, or fails it
// when CI=true, where `make test` has installed it.
func requireReference(t testing.TB) {
	t.Helper()
	err := exec.Command(debianPython, "-c", "import whisper").Run()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("whisper.py is not importable by %s (apt-get install python3-whisper): %v", debianPython, err)
	}
	t.Skipf("whisper.py not available: %v", err)
}

func startPython(t testing.TB) *pythonWhisper {
	t.Helper()
	requireReference(t)
	driver, _ := filepath.Abs("testdata/driver.py")
	cmd := exec.Command(debianPython, driver)
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
	p := &pythonWhisper{t: t, cmd: cmd, in: in, out: bufio.NewScanner(out)}
	p.out.Buffer(nil, 64<<20)
	t.Cleanup(func() { in.Close(); cmd.Wait() })
	return p
}

type pyAnswer struct {
	Error  string          `json:"error"`
	Result json.RawMessage `json:"result"`
}

func (p *pythonWhisper) do(op map[string]any) pyAnswer {
	p.t.Helper()
	b, err := json.Marshal(op)
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.in.Write(append(b, '\n')); err != nil {
		p.t.Fatal(err)
	}
	if !p.out.Scan() {
		p.t.Fatalf("whisper.py driver stopped: %v", p.out.Err())
	}
	var a pyAnswer
	if err := json.Unmarshal(p.out.Bytes(), &a); err != nil {
		p.t.Fatalf("driver answer %q: %v", p.out.Bytes(), err)
	}
	return a
}
