//go:build linux

package listen

import (
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// waitFor polls cond every millisecond until it holds or d has passed, and
// reports whether it held.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// mustWait fails the test unless cond holds within 10 s; what says what
// was awaited.
func mustWait(t testing.TB, what string, cond func() bool) {
	t.Helper()
	if !waitFor(10*time.Second, cond) {
		t.Fatalf("still not %s after 10s", what)
	}
}

// missing skips the test for lack of something the machine does not give, or
// fails it when CI=true, where everything a test needs must be there.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// raiseNofile makes sure the process may hold want descriptors, raising the
// hard limit too when it may (as root), and restores the limits afterwards.
func raiseNofile(t testing.TB, want uint64) {
	t.Helper()
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	if old.Cur >= want {
		return
	}
	lim := unix.Rlimit{Cur: want, Max: max(old.Max, want)}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		missing(t, "need RLIMIT_NOFILE %d, have %d (hard %d), cannot raise it: %v", want, old.Cur, old.Max, err)
	}
	t.Cleanup(func() { unix.Setrlimit(unix.RLIMIT_NOFILE, &old) })
}

// recorder is a Session that keeps everything it is given.
type recorder struct {
	mu     sync.Mutex
	data   []byte
	closes int
	// onData, when set, runs before the bytes are kept; its result is Data's.
	onData func(r *recorder, b []byte) bool
}

func (r *recorder) Data(b []byte) bool {
	var stop bool
	if r.onData != nil {
		stop = r.onData(r, b)
	}
	r.mu.Lock()
	r.data = append(r.data, b...)
	r.mu.Unlock()
	return stop
}

func (r *recorder) Close() {
	r.mu.Lock()
	r.closes++
	r.mu.Unlock()
}

func (r *recorder) snapshot() (data []byte, closes int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]byte(nil), r.data...), r.closes
}

// recorders hands out recorders and remembers them.
type recorders struct {
	mu     sync.Mutex
	all    []*recorder
	onData func(r *recorder, b []byte) bool
}

func (rs *recorders) newSession() Session {
	r := &recorder{onData: rs.onData}
	rs.mu.Lock()
	rs.all = append(rs.all, r)
	rs.mu.Unlock()
	return r
}

func (rs *recorders) list() []*recorder {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]*recorder(nil), rs.all...)
}
