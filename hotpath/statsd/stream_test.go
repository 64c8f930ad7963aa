package statsd

import (
	"strings"
	"testing"
)

// TestStream feeds a stream in every split of its bytes: the counts are
// those of the whole, a last line without '\n' counts at Close, and a line
// over MaxLine is one bad line.
func TestStream(t *testing.T) {
	long := "x:" + strings.Repeat("1", MaxLine) + "|c\n"
	text := "a:1|c\nb:2|c\na:3|c:4|c\nc:5|c"
	for cut := range len(text) + 1 {
		pts := newPoints()
		opts := DefaultOptions()
		opts.Store = pts.store
		a, _ := NewAggregator(opts, timeZero)
		st := NewStream(a.NewShard(nil))
		st.Feed([]byte(text[:cut]))
		st.Feed([]byte(text[cut:] + "\n" + long[:cut]))
		st.Feed([]byte(long[cut:] + "d:1|c"))
		st.Close()
		a.Flush(timeZero)
		for name, want := range map[string]float64{
			"stats_counts.a": 8, "stats_counts.b": 2, "stats_counts.c": 5, "stats_counts.d": 1,
			"stats_counts.statsd.bad_lines_seen": 1, "stats_counts.statsd.metrics_received": 6,
		} {
			if got := pts.sum[name]; got != want {
				t.Errorf("cut %d: %s = %v, want %v", cut, name, got, want)
			}
		}
		if _, ok := pts.sum["stats_counts.x"]; ok {
			t.Errorf("cut %d: the over-long line was parsed", cut)
		}
	}
}
