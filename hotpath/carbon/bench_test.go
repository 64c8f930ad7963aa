package carbon

import (
	"fmt"
	"statbox/storage/layout"
	"testing"
	"time"
)

// typicalLines is traffic as senders produce it: plain names, tags in both
// notations, timestamp -1, float timestamps, a '\r\n' sender and one bad line.
const typicalLines = "servers.web01.cpu.total.user 12.5 1700000000\n" +
	"servers.web01.cpu.total.system 3 1700000000\n" +
	"servers.web01.memory.MemFree 1.6384e9 1700000000\r\n" +
	"servers.web01.disk.sda.reads -0.25 1700000000.5\n" +
	"stats.counters.api.requests.count 1234 -1\n" +
	"cpu.total;host=web01;dc=ams;role=web 12.5 1700000000\n" +
	"cpu.total;role=web;dc=ams;host=web01 12.5 1700000000\n" +
	`http_requests_total{method="GET",code="200"} 1027 1700000000` + "\n" +
	"bad line\n"

func TestAllocsFeed(t *testing.T) {
	p := NewParser(&discard{}, &Stats{})
	s := NewStream(p)
	buf := []byte(typicalLines)
	half := len(buf) / 2 // a line split across two Feeds
	feed := func() {
		s.Feed(buf[:half])
		s.Feed(buf[half:])
	}
	feed() // the scratch buffers grow once
	if n := testing.AllocsPerRun(100, feed); n != 0 {
		t.Errorf("Feed allocates %v times per run", n)
	}
	if n := testing.AllocsPerRun(100, func() { p.Packet(buf) }); n != 0 {
		t.Errorf("Packet allocates %v times per run", n)
	}
	line := []byte("cpu.total;role=web;dc=ams;host=web01 12.5 1700000000")
	if n := testing.AllocsPerRun(100, func() { p.ParseLine(line) }); n != 0 {
		t.Errorf("ParseLine allocates %v times per run", n)
	}
}

func TestAllocsNames(t *testing.T) {
	dst := make([]byte, 0, 256)
	for _, name := range []string{"a.b.c", "cpu.total;role=web;dc=ams;host=web01", `m{b="1",a="2"}`} {
		n := []byte(name)
		if a := testing.AllocsPerRun(100, func() { dst, _ = AppendName(dst[:0], n) }); a != 0 {
			t.Errorf("AppendName(%q) allocates %v times", name, a)
		}
		if a := testing.AllocsPerRun(100, func() { dst = layout.AppendPath(dst[:0], n) }); a != 0 {
			t.Errorf("layout.AppendPath(%q) allocates %v times", name, a)
		}
	}
}

func BenchmarkParseLine(b *testing.B) {
	for _, c := range []struct{ name, line string }{
		{"plain", "servers.web01.cpu.total.user 12.5 1700000000"},
		{"integer", "stats.counters.api.requests.count 1234 1700000000"},
		{"tagged", "cpu.total;role=web;dc=ams;host=web01 12.5 1700000000"},
		{"openmetrics", `http_requests_total{method="GET",code="200"} 1027 1700000000`},
	} {
		b.Run(c.name, func(b *testing.B) {
			p := NewParser(&discard{}, &Stats{})
			line := []byte(c.line)
			b.SetBytes(int64(len(line)))
			for b.Loop() {
				p.ParseLine(line)
			}
		})
	}
}

// BenchmarkStreamFeed feeds 64 KiB reads of a stream of lines for 100,000
// distinct series, as a busy carbon connection delivers them.
func BenchmarkStreamFeed(b *testing.B) {
	var all []byte
	for i := range 100_000 {
		all = fmt.Appendf(all, "servers.host%05d.cpu.total.user %d.%d %d\n", i, i%100, i%7, 1700000000+i%60)
	}
	var reads [][]byte
	for rest := all; len(rest) > 0; {
		n := min(len(rest), 64<<10)
		reads = append(reads, rest[:n])
		rest = rest[n:]
	}
	sink := &discard{}
	s := NewStream(NewParser(sink, &Stats{}))
	b.SetBytes(64 << 10)
	b.ResetTimer()
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		s.Feed(reads[i%len(reads)])
	}
	b.ReportMetric(float64(sink.n)/time.Since(start).Seconds(), "lines/s")
}

func BenchmarkPacket(b *testing.B) {
	var pkt []byte
	for i := 0; len(pkt) < 1400-48; i++ {
		pkt = fmt.Appendf(pkt, "servers.host%05d.cpu.total.user %d 1700000000\n", i, i)
	}
	p := NewParser(&discard{}, &Stats{})
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		p.Packet(pkt)
	}
}

func BenchmarkLayoutPath(b *testing.B) {
	for _, name := range []string{"servers.web01.cpu.total.user", "cpu.total;dc=ams;host=web01;role=web"} {
		b.Run(name, func(b *testing.B) {
			n := []byte(name)
			var dst []byte
			for b.Loop() {
				dst = layout.AppendPath(dst[:0], n)
			}
		})
	}
}

var scanSink int

func BenchmarkScanName(b *testing.B) {
	line := []byte("servers.web01.cpu.total.user 12.5 1700000000")
	for b.Loop() {
		e, f := scanName(line, 0)
		scanSink += e + f
	}
}
