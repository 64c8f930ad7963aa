package pickle

import (
	"testing"
)

// FuzzDecode: no input panics, a rejected frame delivers nothing, points
// stay within one per two bytes, the arenas within their bounds, and a
// Stream fed the framed input in two pieces delivers the same.
func FuzzDecode(f *testing.F) {
	f.Add(encodeProto2(typicalPoints(3), true))
	f.Add(encodeProto2(typicalPoints(2), false))
	for _, b := range python2Frames {
		f.Add(b)
	}
	f.Add([]byte("cos\nsystem\n(S'true'\ntR."))
	f.Add([]byte("\x80\x02]q\x00(X\x01\x00\x00\x00aJ\x00\xf1\x53\x65K\x01\x86\x86q\x01h\x01h\x01e."))
	f.Add([]byte("](Vh\xe9\\u20ac\nL-3L\nFinf\n\x86\x86e."))
	d := NewDecoder(nil)
	sd := NewDecoder(nil)
	f.Fuzz(func(t *testing.T, data []byte) {
		var c counter
		err := d.Decode(data, &c)
		if err != nil && c.n != 0 {
			t.Fatalf("%v, yet %d points", err, c.n)
		}
		if c.n > len(data)/2 {
			t.Fatalf("%d points from %d bytes", c.n, len(data))
		}
		n := len(data)
		if len(d.objs) > n || len(d.stack) > n || len(d.items) > n || len(d.segs) > n || len(d.memo) > n || len(d.text) > 2*n || len(d.marks) > MaxDepth {
			t.Fatalf("arenas beyond bounds for %d bytes: objs %d stack %d items %d segs %d memo %d text %d marks %d",
				n, len(d.objs), len(d.stack), len(d.items), len(d.segs), len(d.memo), len(d.text), len(d.marks))
		}
		var sc counter
		s := NewStream(sd, &sc)
		fr := frame(data)
		cut := int(uint(len(data)*7919) % uint(len(fr)+1))
		if err := s.Feed(fr[:cut]); err != nil {
			t.Fatal(err)
		}
		if err := s.Feed(fr[cut:]); err != nil {
			t.Fatal(err)
		}
		if sc.n != c.n {
			t.Fatalf("stream delivered %d points, decoder %d", sc.n, c.n)
		}
	})
}
