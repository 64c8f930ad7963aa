package find

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestBadInput needs no graphite-web: every malformed request is a 4xx
// that names the problem.
func TestBadInput(t *testing.T) {
	data := t.TempDir()
	makeTree(t, data)
	sb := statbox(t, data)
	for _, c := range []struct {
		path   string
		status int
		says   string
	}{
		{"/metrics/find", 400, "query"},
		{"/metrics/find?query=" + url.QueryEscape(strings.Repeat("{a,b,c}", 12)), 400, "brace"},
		{"/metrics/find?query=" + strings.Repeat("a.", 300) + "a", 400, "nodes"},
		{"/metrics/find?query=a&position=x", 400, "position"},
		{"/metrics/find?query=a.*&format=nodelist&position=9", 400, "position"},
		{"/metrics/expand?query=" + url.QueryEscape(strings.Repeat("{a,b,c}", 12)), 400, "brace"},
		{"/metrics/expand?query=a&groupByExpr=z", 400, "groupByExpr"},
		{"/metrics/nope", 404, ""},
		{"/metrics/find?query=a.*&from=yesterday-ish", 400, "from"},
		{"/metrics/find?query=a.*&until=%00", 400, "until"},
		{"/metrics/find?query=" + strings.Repeat("*", 2000), 400, "longer"},
	} {
		status, _, body := get(t, sb, c.path)
		if status != c.status || !strings.Contains(body, c.says) {
			t.Errorf("GET %.60s: %d %q, want %d naming %q", c.path, status, body, c.status, c.says)
		}
	}
	resp, err := http.Post(sb+"/metrics/find", "application/x-www-form-urlencoded",
		strings.NewReader("query="+strings.Repeat("a", 2<<20)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("2 MiB form: %d, want 413", resp.StatusCode)
	}
}
