package find

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"time"

	"statbox/storage/layout"
	"statbox/storage/whisper"
)

// WhisperIntervals returns the Intervals of the whisper tree at dir as
// graphite-web's WhisperReader.get_intervals computes them: start is now
// minus the file's maxRetention (bytes 4..7 of its header, see
// storage/whisper/FORMAT.md), end the later of the file's mtime and start.
func WhisperIntervals(dir string, now func() time.Time) Intervals {
	return func(name string) (float64, float64, bool) {
		p := filepath.Join(dir, string(layout.AppendPath(nil, []byte(name))))
		f, err := os.Open(p)
		if err != nil {
			return 0, 0, false
		}
		defer f.Close()
		var meta [whisper.MetadataSize]byte
		if _, err := f.ReadAt(meta[:], 0); err != nil {
			return 0, 0, false
		}
		st, err := f.Stat()
		if err != nil {
			return 0, 0, false
		}
		t := now()
		start := float64(t.UnixNano())/1e9 - float64(binary.BigEndian.Uint32(meta[4:8]))
		end := float64(st.ModTime().UnixNano()) / 1e9
		return start, max(end, start), true
	}
}
