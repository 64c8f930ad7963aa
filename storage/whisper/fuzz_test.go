package whisper

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseHeader feeds arbitrary bytes to ParseHeader and, where they pass,
// maps them and runs updates and fetches: nothing may panic, and every
// accepted header keeps each archive inside the file.
func FuzzParseHeader(f *testing.F) {
	f.Add(validFile(f))
	f.Add([]byte{})
	f.Add(make([]byte, 16))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ParseHeader(data, "fuzz.wsp")
		if err != nil {
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a CorruptError", err)
			}
			return
		}
		for i, a := range h.Archives {
			if a.end() > int64(len(data)) || int64(a.Offset) < h.Size() || a.Points == 0 || a.SecondsPerPoint == 0 {
				t.Fatalf("accepted archive %d %+v in a %d-byte file", i, a, len(data))
			}
		}
		path := filepath.Join(t.TempDir(), "f.wsp")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		wf, err := Open(path, Options{})
		if err != nil {
			t.Fatalf("ParseHeader accepted what Open refused: %v", err)
		}
		defer wf.Close()
		now := int64(1_700_000_000)
		for _, ts := range []int64{now, now - 1, now - int64(h.MaxRetention)/2, now - int64(h.MaxRetention) + 1} {
			wf.Update(1.5, ts, now)
		}
		wf.UpdateMany([]Point{{now - 5, 1}, {now - 70, 2}, {now + 30, 3}, {now - 4000, 4}}, now)
		for ai := range h.Archives {
			wf.ReadArchive(nil, ai, now-int64(h.Archives[ai].Retention()), now)
		}
		wf.Fetch(nil, now-int64(h.MaxRetention), now, now)
	})
}

// FuzzUpdateFetch runs a random sequence of updates on a small file and checks
// after each that a fetch returns what was written, at the step expected.
func FuzzUpdateFetch(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, uint8(1), uint8(0))
	f.Add([]byte{200, 3, 77, 5, 250, 250, 1, 0, 99}, uint8(4), uint8(2))
	f.Fuzz(func(t *testing.T, ops []byte, method, scheme uint8) {
		schemes := [][]Retention{{{1, 10}, {5, 10}}, {{10, 6}, {60, 5}}, {{5, 7}, {15, 9}, {45, 20}}, {{60, 3}}}
		archives := append([]Retention(nil), schemes[int(scheme)%len(schemes)]...)
		m := AggregationMethod(1 + int(method)%8)
		path := filepath.Join(t.TempDir(), "f.wsp")
		if err := Create(path, archives, CreateOptions{AggregationMethod: m, XFilesFactor: 0, XFilesFactorSet: true}); err != nil {
			t.Fatal(err)
		}
		wf, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer wf.Close()
		first := wf.Header.Archives[0]
		now := int64(1_700_000_000)
		for len(ops) >= 3 {
			kind, age, val := ops[0], int64(ops[1]), float64(int8(ops[2]))
			ops = ops[3:]
			now += int64(kind % 17)
			ts := now - age
			switch kind % 3 {
			case 0, 1:
				err := wf.Update(val, ts, now)
				covered := age < int64(wf.Header.MaxRetention)
				if covered != (err == nil) {
					t.Fatalf("Update(age %d): %v, retention %d", age, err, wf.Header.MaxRetention)
				}
				step := int64(first.SecondsPerPoint)
				iv := ts - floorMod(ts, step)
				if err == nil && now-(iv-1) <= first.Retention() {
					r, vals, err := wf.Fetch(nil, iv-1, iv, now)
					if err != nil || r.Step != step || r.From != iv || len(vals) != int((r.Until-r.From)/step) || vals[0] != val {
						t.Fatalf("after Update(%v, %d): fetch %v %v %v", val, ts, r, vals, err)
					}
				}
			case 2:
				pts := []Point{{ts, val}, {ts - int64(kind), val + 1}, {ts + 3, val - 1}}
				if err := wf.UpdateMany(pts, now); err != nil {
					t.Fatal(err)
				}
			}
			r, vals, err := wf.Fetch(nil, now-int64(wf.Header.MaxRetention), now, now)
			if err != nil || int64(len(vals)) > (r.Until-r.From)/r.Step || r.Step <= 0 {
				t.Fatalf("fetch of all: %v, %d values, %v", r, len(vals), err)
			}
			for _, v := range vals {
				if !math.IsNaN(v) && (v < -130 || v > 130) && m != Sum {
					t.Fatalf("value %v was never written (method %s)", v, m)
				}
			}
		}
		// The header never changes under updates.
		if got := binary.BigEndian.Uint32(wf.Bytes()[12:]); got != uint32(len(archives)) {
			t.Fatalf("archive count now %d", got)
		}
	})
}
