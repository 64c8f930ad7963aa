package events

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"statbox/render/internal/graphiteweb"
	evstore "statbox/storage/events"
)

func statbox(t testing.TB, dir string) (string, *evstore.Store) {
	t.Helper()
	s, err := evstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	srv := httptest.NewServer(&Handler{Store: s})
	t.Cleanup(srv.Close)
	return srv.URL, s
}

func do(t *testing.T, method, url, ctype, body string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// posted are the events both sides receive, in this order.
var posted = []string{
	`{"what": "deploy web", "tags": ["deploy", "web"], "when": 1700000000, "data": "v1.2"}`,
	`{"what": "deploy db", "tags": "deploy db", "when": 1700000600}`,
	`{"what": "reboot", "tags": "ops,  reboot ,web", "when": 1700001200.75, "data": {"host": "h1", "n": [1, 2.5, true, null]}}`,
	`{"what": "quoted", "tags": "\"a b\" c", "when": 1700001800}`,
	`{"what": "no tags", "when": 1700002400, "data": ""}`,
	`{"what": "dup tags", "tags": ["x", "x", "deploy"], "when": 1700000600}`,
	`{"what": "caf\u00e9 \u2603", "tags": ["unicode"], "when": 1700003000, "data": "\u00e9\n"}`,
}

// TestDifferential posts the same events to graphite-web 1.1.8 and statbox
// and compares /events/get_data byte for byte.
func TestDifferential(t *testing.T) {
	wdir := t.TempDir()
	os.MkdirAll(filepath.Join(wdir, "whisper"), 0o755)
	gw := startGraphiteWeb(t, filepath.Join(wdir, "whisper"))
	sb, _ := statbox(t, t.TempDir())
	for _, ev := range posted {
		gs, _, gb := do(t, "POST", gw.URL+"/events/", "application/json", ev)
		ss, _, sbody := do(t, "POST", sb+"/events/", "application/json", ev)
		if gs != 200 || gs != ss {
			t.Fatalf("POST %s\n graphite-web %d %s\n statbox      %d %s", ev, gs, gb, ss, sbody)
		}
	}
	for _, p := range []string{
		"/events/get_data",
		"/events/get_data?from=1700000000&until=1700000600",
		"/events/get_data?from=1700000001",
		"/events/get_data?until=1700001200",
		"/events/get_data?tags=deploy",
		"/events/get_data?tags=deploy%20web",
		"/events/get_data?tags=deploy%20nosuch",
		"/events/get_data?tags=nosuch",
		"/events/get_data?tags=web%20db&set=union",
		"/events/get_data?tags=deploy%20web&set=intersection",
		"/events/get_data?tags=deploy%20nosuch&set=intersection",
		"/events/get_data?tags=a%20b",
		"/events/get_data?tags=unicode",
		"/events/get_data?jsonp=cb&tags=db",
		"/events/get_dat?tags=db",
		"/events/get_data?from=-100y&until=now",
	} {
		gs, gt, gb := do(t, "GET", gw.URL+p, "", "")
		ss, st, sbody := do(t, "GET", sb+p, "", "")
		if gs != ss || gt != st || gb != sbody {
			t.Errorf("GET %s\n graphite-web %d %s %s\n statbox      %d %s %s", p, gs, gt, gb, ss, st, sbody)
		}
	}

	// An event without "when" is stamped now by each side: compare the
	// rest, and the time within the test's span.
	start := time.Now().Unix()
	ev := `{"what": "now", "tags": ["clock"]}`
	do(t, "POST", gw.URL+"/events/", "application/json", ev)
	do(t, "POST", sb+"/events/", "application/json", ev)
	end := time.Now().Unix()
	var g, s []map[string]any
	_, _, gb := do(t, "GET", gw.URL+"/events/get_data?tags=clock", "", "")
	_, _, sbody := do(t, "GET", sb+"/events/get_data?tags=clock", "", "")
	json.Unmarshal([]byte(gb), &g)
	json.Unmarshal([]byte(sbody), &s)
	if len(g) != 1 || len(s) != 1 {
		t.Fatalf("clock events: graphite-web %s, statbox %s", gb, sbody)
	}
	for _, m := range []map[string]any{g[0], s[0]} {
		if w := int64(m["when"].(float64)); w < start || w > end {
			t.Errorf("when %d outside [%d, %d]", w, start, end)
		}
		delete(m, "when")
	}
	if !reflect.DeepEqual(g, s) {
		t.Errorf("clock event: graphite-web %s, statbox %s", gb, sbody)
	}

	// /events/<id> as JSON (graphite-web answers JSON when asked for it).
	for _, id := range []string{"1", "3", "99"} {
		req, _ := http.NewRequest("GET", gw.URL+"/events/"+id+"/", nil)
		req.Header.Set("Accept", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		gb, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		ss, _, sbody := do(t, "GET", sb+"/events/"+id+"/", "", "")
		if resp.StatusCode != ss || (ss == 200 && string(gb) != sbody) {
			t.Errorf("GET /events/%s/\n graphite-web %d %s\n statbox      %d %s", id, resp.StatusCode, gb, ss, sbody)
		}
	}
}

// TestRoundTrip: events survive a restart, a torn last record is cut off,
// EventTimes answers the render engine.
func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	sb, s := statbox(t, dir)
	for _, ev := range posted {
		if st, _, b := do(t, "POST", sb+"/events/", "application/json", ev); st != 200 {
			t.Fatalf("POST: %d %s", st, b)
		}
	}
	_, _, before := do(t, "GET", sb+"/events/get_data", "", "")
	s.Close()
	f, _ := os.OpenFile(filepath.Join(dir, "events.log"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"id":99,"when":1,"what":"torn`)
	f.Close()
	sb2, s2 := statbox(t, dir)
	_, _, after := do(t, "GET", sb2+"/events/get_data", "", "")
	if before != after {
		t.Errorf("after restart:\n%s\nwant\n%s", after, before)
	}
	if st, _, b := do(t, "POST", sb2+"/events/", "application/json", `{"what": "later", "when": 1700009999, "tags": "deploy"}`); st != 200 {
		t.Fatalf("POST after restart: %d %s", st, b)
	}
	got, _ := s2.EventTimes(1700000000, 1700010000, []string{"deploy"})
	if want := []int64{1700000000, 1700000600, 1700000600, 1700009999}; !slices.Equal(got, want) {
		t.Errorf("EventTimes(deploy) = %v, want %v", got, want)
	}
	got, _ = s2.EventTimes(1700001200, 1700001201, []string{"*"})
	if want := []int64{1700001200}; !slices.Equal(got, want) {
		t.Errorf("EventTimes(*) = %v, want %v", got, want)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "events.log"))
	if strings.Contains(string(b), "torn") || strings.Count(string(b), "\n") != len(posted)+1 {
		t.Errorf("log after torn tail and one more event:\n%s", b)
	}
}

// TestBadInput needs no graphite-web.
func TestBadInput(t *testing.T) {
	sb, _ := statbox(t, t.TempDir())
	for _, c := range []struct {
		body string
		says string
	}{
		{`not json`, "not JSON"},
		{`[1]`, "object"},
		{`{"tags": "a"}`, "what"},
		{`{"what": 5}`, "what"},
		{`{"what": "x", "tags": 5}`, `\"tags\" must be an array or space-separated string`},
		{`{"what": "x", "tags": [1]}`, "tags"},
		{`{"what": "x", "when": "yesterday"}`, "when"},
		{`{"what": "x", "when": 1e300}`, "range"},
		{"{\"what\": \"\xff\"}", "UTF-8"},
	} {
		st, _, b := do(t, "POST", sb+"/events/", "application/json", c.body)
		if st != 400 || !strings.Contains(b, c.says) {
			t.Errorf("POST %s: %d %s, want 400 naming %q", c.body, st, b, c.says)
		}
	}
	st, _, _ := do(t, "POST", sb+"/events/", "application/json", `{"what": "`+strings.Repeat("a", 2<<20)+`"}`)
	if st != http.StatusRequestEntityTooLarge {
		t.Errorf("2 MiB event: %d", st)
	}
	if st, _, b := do(t, "GET", sb+"/events/get_data?from=bogus", "", ""); st != 400 || !regexp.MustCompile("from").MatchString(b) {
		t.Errorf("bad from: %d %s", st, b)
	}
	if st, _, _ := do(t, "PUT", sb+"/events/", "", ""); st != 405 {
		t.Errorf("PUT: %d", st)
	}
	if st, _, _ := do(t, "GET", sb+"/events/x/y", "", ""); st != 404 {
		t.Errorf("GET /events/x/y: %d", st)
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
