package statsd

import (
	"bytes"
	"testing"
)

// TestScanName checks the scanner's ':' and hash against bytes.IndexByte
// and hashName, for names of every length from 0 to 40 at every alignment,
// with and without a ':' after them.
func TestScanName(t *testing.T) {
	name := []byte("abcdefghijklmnopqrstuvwxyz0123456789.-_ABCDEF")
	for pre := range 9 {
		for n := range 41 {
			for _, tail := range []string{":1|c\n", ":", "", "x:", "\n:"} {
				b := append(bytes.Repeat([]byte{':'}, pre), name[:n]...)
				b = append(b, tail...)
				j, h := scanName(b, pre)
				want := bytes.IndexByte(b[pre:], ':')
				if want >= 0 {
					want += pre
				}
				if j != want {
					t.Fatalf("scanName(%q, %d) = %d, want %d", b, pre, j, want)
				}
				if j < 0 {
					continue
				}
				if got, want := hashEnd(h, j-pre, Counter), hashName(Counter, b[pre:j]); got != want {
					t.Fatalf("scanName(%q, %d): hash %x, hashName %x", b, pre, got, want)
				}
			}
		}
	}
}

// TestHashNameSpread checks that names differing in one byte, in their
// length or in their type hash apart.
func TestHashNameSpread(t *testing.T) {
	seen := map[uint64]string{}
	add := func(typ Type, name []byte) {
		h := hashName(typ, name)
		k := typ.String() + " " + string(name)
		if prev, ok := seen[h]; ok && prev != k {
			t.Fatalf("%q and %q hash alike", prev, k)
		}
		seen[h] = k
	}
	base := []byte("app.service.requests")
	for n := range len(base) + 1 {
		for _, typ := range []Type{Counter, Gauge, Timer, Set} {
			add(typ, base[:n])
			add(typ, append(append([]byte{}, base[:n]...), 0))
		}
		for i := range n {
			b := append([]byte{}, base[:n]...)
			b[i] ^= 1
			add(Counter, b)
		}
	}
}
