package statsd

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"unsafe"
)

// A name's hash is built from its 8-byte little-endian words, the last one
// padded with zeros, each folded in by a 64×64→128-bit multiply as the Go
// runtime's own hash does where it has no AES. The receiver's scanner hashes
// a name while it looks for the ':' that ends it, from the words it reads
// anyway (scanName); hashName is the same hash of a name on its own, and the
// two must agree. The seeds are random for each process, so that which
// names collide cannot be known in advance.
var hashSeeds = [4]uint64{rand.Uint64() | 1, rand.Uint64(), rand.Uint64(), rand.Uint64()}

// mix is the high and low halves of a×b folded together.
func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// hashWord folds one word of a name into h.
func hashWord(h, w uint64) uint64 { return mix(w^hashSeeds[1], h^hashSeeds[2]) }

// hashEnd finishes the hash of a name of n bytes and type typ.
func hashEnd(h uint64, n int, typ Type) uint64 {
	return mix(h^hashSeeds[3], uint64(n)<<8|uint64(typ)^hashSeeds[0])
}

// hashName is the hash of (typ, name).
func hashName(typ Type, name []byte) uint64 {
	h := hashSeeds[0]
	i := 0
	for ; i+8 <= len(name); i += 8 {
		h = hashWord(h, binary.LittleEndian.Uint64(name[i:]))
	}
	if i < len(name) {
		var w uint64
		for k, c := range name[i:] {
			w |= uint64(c) << (8 * k)
		}
		h = hashWord(h, w)
	}
	return hashEnd(h, len(name), typ)
}

// Constants for reading a word's bytes at once: lsb*c is c in every byte.
const (
	lsb = 0x0101010101010101
	msb = lsb * 0x80 // the highest bit of each byte
)

// scanName finds the first ':' in b at or after i, reading eight bytes at a
// time, and hashes the bytes before it as hashName does (all but the type):
// j is the index of that ':', or -1 when there is none.
func scanName(b []byte, i int) (j int, h uint64) {
	s1, s2 := hashSeeds[1], hashSeeds[2]
	h = hashSeeds[0]
	if i < 0 || i > len(b) {
		return -1, h
	}
	// Loads of whole words: in bounds, as the loop's condition keeps i+8
	// within len(b).
	p := unsafe.Pointer(unsafe.SliceData(b))
	for ; i <= len(b)-8; i += 8 {
		w := load64(p, i)
		x := w ^ lsb*':'
		// The lowest byte of x that is zero sets the lowest bit of z; bytes
		// above it may set theirs falsely, which the count leaves alone.
		if z := (x - lsb) &^ x & msb; z != 0 {
			n := bits.TrailingZeros64(z) >> 3
			if n > 0 {
				h = mix(w&(1<<(8*n)-1)^s1, h^s2)
			}
			return i + n, h
		}
		h = mix(w^s1, h^s2)
	}
	var w uint64
	for k := 0; i+k < len(b); k++ {
		c := b[i+k]
		if c == ':' {
			if k > 0 {
				h = mix(w^s1, h^s2)
			}
			return i + k, h
		}
		w |= uint64(c) << (8 * k)
	}
	return -1, h
}

// sameWords reports whether the n ≥ 8 bytes at pa and pb are the same,
// comparing them eight at a time, the last word overlapping the one before.
// It is short enough to be inlined: a call in a lookup's loop would cost
// more than comparing a name's two or three words.
func sameWords(pa, pb unsafe.Pointer, n int) bool {
	k := 0
	for k < n-8 && load64(pa, k) == load64(pb, k) {
		k += 8
	}
	return k >= n-8 && load64(pa, n-8) == load64(pb, n-8)
}

// load64 is the little-endian word at p+i; the caller keeps it in bounds.
func load64(p unsafe.Pointer, i int) uint64 {
	return binary.LittleEndian.Uint64((*[8]byte)(unsafe.Add(p, i))[:])
}
