package ebpf

import "testing"

func TestSummarize(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  map[int]uint64
		want histStats
	}{
		{"empty", nil, histStats{}},
		// 100 values in [4, 8): ranks spread evenly over the bucket.
		{"one bucket", map[int]uint64{2: 100}, histStats{count: 100, p50: 6, p90: 7.6, p99: 7.96, max: 8}},
		// slot 0 is [0, 2).
		{"slot zero", map[int]uint64{0: 10}, histStats{count: 10, p50: 1, p90: 1.8, p99: 1.98, max: 2}},
		// 90 fast, 10 slow: p50 in the fast bucket, p99 in the slow one.
		{"tail", map[int]uint64{3: 90, 10: 10}, histStats{count: 100, p50: 8 + 8*50.0/90, p90: 16, p99: 1024 + 1024*0.9, max: 2048}},
	} {
		var h hist
		for i, c := range tc.set {
			h[i] = c
		}
		if got := summarize(&h); !near(got, tc.want) {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func near(a, b histStats) bool {
	close := func(x, y float64) bool { d := x - y; return d < 1e-9 && d > -1e-9 }
	return a.count == b.count && close(a.p50, b.p50) && close(a.p90, b.p90) && close(a.p99, b.p99) && close(a.max, b.max)
}

func TestDelta(t *testing.T) {
	var d, prev, cur hist
	cur[1], cur[5] = 3, 7
	d.delta(&cur, &prev)
	if d[1] != 3 || d[5] != 7 || prev != cur {
		t.Fatalf("first interval: %v, prev %v", d, prev)
	}
	cur[5] = 9
	d.delta(&cur, &prev)
	if d[1] != 0 || d[5] != 2 {
		t.Fatalf("second interval: %v", d)
	}
}

func TestKernelVersion(t *testing.T) {
	for _, tc := range []struct {
		release      string
		major, minor int
		ok           bool
	}{
		{"6.18.44-fc-v1045", 6, 18, true},
		{"5.8.0", 5, 8, true},
		{"5.10-rc1", 5, 10, true},
		{"4.19.0+", 4, 19, true},
		{"garbage", 0, 0, false},
	} {
		major, minor, ok := kernelVersion(tc.release)
		if ok != tc.ok || ok && (major != tc.major || minor != tc.minor) {
			t.Errorf("%s: got %d.%d %v", tc.release, major, minor, ok)
		}
	}
}
