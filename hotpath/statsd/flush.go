package statsd

import (
	"bytes"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Flush ends the interval at now: it takes every shard's table, merges it
// into the totals, writes etsy statsd 0.9's graphite output for the totals
// to Options.Store (and Options.Forward), then clears them as etsy does.
func (a *Aggregator) Flush(now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	began := time.Now()
	o := &a.opts
	a.yieldUntil = began.Add(yieldBudget(o.FlushInterval))
	// etsy rounds the flush's time to the second.
	ts := (now.UnixMilli() + 500) / 1000
	g := a.global
	iv := float64(o.FlushInterval.Milliseconds()) / 1000
	if a.prevFlush > 0 {
		e := g.lookup(Gauge, []byte(o.PrefixStats+".timestamp_lag"))
		g.gauges[e.idx].value = float64(ts-a.prevFlush) - iv
	}
	a.prevFlush = ts
	for _, s := range a.shardList() {
		t := s.swap()
		a.merge(t)
		s.giveBack(t)
	}
	processing := time.Since(began).Milliseconds()

	calcStart := time.Now()
	a.out = a.out[:0]
	f := flusher{a: a, ts: ts}
	ns := a.namespaces()
	numStats := 0
	for k := range g.entries {
		e := &g.entries[k]
		if e.typ != Counter {
			continue
		}
		v := g.counters[e.idx]
		rate := v / iv
		if o.LegacyNamespace {
			f.emit(ns.counter, g.name(e), "", "", rate)
			f.emit("stats_counts.", g.name(e), "", "", v)
		} else {
			f.emit(ns.counter, g.name(e), "rate", "", rate)
			f.emit(ns.counter, g.name(e), "count", "", v)
		}
		numStats++
	}
	for k := range g.entries {
		if e := &g.entries[k]; e.typ == Timer {
			f.timer(ns.timer, g.name(e), &g.timers[e.idx], iv)
			numStats++
		}
	}
	for k := range g.entries {
		if e := &g.entries[k]; e.typ == Gauge {
			f.emit(ns.gauge, g.name(e), "", "", g.gauges[e.idx].value)
			numStats++
		}
	}
	for k := range g.entries {
		if e := &g.entries[k]; e.typ == Set {
			f.emit(ns.set, g.name(e), "count", "", float64(distinct(g.sets[e.idx].members)))
			numStats++
		}
	}
	meta := ns.global + o.PrefixStats
	if o.LegacyNamespace {
		f.emit("", []byte(o.PrefixStats), "numStats", "", float64(numStats))
	} else {
		f.emit("", []byte(meta), "numStats", "", float64(numStats))
	}
	f.emit("", []byte(meta), "graphiteStats", "calculationtime", float64(time.Since(calcStart).Milliseconds()))
	f.emit("", []byte(meta), "processing_time", "", float64(processing))
	gs := &a.gstats
	f.emit("", []byte(meta), "graphiteStats", "last_exception", float64(gs.lastException))
	f.emit("", []byte(meta), "graphiteStats", "last_flush", float64(gs.lastFlush))
	f.emit("", []byte(meta), "graphiteStats", "flush_time", float64(gs.flushTime))
	f.emit("", []byte(meta), "graphiteStats", "flush_length", float64(gs.flushLength))
	if o.Stored != nil {
		o.Stored()
	}

	if o.Forward != nil {
		o.Forward(slices.Clone(a.out))
	}
	gs.flushTime = time.Since(calcStart).Milliseconds()
	gs.flushLength = int64(len(a.out))
	gs.lastFlush = ts
	a.clear()
	a.Flushes.Add(1)
}

// step counts one series merged or point written, calling Options.Yield
// every yieldEvery until the flush has lasted its yieldBudget.
func (a *Aggregator) step() {
	a.steps++
	if a.steps == yieldEvery {
		a.steps = 0
		if a.opts.Yield != nil && time.Now().Before(a.yieldUntil) {
			a.opts.Yield()
		}
	}
}

// ForwardFailed records a forward that failed at t, for graphiteStats.last_exception.
func (a *Aggregator) ForwardFailed(t time.Time) {
	a.mu.Lock()
	a.gstats.lastException = t.Unix()
	a.mu.Unlock()
}

// merge adds one receiver's interval to the totals.
func (a *Aggregator) merge(t *table) {
	g := a.global
	ps := a.opts.PrefixStats
	for _, c := range []struct {
		name string
		n    uint64
	}{{".bad_lines_seen", t.bad}, {".packets_received", t.packets}, {".metrics_received", t.lines}} {
		if c.n > 0 {
			e := g.lookup(Counter, []byte(ps+c.name))
			g.counters[e.idx] += float64(c.n)
		}
	}
	a.badTotal += t.bad
	for k := range t.entries {
		e := &t.entries[k]
		if e.dead {
			continue
		}
		a.step()
		ge := g.lookup(e.typ, t.name(e))
		switch e.typ {
		case Counter:
			g.counters[ge.idx] += t.counters[e.idx]
		case Gauge:
			sg, gg := &t.gauges[e.idx], &g.gauges[ge.idx]
			if sg.set {
				gg.value = sg.value
			} else {
				gg.value += sg.delta
			}
			if a.opts.DeleteGauges {
				gg.ttl = 1
			}
		case Timer:
			st, gt := &t.timers[e.idx], &g.timers[ge.idx]
			gt.values = append(gt.values, st.values...)
			gt.count += st.count
		case Set:
			g.sets[ge.idx].members = append(g.sets[ge.idx].members, t.sets[e.idx].members...)
		}
	}
}

// clear leaves the totals as etsy leaves them after a flush: counters,
// timers and sets emptied or deleted, gauges kept or deleted once idle.
func (a *Aggregator) clear() {
	o := &a.opts
	g := a.global
	deleting := false
	for k := range g.entries {
		e := &g.entries[k]
		switch e.typ {
		case Counter:
			g.counters[e.idx] = 0
			if o.DeleteCounters && !selfCounter(g.name(e)) {
				e.dead, deleting = true, true
			}
		case Timer:
			g.timers[e.idx].values = g.timers[e.idx].values[:0]
			g.timers[e.idx].count = 0
			if o.DeleteTimers {
				e.dead, deleting = true, true
			}
		case Set:
			g.sets[e.idx].members = g.sets[e.idx].members[:0]
			if o.DeleteSets {
				e.dead, deleting = true, true
			}
		case Gauge:
			// Only gauges a receiver updated have a ttl: timestamp_lag stays.
			if gg := &g.gauges[e.idx]; o.DeleteGauges && gg.ttl > 0 {
				gg.ttl--
				if gg.ttl < 1 {
					e.dead, deleting = true, true
				}
			}
		}
	}
	if deleting {
		a.global = g.compact()
	}
}

// selfCounter reports whether etsy zeroes a counter rather than deleting it.
func selfCounter(name []byte) bool {
	return bytes.Contains(name, []byte("packets_received")) ||
		bytes.Contains(name, []byte("metrics_received")) ||
		bytes.Contains(name, []byte("bad_lines_seen"))
}

// compact returns a table holding t's live entries, in their order.
func (t *table) compact() *table {
	n := newTable()
	for k := range t.entries {
		e := &t.entries[k]
		if e.dead {
			continue
		}
		ne := n.lookup(e.typ, t.name(e))
		switch e.typ {
		case Counter:
			n.counters[ne.idx] = t.counters[e.idx]
		case Gauge:
			n.gauges[ne.idx] = t.gauges[e.idx]
		case Timer:
			n.timers[ne.idx] = t.timers[e.idx]
		case Set:
			n.sets[ne.idx] = t.sets[e.idx]
		}
	}
	return n
}

// distinct sorts hashes and returns how many differ.
func distinct(h []uint64) int {
	slices.Sort(h)
	n := 0
	for i := range h {
		if i == 0 || h[i] != h[i-1] {
			n++
		}
	}
	return n
}

// namespaces are the prefixes of etsy's graphite backend, each with its
// trailing '.', or "" when empty.
type namespaces struct{ global, counter, timer, gauge, set string }

func (a *Aggregator) namespaces() namespaces {
	o := &a.opts
	if o.LegacyNamespace {
		return namespaces{"stats.", "stats.", "stats.timers.", "stats.gauges.", "stats.sets."}
	}
	join := func(parts ...string) string {
		var b strings.Builder
		for _, p := range parts {
			if p != "" {
				b.WriteString(p)
				b.WriteByte('.')
			}
		}
		return b.String()
	}
	return namespaces{
		global:  join(o.GlobalPrefix),
		counter: join(o.GlobalPrefix, o.PrefixCounter),
		timer:   join(o.GlobalPrefix, o.PrefixTimer),
		gauge:   join(o.GlobalPrefix, o.PrefixGauge),
		set:     join(o.GlobalPrefix, o.PrefixSet),
	}
}

// flusher writes one flush's points.
type flusher struct {
	a  *Aggregator
	ts int64
}

// emit writes ns + key's metric part + "." + s1 + "." + s2 + key's tags, as
// etsy's format() places a tagged key's tags after the whole name.
func (f *flusher) emit(ns string, key []byte, s1, s2 string, v float64) {
	a := f.a
	metric, tags := key, []byte(nil)
	if i := bytes.IndexByte(key, ';'); i >= 0 {
		metric, tags = key[:i], key[i:]
	}
	n := append(a.name[:0], ns...)
	n = append(n, metric...)
	if s1 != "" {
		n = append(n, '.')
		n = append(n, s1...)
	}
	if s2 != "" {
		n = append(n, '.')
		n = append(n, s2...)
	}
	n = append(n, tags...)
	a.name = n
	a.step()
	if a.opts.Forward != nil {
		a.out = append(a.out, n...)
		a.out = append(a.out, ' ')
		a.out = AppendNumber(a.out, v)
		a.out = append(a.out, ' ')
		a.out = strconv.AppendInt(a.out, f.ts, 10)
		a.out = append(a.out, '\n')
	}
	// carbon drops NaN values (etsy writes "NaN" for some negative
	// percentiles); so does the store.
	if !math.IsNaN(v) {
		a.opts.Store(n, f.ts, v)
	}
}

// jsRound is JavaScript's Math.round: halves round towards +Inf.
func jsRound(x float64) float64 {
	r := math.Floor(x)
	if x-r >= 0.5 {
		r++
	}
	return r
}

// pctName is etsy's name for a percent threshold: "90", "99_9", "top10".
func pctName(p float64) string {
	s := string(AppendNumber(nil, p))
	s = strings.Replace(s, ".", "_", 1)
	return strings.Replace(s, "-", "top", 1)
}

// timer writes a timer's statistics as etsy's process_metrics computes them,
// operation for operation so the floating-point results are the same bits.
func (f *flusher) timer(ns string, key []byte, tm *timerAgg, iv float64) {
	o := &f.a.opts
	if len(tm.values) == 0 {
		f.emit(ns, key, "count", "", 0)
		f.emit(ns, key, "count_ps", "", 0)
		return
	}
	values := tm.values
	slices.Sort(values)
	count := len(values)
	n := float64(count)
	lo, hi := values[0], values[count-1]
	cum := make([]float64, count)
	cumSq := make([]float64, count)
	cum[0], cumSq[0] = lo, float64(lo*lo)
	for i := 1; i < count; i++ {
		cum[i] = values[i] + cum[i-1]
		cumSq[i] = float64(values[i]*values[i]) + cumSq[i-1]
	}
	sum, sumSq, mean, boundary := lo, float64(lo*lo), lo, hi
	for _, pct := range o.PercentThreshold {
		num := count
		if count > 1 {
			num = int(jsRound(math.Abs(pct) / 100 * n))
			if num == 0 {
				continue
			}
			at := func(s []float64, i int) float64 {
				if i < 0 {
					return math.NaN() // JavaScript's undefined, in arithmetic
				}
				return s[i]
			}
			if pct > 0 {
				boundary, sum, sumSq = values[num-1], cum[num-1], cumSq[num-1]
			} else {
				boundary = values[count-num]
				sum = cum[count-1] - at(cum, count-num-1)
				sumSq = cumSq[count-1] - at(cumSq, count-num-1)
			}
			mean = sum / float64(num)
		}
		p := pctName(pct)
		f.emit(ns, key, "count_"+p, "", float64(num))
		f.emit(ns, key, "mean_"+p, "", mean)
		if pct > 0 {
			f.emit(ns, key, "upper_"+p, "", boundary)
		} else {
			f.emit(ns, key, "lower_"+p, "", boundary)
		}
		f.emit(ns, key, "sum_"+p, "", sum)
		f.emit(ns, key, "sum_squares_"+p, "", sumSq)
	}
	sum, sumSq = cum[count-1], cumSq[count-1]
	mean = sum / n
	diffs := 0.0
	for _, v := range values {
		diffs += float64((v - mean) * (v - mean))
	}
	mid := count / 2
	median := values[mid]
	if count%2 == 0 {
		median = (values[mid-1] + values[mid]) / 2
	}
	f.emit(ns, key, "std", "", math.Sqrt(diffs/n))
	f.emit(ns, key, "upper", "", hi)
	f.emit(ns, key, "lower", "", lo)
	f.emit(ns, key, "count", "", tm.count)
	f.emit(ns, key, "count_ps", "", tm.count/iv)
	f.emit(ns, key, "sum", "", sum)
	f.emit(ns, key, "sum_squares", "", sumSq)
	f.emit(ns, key, "mean", "", mean)
	f.emit(ns, key, "median", "", median)
	for _, h := range o.Histograms {
		if !bytes.Contains(key, []byte(h.Metric)) {
			continue
		}
		i := 0
		for _, bin := range h.Bins {
			freq := 0
			for ; i < count && values[i] < bin; i++ {
				freq++
			}
			f.emit(ns, key, "histogram", binName(bin), float64(freq))
		}
		break
	}
}

// binName is etsy's name for a histogram bin: "bin_10", "bin_0_5", "bin_inf".
func binName(b float64) string {
	if math.IsInf(b, 1) {
		return "bin_inf"
	}
	return "bin_" + strings.Replace(string(AppendNumber(nil, b)), ".", "_", 1)
}
