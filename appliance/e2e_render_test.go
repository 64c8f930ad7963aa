package appliance

import (
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestE2ERenderTaggedSeriesTags asks /render for a tagged series and
// requires graphite-web 1.1's "tags": the series name parsed by its tag
// database, {"name": metric, tag: value, ...} (render/datalib.py, TimeSeries:
// self.tags = STORE.tagdb.parse(name).tags), not {"name": whole tagged name}.
// Grafana's aliasByTags and legend use these.
func TestE2ERenderTaggedSeriesTags(t *testing.T) {
	t.Parallel()
	bin := buildStatbox(t)
	d := startDaemon(t, bin, filepath.Join(t.TempDir(), "data"))
	ts := baseTime()
	mustWrite(t, dial(t, d.Carbon), []byte(fmt.Sprintf("e2e.rt;z=1;y=2 5 %d\n", ts)))
	d.waitPoints(t, 10*time.Second, expectPoint{"e2e.rt;y=2;z=1", ts, 5})
	series, body := d.render(t, strconv.FormatInt(ts-10, 10), strconv.FormatInt(ts, 10), "e2e.rt;y=2;z=1")
	want := map[string]string{"name": "e2e.rt", "y": "2", "z": "1"}
	if len(series) != 1 || fmt.Sprint(series[0].Tags) != fmt.Sprint(want) {
		t.Errorf("tags of e2e.rt;y=2;z=1: %s\nwant %v", body, want)
	}
}
