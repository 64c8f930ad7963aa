package index

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
)

// million builds, once, an index of 1,000,000 names s<0-9>.b<0-99>.m<0-999>
// in memory (no files: the walk is not what is measured).
var million = sync.OnceValue(func() *Index {
	x := New()
	for s := range 10 {
		for b := range 100 {
			for m := range 1000 {
				x.Add(fmt.Sprintf("s%d.b%d.m%d", s, b, m))
			}
		}
	}
	return x
})

func BenchmarkBuild1M(b *testing.B) {
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		x := New()
		for s := range 10 {
			for bb := range 100 {
				for m := range 1000 {
					x.Add(fmt.Sprintf("s%d.b%d.m%d", s, bb, m))
				}
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/1e6, "heapMB")
		runtime.KeepAlive(x)
	}
}

func BenchmarkFind1M(b *testing.B) {
	x := million()
	for _, c := range []struct{ pat string }{
		{"s1.*.m5"},    // one match per branch of a level: 100
		{"s1.b1.*"},    // 1,000 children of one node
		{"s1.b1.m12?"}, // prefix range of one node: 10
		{"*.b?.m1"},    // 100
		{"*.b?.*"},     // 100,000
		{"s{1,2}.b{3,4}.m[0-4]"},
		{"s1.b1.m1"}, // exact
	} {
		b.Run(c.pat, func(b *testing.B) {
			n := 0
			for b.Loop() {
				nodes, _ := x.Find(c.pat)
				n = len(nodes)
			}
			b.ReportMetric(float64(n), "matches")
		})
	}
}

func BenchmarkTaggedSeries(b *testing.B) {
	x := New()
	for i := range 100_000 {
		x.AddTagged(fmt.Sprintf("cpu;dc=dc%d;host=h%d", i%10, i))
	}
	for _, exprs := range [][]string{{"name=cpu", "dc=dc3"}, {"host=~h1.*5$"}, {"dc=dc1", "host=h11"}} {
		b.Run(fmt.Sprint(exprs), func(b *testing.B) {
			for b.Loop() {
				x.TaggedSeries(exprs)
			}
		})
	}
}

// BenchmarkWalkNames1M is /metrics/index.json's walk of a million names.
func BenchmarkWalkNames1M(b *testing.B) {
	x := million()
	for b.Loop() {
		n := 0
		x.WalkNames(func(name []byte) { n += len(name) })
	}
}
