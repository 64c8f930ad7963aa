package find

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"statbox/render/internal/graphiteweb"
	"statbox/storage/index"
	"statbox/storage/layout"
	"statbox/storage/whisper"
)

// names is the test tree: a name that is a leaf and a branch (a.b), names
// that sort differently by node and by whole path (a.b-x), digits for
// ranges, a non-ASCII name, a '+' graphite-web unquotes in "text", and a
// tagged series whose file sits under _tagged.
var names = []string{
	"a.b", "a.b.c", "a.b.d", "a.bb.c", "a.b-x.c", "a.c.c", "a.c.e",
	"servers.web01.load", "servers.web02.load", "servers.web10.load", "servers.db01.load",
	"servers.web01.cpu.user", "servers.web01.cpu.system",
	"b.x", "b.y.z", "caf\u00e9.hits", "plus.a+b", "disk.used;dc=x;host=a",
}

// makeTree writes a whisper file for each name under data/whisper.
func makeTree(t testing.TB, data string) {
	t.Helper()
	for _, n := range names {
		p := filepath.Join(data, "whisper", string(layout.AppendPath(nil, []byte(n))))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := whisper.Create(p, []whisper.Retention{{SecondsPerPoint: 60, Points: 60}}, whisper.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// statbox serves the handler on a loopback port over the index of data.
func statbox(t testing.TB, data string) string {
	t.Helper()
	x, err := index.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	h := &Handler{Index: x, Intervals: WhisperIntervals(filepath.Join(data, "whisper"), time.Now)}
	mux := http.NewServeMux()
	mux.Handle("/metrics/", h)
	mux.Handle("/metrics", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

func get(t *testing.T, base, path string, hdr ...string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// TestDifferential asks graphite-web 1.1.8 and statbox the same questions on
// the same tree and compares the answers byte for byte, except where
// graphite-web's answer depends on its clock (intervals) or its shuffle
// (completer order).
func TestDifferential(t *testing.T) {
	data := t.TempDir()
	makeTree(t, data)
	gw := startGraphiteWeb(t, filepath.Join(data, "whisper"))
	sb := statbox(t, data)

	exact := []string{
		"/metrics/find?query=*",
		"/metrics/find?query=a.*",
		"/metrics/find?query=a.b",
		"/metrics/find?query=a.b.*",
		"/metrics/find?query=a.*.c",
		"/metrics/find?query=a.*.*",
		"/metrics/find?query=a.%7Bb,c%7D.*",
		"/metrics/find?query=a.b%5Ba-z%5D",
		"/metrics/find?query=a.%5B!b%5D*",
		"/metrics/find?query=a.b%3F",
		"/metrics/find?query=servers.web0%5B1-2%5D.*",
		"/metrics/find?query=servers.%7Bweb,db%7D*.load",
		"/metrics/find?query=servers.*.cpu.*&wildcards=1",
		"/metrics/find?query=a.*&wildcards=1",
		"/metrics/find?query=a.*&leavesOnly=1",
		"/metrics/find?query=nope.*",
		"/metrics/find?query=caf%C3%A9.*",
		"/metrics/find?query=plus.*",
		"/metrics/find?query=_tagged.*.*.*",
		"/metrics/find?query=a.**.d", // not a.**.c: a.c and a.b.c share the name "c", and which one graphite-web lists is up to its shuffle
		"/metrics/find?query=disk.used%3Bdc%3Dx%3Bhost%3Da",
		"/metrics/find?query=disk.used%3Bhost%3Da%3Bdc%3Dx",
		"/metrics/expand?query=disk.used%3Bdc%3Dx%3Bhost%3Da",
		"/metrics/find?query=**.load",
		"/metrics/find?query=servers.**",
		"/metrics/expand?query=**",
		"/metrics/find?query=a.*&from=-6h&until=now",
		"/metrics/find?query=a.*&jsonp=cb",
		"/metrics/find?query=a.*&pretty=1",
		"/metrics/find?query=nope&pretty=1",
		"/metrics/expand?query=a.*&query=b.*&groupByExpr=1&pretty=1",
		"/metrics/find?query=a.*&format=completer&pretty=1&query=a.b",
		"/metrics/find?query=servers.*.*&format=nodelist&position=1",
		"/metrics/find?query=servers.*.load&format=nodelist",
		"/metrics/find/?query=a.*",
		"/metrics?query=a.*",
		"/metrics/expand?query=a.*",
		"/metrics/expand?query=a.*&leavesOnly=1",
		"/metrics/expand?query=a.*&query=servers.*.load&query=a.*&groupByExpr=1",
		"/metrics/expand?query=a.*.c&query=b.*",
		"/metrics/expand?query=a.*&jsonp=x",
		"/metrics/expand",
		"/metrics/index.json",
		"/metrics/index.json?jsonp=cb",
	}
	for _, p := range exact {
		gs, gt, gb := get(t, gw.URL, p)
		ss, st, sbody := get(t, sb, p)
		if gs != ss || gt != st || gb != sbody {
			t.Errorf("GET %s\n graphite-web %d %s %s\n statbox      %d %s %s", p, gs, gt, gb, ss, st, sbody)
		}
	}

	// Grafana's query editor: Accept of several types (UTF-8 output), and
	// POSTed forms.
	for _, p := range []string{"/metrics/find?query=caf%C3%A9.*", "/metrics/find?query=*"} {
		gs, gt, gb := get(t, gw.URL, p, "Accept", "application/json, text/plain, */*")
		ss, st, sbody := get(t, sb, p, "Accept", "application/json, text/plain, */*")
		if gs != ss || gt != st || gb != sbody {
			t.Errorf("GET %s (Grafana's Accept)\n graphite-web %d %s %s\n statbox      %d %s %s", p, gs, gt, gb, ss, st, sbody)
		}
	}
	for _, f := range []url.Values{
		{"query": {"a.*"}, "from": {"1700000000"}, "until": {"1700003600"}},
		{"query": {"servers.web*.load"}},
	} {
		gs, gb := postForm(t, gw.URL, "/metrics/find", f)
		ss, sbody := postForm(t, sb, "/metrics/find", f)
		if gs != ss || gb != sbody {
			t.Errorf("POST find %v\n graphite-web %d %s\n statbox      %d %s", f, gs, gb, ss, sbody)
		}
	}

	// completer: graphite-web shuffles the order.
	for _, p := range []string{
		"/metrics/find?query=a.&format=completer", "/metrics/find?query=a.b&format=completer",
		"/metrics/find?query=servers.web01.&format=completer&wildcards=1",
		"/metrics/find?query=a.b,c&format=completer&automatic_variants=1",
	} {
		_, _, gb := get(t, gw.URL, p)
		_, _, sbody := get(t, sb, p)
		var g, s struct{ Metrics []map[string]string }
		json.Unmarshal([]byte(gb), &g)
		json.Unmarshal([]byte(sbody), &s)
		key := func(m map[string]string) string { return m["path"] + "|" + m["name"] + "|" + m["is_leaf"] }
		gk, sk := mapKeys(g.Metrics, key), mapKeys(s.Metrics, key)
		if len(gk) == 0 || !slices.Equal(gk, sk) {
			t.Errorf("GET %s\n graphite-web %s\n statbox      %s", p, gb, sbody)
		}
	}

	// json: intervals hang on the clock and the files' mtimes.
	for _, p := range []string{"/metrics/find?query=a.*&format=json", "/metrics/find?query=a.b.*&format=json", "/metrics/find?query=servers.**&format=json"} {
		_, _, gb := get(t, gw.URL, p)
		_, _, sbody := get(t, sb, p)
		var g, s []map[string]any
		json.Unmarshal([]byte(gb), &g)
		json.Unmarshal([]byte(sbody), &s)
		for _, l := range [][]map[string]any{g, s} {
			for _, m := range l {
				if iv, ok := m["intervals"].([]any); ok && len(iv) == 1 {
					m["intervals"] = "one"
				}
			}
		}
		if len(g) == 0 || !reflect.DeepEqual(g, s) {
			t.Errorf("GET %s\n graphite-web %s\n statbox      %s", p, gb, sbody)
		}
	}

	t.Run("pickle", func(t *testing.T) { checkPickle(t, gw, sb) })

	// Bad requests: graphite-web answers 400 too.
	for _, p := range []string{"/metrics/find", "/metrics/find?query=", "/metrics/find?query=a&format=nope",
		"/metrics/find?query=a&leavesOnly=x", "/metrics/find?query=a&from=yesterday-ish"} {
		gs, _, _ := get(t, gw.URL, p)
		ss, _, sbody := get(t, sb, p)
		if gs != 400 || ss != 400 {
			t.Errorf("GET %s: graphite-web %d, statbox %d %s", p, gs, ss, sbody)
		}
	}
}

// postForm posts a form to base+path and returns the status and body.
func postForm(t *testing.T, base, path string, form url.Values) (int, string) {
	t.Helper()
	resp, err := http.PostForm(base+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func mapKeys(ms []map[string]string, key func(map[string]string) string) []string {
	var out []string
	for _, m := range ms {
		out = append(out, key(m))
	}
	slices.Sort(out)
	return out
}

// checkPickle checks that graphite-web's own unpickler reads statbox's
// format=pickle answer as it reads graphite-web's.
func checkPickle(t *testing.T, gw *graphiteweb.Server, sb string) {
	dir := t.TempDir()
	queries := []string{"a.*", "nope", "a.b.*"}
	var files []string
	for i, q := range queries {
		for j, base := range []string{gw.URL, sb} {
			_, _, b := get(t, base, "/metrics/find?format=pickle&query="+q)
			f := filepath.Join(dir, fmt.Sprintf("%d-%d", i, j))
			os.WriteFile(f, []byte(b), 0o644)
			files = append(files, f)
		}
	}
	// One interpreter decodes every answer: each start costs a second.
	paths, _ := json.Marshal(files)
	out, err := gw.Python(`
from graphite.util import unpickle
for f in ` + string(paths) + `:
    lines = []
    for n in unpickle.loads(open(f, 'rb').read()):
        iv = n.get('intervals')
        lines.append('%s %s %s' % (n['path'], n['is_leaf'], '-' if iv is None else '%s %d %s' % (type(iv).__name__, len(iv), iv.size > 0)))
    print(';'.join(sorted(lines)))
`)
	if err != nil {
		t.Fatalf("unpickle: %v\n%s", err, out)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(got) != 2*len(queries) {
		t.Fatalf("unpickle printed %q", out)
	}
	for i, q := range queries {
		if got[2*i] != got[2*i+1] {
			t.Errorf("pickle %s\n graphite-web %s\n statbox      %s", q, got[2*i], got[2*i+1])
		}
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
