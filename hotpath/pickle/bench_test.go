package pickle

import "testing"

// BenchmarkDecode decodes the frame carbon-relay sends by default: 500
// points pickled by python3's pickle.dumps(..., protocol=2).
func BenchmarkDecode(b *testing.B) {
	f := encodeProto2(typicalPoints(500), true)
	d := NewDecoder(nil)
	var c counter
	b.SetBytes(int64(len(f)))
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Decode(f, &c); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(c.n)/b.Elapsed().Seconds(), "points/s")
}

// BenchmarkDecodeProtocol0 decodes 500 points pickled by python3 at
// protocol 0 (text opcodes; Diamond on Python 2 sends these).
func BenchmarkDecodeProtocol0(b *testing.B) {
	script := `
import pickle, sys
ps = [('servers.web%03d.cpu.total.user' % i, (1700000000 + (i // 50) * 10, float(i) * 1.25)) for i in range(500)]
sys.stdout.buffer.write(pickle.dumps(ps, protocol=0))`
	f, err := execOutput(python3(b), "-c", script)
	if err != nil {
		b.Fatal(err)
	}
	d := NewDecoder(nil)
	var c counter
	b.SetBytes(int64(len(f)))
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Decode(f, &c); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(c.n)/b.Elapsed().Seconds(), "points/s")
}
