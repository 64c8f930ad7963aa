package appliance

import "testing"

func TestBacklog(t *testing.T) {
	const gib = 1 << 30
	for _, c := range []struct {
		maxCache int
		memory   uint64
		want     int
	}{
		{0, 0, 10_000_000},                // unbounded, memory unknown
		{20_000_000, 0, 10_000_000},       // half the bound
		{0, 24 * gib, 24 * gib / 16 / 18}, // unbounded: a sixteenth of memory
		{20_000_000, 24 * gib, 10_000_000},
		{20_000_000, 1 * gib, 1 * gib / 16 / 18}, // a small box: memory decides
		{0, 1 << 62, 1<<31 - 1},
	} {
		if got := backlog(c.maxCache, c.memory); got != c.want {
			t.Errorf("backlog(%d, %d) = %d, want %d", c.maxCache, c.memory, got, c.want)
		}
	}
	if m := memoryLimit(); m < 64<<20 {
		t.Errorf("memoryLimit() = %d: less than 64 MiB, or unread", m)
	}
}
