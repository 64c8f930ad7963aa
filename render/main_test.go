package render

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"statbox/render/internal/graphiteweb"
)

// shared is the one graphite-web of this test binary, over the fixture tree.
var shared struct {
	once sync.Once
	dir  string
	root string
	srv  *graphiteweb.Server
	err  error
}

// sharedGraphiteWeb starts graphite-web once for the package's tests and
// returns it with the fixture's whisper root; it skips t when graphite-web
// is missing (fails with CI=true).
func sharedGraphiteWeb(t *testing.T) (*graphiteweb.Server, string) {
	t.Helper()
	if err := graphiteweb.Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "statbox-render-")
		if shared.err != nil {
			return
		}
		shared.root = writeFixture(t, shared.dir)
		shared.srv, shared.err = graphiteweb.Start(shared.root, filepath.Join(shared.dir, "graphite-web"))
		if shared.err == nil {
			shared.err = registerFixture(shared.srv)
		}
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.srv, shared.root
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.srv != nil {
		shared.srv.Close()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// registerFixture tells graphite-web's tag database of the tagged series and
// its event store of the events, as the appliance's index and event store
// know them.
func registerFixture(s *graphiteweb.Server) error {
	form := url.Values{}
	for _, n := range fixtureNames {
		if strings.Contains(n, ";") {
			form.Add("path", n)
		}
	}
	if c, b, err := s.Post("/tags/tagMultiSeries", "application/x-www-form-urlencoded", strings.NewReader(form.Encode())); err != nil || c != 200 {
		return fmt.Errorf("tagMultiSeries: %d %v %.300s", c, err, b)
	}
	for _, e := range fixtureEvents {
		body := fmt.Sprintf(`{"what": "e", "tags": %q, "when": %d, "data": ""}`, strings.Join(e.tags, " "), e.when)
		if c, b, err := s.Post("/events/", "application/json", strings.NewReader(body)); err != nil || c != 200 {
			return fmt.Errorf("post event: %d %v %.300s", c, err, b)
		}
	}
	return nil
}
