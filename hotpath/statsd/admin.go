package statsd

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"time"
)

// AdminServer is etsy statsd's management interface: TCP, one command per
// line, answered in etsy's words (see PROTOCOL.md).
type AdminServer struct {
	l     net.Listener
	agg   *Aggregator
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// ListenAdmin serves the admin interface for agg on addr.
func ListenAdmin(addr string, agg *Aggregator) (*AdminServer, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("statsd admin: %w", err)
	}
	s := &AdminServer{l: l, agg: agg, conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Addr is the address the interface listens on.
func (s *AdminServer) Addr() net.Addr { return s.l.Addr() }

// Close stops listening and closes every connection.
func (s *AdminServer) Close() error {
	err := s.l.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

func (s *AdminServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.l.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
		}()
	}
}

func (s *AdminServer) serve(c net.Conn) {
	sc := bufio.NewScanner(c)
	sc.Buffer(make([]byte, 4096), 1<<20)
	w := bufio.NewWriter(c)
	for sc.Scan() {
		fields := strings.Split(strings.TrimSpace(sc.Text()), " ")
		if fields[0] == "" {
			continue
		}
		quit := s.agg.Command(w, fields[0], fields[1:])
		if w.Flush() != nil || quit {
			return
		}
	}
}

// Command runs one admin command, writing its answer to w as etsy statsd
// does, and reports whether the connection is to be closed.
func (a *Aggregator) Command(w io.Writer, cmd string, params []string) (quit bool) {
	switch cmd {
	case "help":
		io.WriteString(w, "Commands: stats, counters, timers, gauges, sets, delcounters, deltimers, delgauges, delsets, health, quit\n\n")
	case "health":
		if len(params) > 0 {
			switch strings.ToLower(params[0]) {
			case "up":
				a.healthy.Store(true)
			case "down":
				a.healthy.Store(false)
			}
		}
		state := "up"
		if !a.healthy.Load() {
			state = "down"
		}
		fmt.Fprintf(w, "health: %s\n", state)
	case "stats":
		a.writeStats(w)
	case "counters":
		a.dump(w, Counter)
	case "timers":
		a.dump(w, Timer)
	case "gauges":
		a.dump(w, Gauge)
	case "sets":
		a.dump(w, Set)
	case "delcounters":
		a.delete(w, Counter, params)
	case "deltimers":
		a.delete(w, Timer, params)
	case "delgauges":
		a.delete(w, Gauge, params)
	case "delsets":
		a.delete(w, Set, params)
	case "quit":
		return true
	default:
		io.WriteString(w, "ERROR\n")
	}
	return false
}

// writeStats is etsy's "stats": uptime, the message counters and the
// backend's, times given as seconds ago.
func (a *Aggregator) writeStats(w io.Writer) {
	now := time.Now().Unix()
	a.mu.Lock()
	bad := a.badTotal
	last := a.start
	for _, s := range a.shardList() {
		s.mu.Lock()
		bad += s.cur.bad
		last = max(last, s.lastSeen)
		s.mu.Unlock()
	}
	gs := a.gstats
	a.mu.Unlock()
	fmt.Fprintf(w, "uptime: %d\n", now-a.start)
	fmt.Fprintf(w, "messages.last_msg_seen: %d\n", now-last)
	fmt.Fprintf(w, "messages.bad_lines_seen: %d\n", bad)
	fmt.Fprintf(w, "graphite.last_flush: %d\n", now-gs.lastFlush)
	fmt.Fprintf(w, "graphite.last_exception: %d\n", now-gs.lastException)
	fmt.Fprintf(w, "graphite.flush_time: %d\n", gs.flushTime)
	fmt.Fprintf(w, "graphite.flush_length: %d\n", gs.flushLength)
	io.WriteString(w, "END\n\n")
}

// live is one name's value as the admin interface shows it.
type live struct {
	name   string
	value  float64   // counters, gauges, sets (distinct members)
	values []float64 // timers
	set    []uint64
}

// snapshot returns every name of typ with its value so far in the
// interval: the totals and what the receivers hold, merged.
func (a *Aggregator) snapshot(typ Type) []live {
	var out []live
	index := map[string]int{}
	add := func(t *table, totals bool) {
		for k := range t.entries {
			e := &t.entries[k]
			if e.typ != typ || e.dead {
				continue
			}
			name := string(t.name(e))
			i, ok := index[name]
			if !ok {
				i = len(out)
				index[name] = i
				out = append(out, live{name: name})
			}
			l := &out[i]
			switch typ {
			case Counter:
				l.value += t.counters[e.idx]
			case Gauge:
				g := &t.gauges[e.idx]
				if totals || g.set {
					l.value = g.value
				} else {
					l.value += g.delta
				}
			case Timer:
				l.values = append(l.values, t.timers[e.idx].values...)
			case Set:
				l.set = append(l.set, t.sets[e.idx].members...)
			}
		}
	}
	add(a.global, true)
	ps := a.opts.PrefixStats
	for _, s := range a.shardList() {
		s.mu.Lock()
		add(s.cur, false)
		if typ == Counter {
			// statsd's own counters, which etsy increments as packets come.
			for _, c := range []struct {
				name string
				n    uint64
			}{{".bad_lines_seen", s.cur.bad}, {".packets_received", s.cur.packets}, {".metrics_received", s.cur.lines}} {
				if i, ok := index[ps+c.name]; ok {
					out[i].value += float64(c.n)
				}
			}
		}
		s.mu.Unlock()
	}
	if typ == Set {
		for i := range out {
			out[i].value = float64(distinct(out[i].set))
		}
	}
	return out
}

// dump writes the names of typ and their values in the layout of node's
// util.inspect, as etsy prints its objects, then "END".
func (a *Aggregator) dump(w io.Writer, typ Type) {
	a.mu.Lock()
	snap := a.snapshot(typ)
	a.mu.Unlock()
	entries := make([]string, len(snap))
	for i, l := range snap {
		var v []byte
		if typ == Timer {
			parts := make([]string, len(l.values))
			for j, x := range l.values {
				parts[j] = inspectNumber(x)
			}
			v = []byte(inspectList("[", "]", parts, 2))
		} else {
			v = []byte(inspectNumber(l.value))
		}
		entries[i] = inspectKey(l.name) + ": " + string(v)
	}
	io.WriteString(w, inspectList("{", "}", entries, 0)+"\n")
	io.WriteString(w, "END\n\n")
}

var identifier = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z_0-9]*$`)

// inspectKey quotes a key as util.inspect does: bare when an identifier.
func inspectKey(k string) string {
	if identifier.MatchString(k) {
		return k
	}
	return "'" + strings.ReplaceAll(strings.ReplaceAll(k, `\`, `\\`), "'", `\'`) + "'"
}

