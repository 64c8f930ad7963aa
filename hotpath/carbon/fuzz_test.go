package carbon

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"
)

// FuzzStream feeds random bytes to a Stream whole and in random chunks: it
// never panics, every point delivered has a safe name, the chunking changes
// nothing, and the Stream delivers what ParseLine delivers line by line.
func FuzzStream(f *testing.F) {
	f.Add([]byte(framingInput), uint64(0))
	f.Add([]byte("a 1 2\nb;z=1;a=2 3 -1\r\n"+`c{x="y"} 4 5`+"\n"), uint64(7))
	f.Add([]byte("\x00\xff\n\xc2\x85 \xe2\x80\xa8\n\r\n"), uint64(3))
	for _, c := range lineCases {
		f.Add([]byte(c.line+"\n"), uint64(len(c.line)))
	}
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		rng := rand.New(rand.NewPCG(seed, seed>>32))
		maxLine := 0
		if seed%2 == 1 {
			maxLine = 1 + rng.IntN(64)
		}
		whole, wholeStats := feedChunks(data, maxLine)
		var cuts []int
		for i := 0; i < len(data); i += 1 + rng.IntN(16) {
			cuts = append(cuts, i)
		}
		chunked, chunkedStats := feedChunks(data, maxLine, cuts...)
		if !slices.EqualFunc(whole, chunked, point.same) || wholeStats != chunkedStats {
			t.Fatalf("whole: %v %+v\nchunked at %v: %v %+v", whole, wholeStats, cuts, chunked, chunkedStats)
		}
		for _, pt := range whole {
			if err := CheckName([]byte(pt.Name)); err != nil {
				t.Fatalf("delivered unsafe name %q", pt.Name)
			}
		}

		// Line by line through ParseLine: the same points, for the terminated
		// lines that fit.
		max := maxLine
		if max == 0 {
			max = DefaultMaxLineLength
		}
		p, r, _ := newTestParser()
		lines := bytes.Split(data, []byte("\n"))
		for _, line := range lines[:len(lines)-1] {
			if len(line) <= max {
				p.ParseLine(line)
			}
		}
		if !slices.EqualFunc(whole, r.points, point.same) {
			t.Fatalf("Stream: %v\nParseLine: %v", whole, r.points)
		}

		// The same bytes as a datagram.
		r.points = r.points[:0]
		p.Packet(data)
		for _, pt := range r.points {
			if err := CheckName([]byte(pt.Name)); err != nil {
				t.Fatalf("Packet delivered unsafe name %q", pt.Name)
			}
		}
	})
}
