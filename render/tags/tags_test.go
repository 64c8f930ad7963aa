package tags

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"statbox/render/internal/graphiteweb"
	"statbox/storage/index"
)

// series are registered on both sides in this order, so that the tag and
// value ids (row ids in graphite-web's database) agree too.
var series = []string{
	"cpu.load;dc=x;host=a", "cpu.load;dc=y;host=b", "cpu.load;host=c", "mem.used;dc=x;host=a",
	"disk.used;dc=x;host=a;mount=/var", "cpu.idle;dc=x;host=ab", "net.rx;dc=z;host=web01;iface=eth0",
	"net.rx;dc=z;host=web02;iface=eth0", "net.rx;dc=z;host=web02;iface=eth1",
}

func statbox(t testing.TB) (string, *index.Index) {
	t.Helper()
	data := t.TempDir()
	x, err := index.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	h := &Handler{Index: x}
	mux := http.NewServeMux()
	mux.Handle("/tags", h)
	mux.Handle("/tags/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL, x
}

func do(t *testing.T, method, base, path string, form url.Values) (int, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var ids = regexp.MustCompile(`"id": [0-9]+`)

// TestDifferential registers the same series with graphite-web 1.1.8
// (LocalDatabaseTagDB) and statbox, then asks both the same questions.
func TestDifferential(t *testing.T) {
	wdir := t.TempDir()
	os.MkdirAll(filepath.Join(wdir, "whisper"), 0o755)
	gw := startGraphiteWeb(t, filepath.Join(wdir, "whisper"))
	sb, _ := statbox(t)

	reg := url.Values{"path": series}
	gs, gb := do(t, "POST", gw.URL, "/tags/tagMultiSeries", reg)
	ss, sbody := do(t, "POST", sb, "/tags/tagMultiSeries", reg)
	if gs != 200 || gs != ss || gb != sbody {
		t.Fatalf("tagMultiSeries\n graphite-web %d %s\n statbox      %d %s", gs, gb, ss, sbody)
	}
	// Registered in normal form, in one order, tags and values get the ids
	// graphite-web's database gives them.
	for _, p := range []string{"/tags", "/tags/host", "/tags/name"} {
		gs, gb := do(t, "GET", gw.URL, p, nil)
		ss, sbody := do(t, "GET", sb, p, nil)
		if gs != ss || gb != sbody {
			t.Errorf("GET %s\n graphite-web %d %s\n statbox      %d %s", p, gs, gb, ss, sbody)
		}
	}
	for _, p := range []url.Values{
		{"path": {"app.req;status=200;method=GET;name=ignored"}},
		{"path": {"~~app.tilde;b=2;a=1;b=3"}},
		{"path[]": {"x.y;k=v"}},
	} {
		path := "/tags/tagSeries"
		if _, ok := p["path[]"]; ok {
			path = "/tags/tagMultiSeries"
		}
		gs, gb := do(t, "POST", gw.URL, path, p)
		ss, sbody := do(t, "POST", sb, path, p)
		if gs != ss || gb != sbody {
			t.Errorf("POST %s %v\n graphite-web %d %s\n statbox      %d %s", path, p, gs, gb, ss, sbody)
		}
	}

	for _, q := range []struct {
		method, path string
		form         url.Values
	}{
		{"GET", "/tags/findSeries?expr=name=cpu.load", nil},
		{"GET", "/tags/findSeries?expr=name=cpu.load&expr=dc=x", nil},
		{"GET", "/tags/findSeries?expr=name=cpu.load&expr=dc!=x", nil},
		{"GET", "/tags/findSeries?expr=name=cpu.load&expr=dc=", nil},
		{"GET", "/tags/findSeries?expr=name=cpu.load&expr=dc!=", nil},
		{"GET", "/tags/findSeries?expr=host=~a", nil},
		{"GET", "/tags/findSeries?expr=host=~web0[12]$", nil},
		{"GET", "/tags/findSeries?expr=host=~%5Ea%24", nil},
		{"GET", "/tags/findSeries?expr=name=~cpu&expr=host!=~a", nil},
		{"GET", "/tags/findSeries?expr=name=~net&expr=iface!=eth1", nil},
		{"GET", "/tags/findSeries?expr=mount=/var", nil},
		{"GET", "/tags/findSeries?expr=nosuch=1", nil},
		{"GET", "/tags/findSeries?expr[]=dc=z&expr[]=host=web02", nil},
		{"POST", "/tags/findSeries", url.Values{"expr": {"dc=x", "name!=mem.used"}}},
		{"GET", "/tags/autoComplete/tags", nil},
		{"GET", "/tags/autoComplete/tags?tagPrefix=h", nil},
		{"GET", "/tags/autoComplete/tags?limit=2", nil},
		{"GET", "/tags/autoComplete/tags?expr=name=net.rx", nil},
		{"GET", "/tags/autoComplete/tags?expr=dc=x&tagPrefix=m", nil},
		{"POST", "/tags/autoComplete/tags", url.Values{"expr": {"name=cpu.load"}, "limit": {"1"}}},
		{"GET", "/tags/autoComplete/values?tag=host", nil},
		{"GET", "/tags/autoComplete/values?tag=host&valuePrefix=web", nil},
		{"GET", "/tags/autoComplete/values?tag=host&limit=3", nil},
		{"GET", "/tags/autoComplete/values?tag=host&expr=dc=x", nil},
		{"GET", "/tags/autoComplete/values?tag=name&expr=dc=z", nil},
		{"GET", "/tags/autoComplete/values?tag=nosuch", nil},
		{"POST", "/tags/autoComplete/values", url.Values{"tag": {"dc"}, "expr": {"name=~cpu"}, "valuePrefix": {"x"}}},
		{"GET", "/tags", nil},
		{"GET", "/tags/", nil},
		{"GET", "/tags?filter=h", nil},
		{"GET", "/tags?filter=d|m&limit=2", nil},
		{"GET", "/tags/host", nil},
		{"GET", "/tags/host?pretty=1", nil},
		{"GET", "/tags/findSeries?expr=name=cpu.load&pretty=1", nil},
		{"GET", "/tags/findSeries?expr=nosuch=1&pretty=1", nil},
		{"GET", "/tags/host?filter=web&limit=1", nil},
		{"GET", "/tags/name", nil},
		{"GET", "/tags/nosuch", nil},
		// errors: compared by status
		{"GET", "/tags/findSeries", nil},
		{"GET", "/tags/autoComplete/values", nil},
		{"GET", "/tags/tagSeries", nil},
		{"POST", "/tags/tagSeries", url.Values{}},
		{"POST", "/tags/tagMultiSeries", url.Values{}},
		{"POST", "/tags", url.Values{}},
	} {
		gs, gb := do(t, q.method, gw.URL, q.path, q.form)
		ss, sbody := do(t, q.method, sb, q.path, q.form)
		// Series registered out of normal form ("status" before "method")
		// take ids in their posted order there, in normal form here.
		gb, sbody = ids.ReplaceAllString(gb, `"id": N`), ids.ReplaceAllString(sbody, `"id": N`)
		if gs != ss || (gs < 400 && gb != sbody) {
			t.Errorf("%s %s %v\n graphite-web %d %s\n statbox      %d %s", q.method, q.path, q.form, gs, gb, ss, sbody)
		}
	}

	// graphite-web answers 400 for these (its ValueError), statbox too.
	for _, p := range []string{
		"/tags/findSeries?expr=dc!=x", "/tags/findSeries?expr=host=~.*", "/tags/findSeries?expr=host",
	} {
		gs, gb := do(t, "GET", gw.URL, p, nil)
		ss, sbody := do(t, "GET", sb, p, nil)
		if gs != 400 || ss != 400 {
			t.Errorf("GET %s\n graphite-web %d %s\n statbox      %d %s", p, gs, gb, ss, sbody)
		}
	}
}

// TestBadInput needs no graphite-web: bad requests are 4xx naming the
// problem (where graphite-web answers some with a 500).
func TestBadInput(t *testing.T) {
	sb, _ := statbox(t)
	for _, c := range []struct {
		method, path string
		form         url.Values
		status       int
		says         string
	}{
		{"POST", "/tags/tagSeries", url.Values{"path": {";k=v"}}, 400, "cannot parse"},
		{"POST", "/tags/tagSeries", url.Values{"path": {"a;k"}}, 400, "cannot parse"},
		{"POST", "/tags/tagSeries", url.Values{"path": {"a;k=~v"}}, 400, "cannot parse"},
		{"POST", "/tags/tagSeries", url.Values{"path": {"a\x01;k=v"}}, 400, "control"},
		{"GET", "/tags/findSeries?expr=host=~(", nil, 400, "missing closing"},
		{"GET", "/tags/findSeries?expr=" + url.QueryEscape("a=~(?=x)"), nil, 400, "invalid"},
		{"GET", "/tags/autoComplete/tags?limit=many", nil, 400, "limit"},
		{"GET", "/tags?filter=(", nil, 400, "filter"},
		{"GET", "/tags/host?filter=[", nil, 400, "filter"},
	} {
		status, body := do(t, c.method, sb, c.path, c.form)
		if status != c.status || !strings.Contains(body, c.says) {
			t.Errorf("%s %s %v: %d %s, want %d naming %q", c.method, c.path, c.form, status, body, c.status, c.says)
		}
	}
	status, _ := do(t, "POST", sb, "/tags/tagMultiSeries", url.Values{"path": {strings.Repeat("a", 9<<20)}})
	if status != http.StatusRequestEntityTooLarge {
		t.Errorf("9 MiB form: %d, want 413", status)
	}
}

// TestPersist: a series registered through the API is found after a restart.
func TestPersist(t *testing.T) {
	data := t.TempDir()
	x, _ := index.Open(data)
	srv := httptest.NewServer(&Handler{Index: x})
	status, body := do(t, "POST", srv.URL, "/tags/tagSeries", url.Values{"path": {"a;z=1;b=2"}})
	srv.Close()
	x.Close()
	if status != 200 || body != `"a;b=2;z=1"` {
		t.Fatalf("tagSeries: %d %s", status, body)
	}
	x, _ = index.Open(data)
	defer x.Close()
	got, _ := x.TaggedSeries([]string{"z=1"})
	if len(got) != 1 || got[0] != "a;b=2;z=1" {
		t.Errorf("after restart: %q", got)
	}
}

// startGraphiteWeb runs graphite-web 1.1.8 over the whisper tree for the
// test (render/internal/graphiteweb), stopped when it ends.
func startGraphiteWeb(tb testing.TB, whisperDir string) *graphiteweb.Server {
	tb.Helper()
	gw := graphiteweb.ForTest(tb, whisperDir, tb.TempDir())
	tb.Cleanup(func() { gw.Close() })
	return gw
}
