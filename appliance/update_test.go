package appliance

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// POST /update keeps only what parses as a unified kernel image.
func TestUpdateHandlerRejects(t *testing.T) {
	dir := t.TempDir()
	h := updateHandler(dir)
	for _, body := range []string{"", "MZ not a PE file", strings.Repeat("x", 4096)} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("POST", "/update", strings.NewReader(body)))
		if w.Code != http.StatusBadRequest {
			t.Errorf("%.10q: %d, want 400", body, w.Code)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("a rejected upload left %v", ents)
	}
}

// statbox update refuses a file that holds no system before it sends anything.
func TestUpdateRefusesNonImage(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.img")
	os.WriteFile(p, make([]byte, 4096), 0o644)
	var out, errb strings.Builder
	if rc := Update([]string{"http://127.0.0.1:1", p}, &out, &errb); rc != 1 || !strings.Contains(errb.String(), "not a GPT disk image") {
		t.Errorf("Update = %d, %q", rc, errb.String())
	}
}