func inspectNumber(f float64) string {
	if f == 0 && 1/f < 0 {
		return "-0"
	}
	return string(AppendNumber(nil, f))
}

// inspectList lays out entries on one line when they fit in util.inspect's
// 80 columns, else one per line.
func inspectList(open, close string, entries []string, indent int) string {
	if len(entries) == 0 {
		return open + close
	}
	total := len(entries) + len(entries) + indent + len(open) + 10
	for _, e := range entries {
		total += len(e)
	}
	if total <= 80 {
		return open + " " + strings.Join(entries, ", ") + " " + close
	}
	pad := "\n" + strings.Repeat(" ", indent)
	return open + pad + "  " + strings.Join(entries, ","+pad+"  ") + pad + close
}

// delete is etsy's del* commands: each parameter is a full name, or a
// prefix ending in ".*" that deletes everything under it.
func (a *Aggregator) delete(w io.Writer, typ Type, params []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out bytes.Buffer
	for _, p := range params {
		var match func(name []byte) bool
		if folder, ok := strings.CutSuffix(p, "*"); ok && strings.HasSuffix(p, ".*") {
			match = func(n []byte) bool { return string(n) == p || bytes.HasPrefix(n, []byte(folder)) }
		} else {
			match = func(n []byte) bool { return string(n) == p }
		}
		var deleted []string
		seen := map[string]bool{}
		kill := func(t *table, totals bool) {
			for k := range t.entries {
				e := &t.entries[k]
				if e.typ != typ || e.dead || !match(t.name(e)) {
					continue
				}
				e.dead = true
				switch typ {
				case Counter:
					t.counters[e.idx] = 0
				case Gauge:
					t.gauges[e.idx] = gaugeAgg{}
				case Timer:
					t.timers[e.idx].values = t.timers[e.idx].values[:0]
					t.timers[e.idx].count = 0
				case Set:
					t.sets[e.idx].members = t.sets[e.idx].members[:0]
				}
				if n := string(t.name(e)); !seen[n] {
					seen[n] = true
					deleted = append(deleted, n)
				}
			}
		}
		kill(a.global, true)
		for _, s := range a.shardList() {
			s.mu.Lock()
			kill(s.cur, false)
			s.mu.Unlock()
		}
		if len(deleted) == 0 {
			fmt.Fprintf(&out, "metric %s not found\n", p)
		}
		for _, n := range deleted {
			fmt.Fprintf(&out, "deleted: %s\n", n)
		}
	}
	a.global = a.global.compact()
	out.WriteString("END\n\n")
	w.Write(out.Bytes())
}
