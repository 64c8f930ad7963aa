package appliance

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"statbox/storage/whisper"
)

// TestE2ERenderWhileCreatingLosesNothing sends points for new metrics, one
// at a time, while clients ask /render for the metric being created (as a
// dashboard does for a series that just appeared), and requires every point
// in the files after SIGTERM and no "points lost" in the log.
//
// The race it hunts: /render's cache.Fetch calls whisper.Pool.Acquire for a
// path whose file does not exist yet; the pool keeps that in-flight open as
// the path's entry. If the writer has meanwhile created the file, its own
// Acquire right after the create waits for that entry and gets its
// ErrNotExist, and cache's writer counts the batch as a write error and
// drops it. Many fetches of the metric being created, and the next metric
// only once the last one's file exists, make it frequent (several in 100
// metrics here); the test sends up to 3,000 metrics in 10 s and stops soon
// after the first loss.
func TestE2ERenderWhileCreatingLosesNothing(t *testing.T) {
	t.Parallel()
	bin := buildStatbox(t)
	conf := writeConfDir(t, "[default]\npattern = .*\nretentions = 10s:1h\n") // small files
	data := filepath.Join(t.TempDir(), "data")
	d := startDaemon(t, bin, data, "--conf-dir", conf, "--max-creates-per-minute", "0", "--self-interval", "0")
	ts := baseTime()
	name := func(i int64) string { return fmt.Sprintf("e2e.race.m%05d", i) }

	var current atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				// One request, many fetches of the metric being created:
				// each is an Acquire of its path.
				targets := make([]string, 100)
				for k := range targets {
					targets[k] = name(current.Load())
				}
				d.render(t, fmt.Sprint(ts-10), fmt.Sprint(ts), targets...)
			}
		}()
	}
	c := dial(t, d.Carbon)
	deadline := time.Now().Add(10 * time.Second)
	sent := int64(0)
	for ; sent < 3000 && time.Now().Before(deadline); sent++ {
		current.Store(sent)
		mustWrite(t, c, []byte(fmt.Sprintf("%s 1 %d\n", name(sent), ts)))
		// The next metric once this one's file is there, so that the
		// fetches above fall on each create.
		path := filepath.Join(data, "whisper", "e2e", "race", fmt.Sprintf("m%05d.wsp", sent))
		for k := 0; k < 10000; k++ {
			if _, err := os.Stat(path); err == nil {
				break
			}
			time.Sleep(20 * time.Microsecond)
		}
		if sent%500 == 499 && strings.Contains(d.Logs(), "points lost") {
			sent++
			break
		}
	}
	close(stop)
	wg.Wait()
	// Concurrent requests leave the client spare connections that never sent
	// a request; TestE2ESIGTERMWithSilentHTTPClient is about those.
	e2eClient.CloseIdleConnections()
	d.stop()

	var lost []string
	for i := int64(0); i < sent; i++ {
		path := filepath.Join(data, "whisper", "e2e", "race", fmt.Sprintf("m%05d.wsp", i))
		f, err := whisper.Open(path, whisper.Options{ReadOnly: true})
		if err != nil {
			lost = append(lost, fmt.Sprintf("%s: %v", name(i), err))
			continue
		}
		_, vals, err := f.Fetch(nil, ts-10, ts, time.Now().Unix())
		f.Close()
		if err != nil || len(vals) != 1 || vals[0] != 1 {
			lost = append(lost, fmt.Sprintf("%s: %v %v", name(i), vals, err))
		}
	}
	var warnings []string
	for _, l := range strings.Split(d.Logs(), "\n") {
		if strings.Contains(l, "points lost") {
			warnings = append(warnings, l)
		}
	}
	t.Logf("%d metrics sent", sent)
	if len(lost) > 0 || len(warnings) > 0 {
		warnings = append(warnings, "")
		t.Errorf("%d of %d points not in their files (first: %v); %d \"points lost\" in the log, the first:\n%s",
			len(lost), sent, lost[:min(len(lost), 3)], len(warnings)-1, warnings[0])
	}
}
