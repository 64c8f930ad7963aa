package ebpf

import (
	"errors"
	"sync"
	"time"

	"github.com/cilium/ebpf/link"
)

// window attaches the costly probes (the syscall counter and runqlat, which
// run on every system call and every context switch) for only the last
// part of each interval, so that their cost is that fraction of what it
// would be. A rate is then taken over the window, and a histogram is that
// of the window: a sample of the interval, not all of it.
type window struct {
	length time.Duration
	probes []probe
	progs  []*attached

	mu     sync.Mutex
	timer  *time.Timer
	from   time.Time // when the programs were last attached
	on     bool
	closed bool
}

func newWindow(length time.Duration, probes []probe, opened time.Time) *window {
	w := &window{length: length, probes: probes, from: opened, on: true}
	for _, pr := range probes {
		w.progs = append(w.progs, pr.sampled()...)
	}
	return w
}

// end detaches the programs at the end of an interval and returns for how
// long they were attached in it (0 if the window never opened).
func (w *window) end(now time.Time) (time.Duration, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		w.timer.Stop()
	}
	if !w.on {
		return 0, nil
	}
	w.on = false
	var errs []error
	for _, a := range w.progs {
		if a.link != nil {
			errs = append(errs, a.link.Close())
			a.link = nil
		}
	}
	return max(now.Sub(w.from), 0), errors.Join(errs...)
}

// schedule opens the next window length before the next interval ends,
// taking the next interval to last as long as the one that just did.
func (w *window) schedule(interval time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	w.timer = time.AfterFunc(max(interval-w.length, 0), w.open)
}

func (w *window) open() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || w.on {
		return
	}
	for _, pr := range w.probes {
		pr.opening()
	}
	for _, a := range w.progs {
		// A program that cannot attach again (it did at Open) counts
		// nothing this window; the next tries again.
		if l, err := link.AttachTracing(link.TracingOptions{Program: a.prog}); err == nil {
			a.link = l
		}
	}
	w.from = time.Now()
	w.on = true
}

// close stops the timer for good; the probes' own close detaches what is
// attached.
func (w *window) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	if w.timer != nil {
		w.timer.Stop()
	}
}

// isOn tells whether the programs are attached now (for tests).
func (w *window) isOn() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.on
}
