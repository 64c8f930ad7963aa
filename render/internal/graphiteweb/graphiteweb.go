// Package graphiteweb starts Debian's graphite-web 1.1.8 for tests: its
// Django app under the standard library's WSGI server on a free loopback
// port, reading a given whisper tree, so tests can ask it and statbox the
// same questions.
package graphiteweb

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Python is Debian's interpreter, the one graphite-web is installed for.
const Python = "/usr/bin/python3"

// Server is a running graphite-web.
type Server struct {
	// URL is its base, e.g. http://127.0.0.1:PORT, without a trailing slash.
	URL string
	cmd *exec.Cmd
	env []string
	dir string
}

// Available says why graphite-web cannot run here, or nil.
func Available() error {
	out, err := exec.Command(Python, "-c", "import importlib.util as u, sys; sys.exit(u.find_spec('graphite.render.functions') is None or u.find_spec('django') is None)").CombinedOutput()
	if err != nil {
		return fmt.Errorf("graphite-web is not installed (make deps-graphite-web): %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

const settings = `
SECRET_KEY = 'statbox-test'
STORAGE_DIR = %[1]q
WHISPER_DIR = %[2]q
STANDARD_DIRS = [WHISPER_DIR]
LOG_DIR = %[3]q
INDEX_FILE = %[4]q
TIME_ZONE = 'UTC'
DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': %[5]q}}
CACHES = {'default': {'BACKEND': 'django.core.cache.backends.dummy.DummyCache'}}
DEFAULT_CACHE_DURATION = 0
CARBONLINK_HOSTS = []
REPLICATION_FACTOR = 0
TAGDB = 'graphite.tags.localdatabase.LocalDatabaseTagDB'
LOG_RENDERING_PERFORMANCE = False
LOG_CACHE_PERFORMANCE = False
`

// serve binds port 0, prints the port, and serves requests one at a time.
const serve = `
import sys, logging
from wsgiref.simple_server import make_server, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application
class Quiet(WSGIRequestHandler):
    def log_message(self, *a): pass
app = get_wsgi_application()
srv = make_server('127.0.0.1', 0, app, handler_class=Quiet)
print(srv.server_address[1], flush=True)
srv.serve_forever()
`

// Start runs graphite-web over whisperDir with its state in workDir. It
// returns once the server answers.
func Start(whisperDir, workDir string) (*Server, error) {
	for _, d := range []string{"log", "storage"} {
		if err := os.MkdirAll(filepath.Join(workDir, d), 0o755); err != nil {
			return nil, fmt.Errorf("graphite-web work dir: %w", err)
		}
	}
	conf := fmt.Sprintf(settings, filepath.Join(workDir, "storage"), whisperDir, filepath.Join(workDir, "log"),
		filepath.Join(workDir, "storage", "index"), filepath.Join(workDir, "graphite.db"))
	if err := os.WriteFile(filepath.Join(workDir, "statbox_gw_settings.py"), []byte(conf), 0o644); err != nil {
		return nil, fmt.Errorf("graphite-web settings: %w", err)
	}
	if err := os.WriteFile(filepath.Join(workDir, "statbox_gw_serve.py"), []byte(serve), 0o644); err != nil {
		return nil, fmt.Errorf("graphite-web server script: %w", err)
	}
	env := append(os.Environ(), "DJANGO_SETTINGS_MODULE=graphite.settings",
		"GRAPHITE_SETTINGS_MODULE=statbox_gw_settings", "PYTHONPATH="+workDir, "TZ=UTC")
	mig := exec.Command(Python, "-m", "django", "migrate", "--noinput")
	mig.Env, mig.Dir = env, workDir
	if out, err := mig.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("graphite-web migrate: %v: %s", err, out)
	}
	cmd := exec.Command(Python, filepath.Join(workDir, "statbox_gw_serve.py"))
	cmd.Env, cmd.Dir = env, workDir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(workDir, "log", "stderr.log"))
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start graphite-web: %w", err)
	}
	port := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		port <- strings.TrimSpace(line)
		io.Copy(io.Discard, stdout)
	}()
	var p string
	select {
	case p = <-port:
	case <-time.After(60 * time.Second):
	}
	if p == "" {
		cmd.Process.Kill()
		cmd.Wait()
		log, _ := os.ReadFile(logf.Name())
		return nil, fmt.Errorf("graphite-web did not start: %s", log)
	}
	return &Server{URL: "http://127.0.0.1:" + p, cmd: cmd, env: env, dir: workDir}, nil
}

// Python runs a script in graphite-web's environment (its settings, its
// modules importable) and returns what it prints: for asking graphite-web
// what its HTTP API cannot answer on Python 3.11, such as /functions, which
// fails there on inspect.getargspec.
func (s *Server) Python(script string) ([]byte, error) {
	cmd := exec.Command(Python, "-c", "import django; django.setup()\n"+script)
	cmd.Env, cmd.Dir = s.env, s.dir
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return out, fmt.Errorf("graphite-web python: %v: %s", err, ee.Stderr)
		}
		return out, fmt.Errorf("graphite-web python: %w", err)
	}
	return out, nil
}

// Close stops the server.
func (s *Server) Close() error {
	s.cmd.Process.Kill()
	s.cmd.Wait()
	return nil
}

// Get asks path?q of the server and returns status and body.
func (s *Server) Get(path string, q url.Values) (int, []byte, error) {
	resp, err := http.Get(s.URL + path + "?" + q.Encode())
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// Post sends a form or body to path and returns status and body.
func (s *Server) Post(path, contentType string, body io.Reader) (int, []byte, error) {
	resp, err := http.Post(s.URL+path, contentType, body)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// ForTest starts graphite-web for a test binary over whisperDir: it skips tb
// when graphite-web is missing, or fails it when the CI variable is "true".
// The caller closes the server (from TestMain or tb.Cleanup).
func ForTest(tb testing.TB, whisperDir, workDir string) *Server {
	tb.Helper()
	if err := Available(); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatal(err)
		}
		tb.Skip(err)
	}
	s, err := Start(whisperDir, workDir)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}
