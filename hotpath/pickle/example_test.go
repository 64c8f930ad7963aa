package pickle_test

import (
	"fmt"

	"statbox/hotpath/pickle"
)

type printSink struct{}

func (printSink) Store(name []byte, timestamp int64, value float64) {
	fmt.Printf("%s %v %d\n", name, value, timestamp)
}

func ExampleStream() {
	stats := new(pickle.Stats)
	s := pickle.NewStream(pickle.NewDecoder(stats), printSink{})

	// pickle.dumps([("a.b", (1700000000, 1.5))], protocol=2), framed, in
	// two reads.
	conn := []byte("\x00\x00\x00\x25" +
		"\x80\x02]q\x00X\x03\x00\x00\x00a.bq\x01J\x00\xf1\x53\x65G?\xf8\x00\x00\x00\x00\x00\x00\x86q\x02\x86q\x03a.")
	for _, read := range [][]byte{conn[:10], conn[10:]} {
		if err := s.Feed(read); err != nil {
			fmt.Println("close:", err) // the listener closes the connection
			return
		}
	}
	fmt.Println(stats.Frames.Load(), "frame,", stats.Points.Load(), "point")
	// Output:
	// a.b 1.5 1700000000
	// 1 frame, 1 point
}
