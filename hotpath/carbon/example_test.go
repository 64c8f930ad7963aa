package carbon_test

import (
	"fmt"

	"statbox/hotpath/carbon"
)

// printer is a Sink that prints each point.
type printer struct{}

func (printer) Store(name []byte, timestamp int64, value float64) {
	fmt.Printf("%s %d %g\n", name, timestamp, value)
}

func ExampleStream() {
	var stats carbon.Stats
	s := carbon.NewStream(carbon.NewParser(printer{}, &stats))
	// Reads from a connection end anywhere, mid-line included.
	s.Feed([]byte("servers.web01.cpu.user 12.5 1700000000\r\ncpu;host=web01;dc=a"))
	s.Feed([]byte("ms 3 1700000000\nbad line\na..b 1 1700000000\nunterminated 1 2"))
	s.Close()
	fmt.Println("points:", stats.Points.Load(), "bad lines:", stats.BadLines(), "unterminated:", stats.Unterminated.Load())
	// Output:
	// servers.web01.cpu.user 1700000000 12.5
	// cpu;dc=ams;host=web01 1700000000 3
	// points: 2 bad lines: 2 unterminated: 1
}

func ExampleParser_Packet() {
	p := carbon.NewParser(printer{}, &carbon.Stats{})
	p.Packet([]byte("a.b 1 1700000000\nc.d 2 1700000000"))
	// Output:
	// a.b 1700000000 1
	// c.d 1700000000 2
}

func ExampleAppendName() {
	var name []byte
	for _, raw := range []string{"cpu;role=web;dc=ams", `http_requests{code="200"}`, "~a.b", "a..b", "a;b"} {
		var err error
		name, err = carbon.AppendName(name[:0], []byte(raw))
		fmt.Printf("%-26q %q %v\n", raw, name, err)
	}
	// Output:
	// "cpu;role=web;dc=ams"      "cpu;dc=ams;role=web" <nil>
	// "http_requests{code=\"200\"}" "http_requests;code=200" <nil>
	// "~a.b"                     "a.b" <nil>
	// "a..b"                     "" carbon: bad metric name
	// "a;b"                      "" carbon: bad tags
}
