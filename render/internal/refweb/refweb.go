// Package refweb runs graphite-web 1.1.8 (Debian's package) on a whisper
// tree for differential tests: a private settings module, a fresh sqlite
// database (tags and events live there), the WSGI app under the standard
// library's wsgiref server on a free loopback port, stopped by PID at the
// end of the test.
package refweb

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
	URL string // http://127.0.0.1:port
}

// Available reports whether graphite-web can be imported; without it a
// test skips, or fails when CI=true.
func Available(t testing.TB) bool {
	t.Helper()
	err := exec.Command(Python, "-c", "import graphite.render.attime, django, whisper").Run()
	if err == nil {
		return true
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("graphite-web is not installed (apt-get install graphite-web): %v", err)
	}
	t.Skipf("graphite-web is not installed: %v", err)
	return false
}

const settings = `
SECRET_KEY = 'statbox-differential-test'
STORAGE_DIR = %[1]q
WHISPER_DIR = %[2]q
STANDARD_DIRS = [WHISPER_DIR]
LOG_DIR = %[3]q
INDEX_FILE = %[4]q
TIME_ZONE = 'UTC'
CARBONLINK_HOSTS = []
REPLICATION_FACTOR = 0
TAGDB = 'graphite.tags.localdatabase.LocalDatabaseTagDB'
TAGDB_CACHE_DURATION = 0
DEFAULT_CACHE_DURATION = 0
DATABASES = {'default': {'NAME': %[5]q, 'ENGINE': 'django.db.backends.sqlite3'}}
CACHES = {'default': {'BACKEND': 'django.core.cache.backends.dummy.DummyCache'}}
`

const serve = `
import sys, logging
from wsgiref.simple_server import make_server, WSGIRequestHandler
import django
django.setup()
from django.core.wsgi import get_wsgi_application
class Quiet(WSGIRequestHandler):
    def log_message(self, *a): pass
srv = make_server('127.0.0.1', 0, get_wsgi_application(), handler_class=Quiet)
print(srv.server_port, flush=True)
srv.serve_forever()
`

// Start runs graphite-web on the whisper tree whisperDir and returns once it
// listens. It is stopped when the test ends.
func Start(t testing.TB, whisperDir string) *Server {
	t.Helper()
	if !Available(t) {
		return nil
	}
	dir := t.TempDir()
	for _, d := range []string{"storage", "log"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mod := fmt.Sprintf(settings, filepath.Join(dir, "storage"), whisperDir, filepath.Join(dir, "log"),
		filepath.Join(dir, "storage", "index"), filepath.Join(dir, "graphite.db"))
	if err := os.WriteFile(filepath.Join(dir, "statbox_test_settings.py"), []byte(mod), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "DJANGO_SETTINGS_MODULE=graphite.settings",
		"GRAPHITE_SETTINGS_MODULE=statbox_test_settings", "PYTHONPATH="+dir, "PYTHONDONTWRITEBYTECODE=1")
	mig := exec.Command(Python, "-m", "django", "migrate", "--noinput", "-v", "0")
	mig.Env, mig.Dir = env, dir
	if out, err := mig.CombinedOutput(); err != nil {
		t.Fatalf("graphite-web migrate: %v\n%s", err, out)
	}
	cmd := exec.Command(Python, "-c", serve)
	cmd.Env, cmd.Dir = env, dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start graphite-web: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	port, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("graphite-web did not start: %v\n%s", err, stderr.String())
	}
	return &Server{URL: "http://127.0.0.1:" + strings.TrimSpace(port)}
}

// client bounds every request, so that a stuck server fails the test rather
// than hanging it.
var client = &http.Client{Timeout: 60 * time.Second}

// Get fetches base+path and returns the status and body.
func Get(t testing.TB, base, path string) (int, []byte) {
	t.Helper()
	resp, err := client.Get(base + path)
	if err != nil {
		t.Fatalf("GET %s%s: %v", base, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s%s: %v", base, path, err)
	}
	return resp.StatusCode, b
}

// PostForm posts form to base+path and returns the status and body.
func PostForm(t testing.TB, base, path string, form url.Values) (int, []byte) {
	t.Helper()
	resp, err := client.PostForm(base+path, form)
	if err != nil {
		t.Fatalf("POST %s%s: %v", base, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s%s: %v", base, path, err)
	}
	return resp.StatusCode, b
}

// Post posts body with a content type to base+path.
func Post(t testing.TB, base, path, ctype, body string) (int, []byte) {
	t.Helper()
	resp, err := client.Post(base+path, ctype, strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s%s: %v", base, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s%s: %v", base, path, err)
	}
	return resp.StatusCode, b
}

// RunPython runs a Python script with graphite-web importable (Django set
// to graphite's settings) and returns its standard output; on failure the
// error carries its standard error.
func RunPython(script string, args ...string) (string, error) {
	cmd := exec.Command(Python, append([]string{"-c", script}, args...)...)
	cmd.Env = append(os.Environ(), "DJANGO_SETTINGS_MODULE=graphite.settings", "PYTHONDONTWRITEBYTECODE=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("%w: %s", err, stderr.String())
	}
	return string(out), nil
}
