package events_test

import (
	"fmt"
	"os"

	"statbox/storage/events"
)

func ExampleStore_EventTimes() {
	dir, _ := os.MkdirTemp("", "events")
	defer os.RemoveAll(dir)
	s, _ := events.Open(dir)
	defer s.Close()
	s.Add(events.Event{When: 1700000000e6, What: "deploy web", Tags: "deploy web"})
	s.Add(events.Event{When: 1700000600e6, What: "deploy db", Tags: "deploy db"})
	s.Add(events.Event{When: 1700001200e6, What: "reboot", Tags: "ops"})
	fmt.Println(s.EventTimes(1700000000, 1700003600, []string{"deploy"}))
	fmt.Println(s.EventTimes(1700000000, 1700003600, []string{"deploy", "db"}))
	fmt.Println(s.EventTimes(1700000000, 1700003600, nil))
	// Output:
	// [1700000000 1700000600] <nil>
	// [1700000600] <nil>
	// [1700000000 1700000600 1700001200] <nil>
}
