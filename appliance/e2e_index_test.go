package appliance

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestE2EIndex: a metric and a tagged series that carbon creates become
// visible to /metrics/find and /tags/findSeries without a restart (the
// cache's OnCreate feeds the index), and are still there after one (the
// tree walk and the tagged-series log rebuild it), as is a posted event.
func TestE2EIndex(t *testing.T) {
	t.Parallel()
	bin := buildStatbox(t)
	data := filepath.Join(t.TempDir(), "data")
	d := startDaemon(t, bin, data)
	ts := baseTime()
	mustWrite(t, dial(t, d.Carbon), []byte(fmt.Sprintf("e2e.idx.a 1 %d\ne2e.idx;k=v;j=w 2 %d\n", ts, ts)))
	get := func(d *e2eDaemon, path string) string {
		resp, err := e2eClient.Get("http://" + d.HTTP + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	const (
		find      = "/metrics/find?query=e2e.idx.*"
		wantFind  = `[{"text": "a", "id": "e2e.idx.a", "allowChildren": 0, "expandable": 0, "leaf": 1}]`
		tags      = "/tags/findSeries?expr=k=v"
		wantTags  = `["e2e.idx;j=w;k=v"]`
		waitFiles = 20 * time.Second
	)
	deadline := time.Now().Add(waitFiles)
	for get(d, find) != wantFind || get(d, tags) != wantTags {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: find %s, tags %s\n%s", waitFiles, get(d, find), get(d, tags), d.Logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The render engine expands globs and tag queries through the index.
	from, until := strconv.FormatInt(ts-60, 10), strconv.FormatInt(ts+60, 10)
	for _, target := range []string{"e2e.idx.*", "seriesByTag('k=v')"} {
		series, body := d.render(t, from, until, target)
		if len(series) != 1 {
			t.Errorf("render %s: %s", target, body)
		}
	}
	resp, err := e2eClient.Post("http://"+d.HTTP+"/events/", "application/json",
		strings.NewReader(fmt.Sprintf(`{"what": "deploy", "tags": ["e2e"], "when": %d}`, ts)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST /events/: %s", resp.Status)
	}
	d.stop()

	d = startDaemon(t, bin, data)
	if got := get(d, find); got != wantFind {
		t.Errorf("after restart, find: %s", got)
	}
	if got := get(d, tags); got != wantTags {
		t.Errorf("after restart, tags: %s", got)
	}
	wantEvent := fmt.Sprintf(`[{"when": %d, "what": "deploy", "data": "", "tags": ["e2e"], "id": 1}]`, ts)
	if got := get(d, "/events/get_data?tags=e2e"); got != wantEvent {
		t.Errorf("after restart, events: %s", got)
	}
	// events() of the render engine reads the same store.
	if series, body := d.render(t, from, until, `events("e2e")`); len(series) != 1 || !strings.Contains(body, fmt.Sprintf("[1.0, %d]", ts)) {
		t.Errorf("render events(e2e): %s", body)
	}
	// A file removed by hand leaves the index at the next SIGHUP.
	if err := os.Remove(filepath.Join(data, "whisper", "e2e", "idx", "a.wsp")); err != nil {
		t.Fatal(err)
	}
	d.signal(syscall.SIGHUP)
	d.waitLog("index rebuilt", 10*time.Second)
	if got := get(d, find); got != "[]" {
		t.Errorf("after removal and SIGHUP, find: %s", got)
	}
	if got := get(d, "/metrics/index.json"); !strings.Contains(got, `"_tagged.`) || strings.Contains(got, `"e2e.idx.a"`) {
		t.Errorf("index.json: %s", got)
	}
}
