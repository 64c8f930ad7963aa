package carbon

import "testing"

// TestSWARDigits checks the eight-digits-at-once path of scanInt.
func TestSWARDigits(t *testing.T) {
	for _, s := range []string{"00000000", "12345678", "99999999", "17000000", "01020304"} {
		var want uint64
		for _, c := range s {
			want = want*10 + uint64(c-'0')
		}
		x := uint64(0)
		for i := 7; i >= 0; i-- {
			x = x<<8 | uint64(s[i])
		}
		if !eightDigits(x) || swarDigits(x) != want {
			t.Errorf("%s: %v %d", s, eightDigits(x), swarDigits(x))
		}
	}
	for _, s := range []string{"1234567/", "1234567:", "a2345678", "1234 678", "\xb12345678"[:8]} {
		x := uint64(0)
		for i := 7; i >= 0; i-- {
			x = x<<8 | uint64(s[i])
		}
		if eightDigits(x) {
			t.Errorf("%q taken for digits", s)
		}
	}
}
