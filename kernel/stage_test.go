package kernel

import (
	"bytes"
	"errors"
	"log/slog"
	"math"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// fake emits its samples and returns err, or panics with boom.
type fake struct {
	name    string
	samples []string
	value   float64
	err     error
	boom    bool
	calls   int
}

func (f *fake) Name() string { return f.name }

func (f *fake) Collect(now time.Time, emit Emit) error {
	f.calls++
	if f.boom {
		panic("collector bug")
	}
	for _, s := range f.samples {
		emit(s, f.value)
	}
	return f.err
}

type point struct {
	name string
	ts   int64
	v    float64
}

// recorder is a Store that keeps what it is given.
type recorder struct {
	mu     sync.Mutex
	points []point
}

func (r *recorder) store(name []byte, ts int64, v float64) {
	r.mu.Lock()
	r.points = append(r.points, point{string(name), ts, v})
	r.mu.Unlock()
}

func (r *recorder) byName() map[string]point {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := map[string]point{}
	for _, p := range r.points {
		m[p.name] = p
	}
	return m
}

func TestRoundStoresUnderServersHost(t *testing.T) {
	var rec recorder
	cpu := &fake{name: "cpu", samples: []string{"cpu.total.user", "cpu.total.idle"}, value: 1.5}
	bad := &fake{name: "bad", samples: []string{"x.nan"}, value: math.NaN()}
	s := New(Options{Interval: 10 * time.Second, Host: "web1", Store: rec.store, SelfPrefix: "statbox.web1.",
		Collectors: []Collector{cpu, bad}})
	now := time.Unix(1_800_000_010, 0)
	s.Round(now)
	got := rec.byName()
	for _, n := range []string{"servers.web1.cpu.total.user", "servers.web1.cpu.total.idle"} {
		if p, ok := got[n]; !ok || p.ts != now.Unix() || p.v != 1.5 {
			t.Errorf("%s = %+v, %v", n, p, ok)
		}
	}
	if _, ok := got["servers.web1.x.nan"]; ok {
		t.Error("NaN stored")
	}
	for _, n := range []string{"collect.cpuMicroseconds", "collect.cpuPercent", "collect.wallMicroseconds", "collect.points",
		"collect.errors", "collect.cpu.cpuMicroseconds", "collect.bad.cpuMicroseconds"} {
		p, ok := got["statbox.web1."+n]
		if !ok || p.v < 0 || p.ts != now.Unix() {
			t.Errorf("self-metric %s = %+v, %v", n, p, ok)
		}
	}
	if got["statbox.web1.collect.points"].v != 2 {
		t.Errorf("collect.points = %v, want 2", got["statbox.web1.collect.points"].v)
	}
	st := s.Stats()
	if st.Rounds != 1 || st.Points != 2 || st.Skipped != 1 || st.Errors != 0 {
		t.Errorf("stats %+v", st)
	}
	s.Stop() // a stage never started stops at once
}

// TestErrorsLoggedOnce: a collector failing the same way every round is
// one line in the log, its recovery another, a new error a third; a
// panicking collector costs only its own samples.
func TestErrorsLoggedOnce(t *testing.T) {
	var logs bytes.Buffer
	var rec recorder
	flaky := &fake{name: "flaky", err: errors.New("open /proc/x: no such file")}
	boom := &fake{name: "boom", boom: true}
	good := &fake{name: "good", samples: []string{"ok"}}
	s := New(Options{Interval: time.Second, Host: "h", Store: rec.store, Collectors: []Collector{flaky, boom, good},
		Log: slog.New(slog.NewTextHandler(&logs, nil))})
	now := time.Unix(1_800_000_000, 0)
	for i, err := range []error{flaky.err, flaky.err, flaky.err, nil, errors.New("read /proc/x: bad")} {
		flaky.err = err
		s.Round(now.Add(time.Duration(i) * time.Second))
	}
	out := logs.String()
	if n := strings.Count(out, "collector=flaky"); n != 3 {
		t.Errorf("flaky logged %d times, want 3 (fail, recover, new failure):\n%s", n, out)
	}
	if n := strings.Count(out, "collector=boom"); n != 1 || !strings.Contains(out, "panic: collector bug") {
		t.Errorf("panic logged %d times, want 1:\n%s", n, out)
	}
	if good.calls != 5 || len(rec.points) != 5 {
		t.Errorf("good collector: %d calls, %d points; want 5, 5", good.calls, len(rec.points))
	}
	if st := s.Stats(); st.Errors != 9 { // flaky 4 times, boom 5 times
		t.Errorf("errors = %d, want 9", st.Errors)
	}
}

// TestStartStop: rounds run on the clock until Stop, which waits for a
// round in progress and returns.
func TestStartStop(t *testing.T) {
	var rec recorder
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	slow := collectorFunc{"slow", func(now time.Time, emit Emit) error {
		select {
		case started <- struct{}{}:
			<-release
		default:
		}
		emit("slow", 1)
		return nil
	}}
	closer := &closing{collectorFunc: collectorFunc{"closer", func(time.Time, Emit) error { return nil }}}
	s, err := Start(Options{Interval: 10 * time.Millisecond, Host: "h", Store: rec.store, Collectors: []Collector{slow, closer}})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(time.Minute): // not a timing assertion: a stage that never runs
		t.Fatal("no round within a minute of a 10 ms interval")
	}
	stopped := make(chan struct{})
	go func() { s.Stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("Stop returned during a round")
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	select {
	case <-stopped:
	case <-time.After(time.Minute):
		t.Fatal("Stop did not return after the round ended")
	}
	if got := rec.byName(); len(got) != 1 {
		t.Errorf("the round in progress at Stop stored %v", got)
	}
	s.Stop() // twice is fine
	if closer.closed != 1 {
		t.Errorf("collector closed %d times, want once", closer.closed)
	}

	if _, err := Start(Options{Interval: 0, Store: rec.store}); err == nil {
		t.Error("Start with a zero interval: no error")
	}
}

// closing is a collector with probes to detach: Stop closes it.
type closing struct {
	collectorFunc
	closed int
}

func (c *closing) Close() error { c.closed++; return nil }

type collectorFunc struct {
	name string
	f    func(time.Time, Emit) error
}

func (c collectorFunc) Name() string                           { return c.name }
func (c collectorFunc) Collect(now time.Time, emit Emit) error { return c.f(now, emit) }

// TestRoundAllocs: the stage itself allocates nothing per round: names are
// built in one reused buffer.
func TestRoundAllocs(t *testing.T) {
	var n int
	store := func(name []byte, ts int64, v float64) { n += len(name) }
	c := &fake{name: "cpu", samples: []string{"cpu.total.user", "cpu.total.idle", "memory.MemFree"}}
	s := New(Options{Interval: time.Second, Host: "h", Store: store, SelfPrefix: "statbox.h.", Collectors: []Collector{c, c}})
	now := time.Unix(1_800_000_000, 0)
	s.Round(now)
	if a := testing.AllocsPerRun(100, func() { s.Round(now) }); a != 0 {
		t.Errorf("%v allocations a round, want 0", a)
	}
}

func TestHostname(t *testing.T) {
	h, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	want, _, _ := strings.Cut(h, ".")
	if got := Hostname(); got != want {
		t.Errorf("Hostname() = %q, want %q (os.Hostname %q up to its first dot)", got, want, h)
	}
}
