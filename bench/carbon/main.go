// Command carbon is the load generator of bench/carbon.sh: it pre-creates the
// whisper files of a carbon plaintext benchmark, pushes the points over TCP
// from pre-built buffers, and reads the server's own metrics to tell how fast
// they were accepted and persisted.
//
//	carbon create -root DATA/whisper -conf CONFDIR [-metrics 100000]
//	carbon send -addr 127.0.0.1:2003 -self SELFDIR [-points N] [-conns 4] [-warmup 0] ...
//	carbon send -addr 127.0.0.1:2003 -render http://127.0.0.1:8080 -prefix statbox.HOST ...
//
// send works against carbon-cache (SELFDIR = STORAGE/whisper/carbon/agents/<host>-a)
// and statbox (SELFDIR = DATA/whisper/statbox/<host>, or its /render, which
// includes the points still in its cache) alike: both report metricsReceived,
// committedPoints, updateOperations and cache.size every
// CARBON_METRIC_INTERVAL (--self-interval), which must be 1s and stored at
// 1s precision. Its last line, "RESULT key=value ...", is for the script.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"statbox/storage/layout"
	"statbox/storage/schema"
	"statbox/storage/whisper"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: carbon create|send [flags] (carbon CMD -h for the flags)")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "create":
		err = runCreate(os.Args[2:])
	case "send":
		err = runSend(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q: want create or send", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "carbon:", err)
		os.Exit(1)
	}
}

// metricName appends the name of metric i: a thousand metrics per host, as
// bench.host042.metric123.
func metricName(dst []byte, i int) []byte {
	dst = append(dst, "bench.host"...)
	dst = appendPadded(dst, i/1000, 3)
	dst = append(dst, ".metric"...)
	return appendPadded(dst, i%1000, 3)
}

func appendPadded(dst []byte, v, width int) []byte {
	s := strconv.Itoa(v)
	for n := len(s); n < width; n++ {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}

// runCreate makes the whisper file of every benchmark metric, as the
// server's own create would (schema and aggregation rules of -conf), but
// sparse: 100,000 files of the default schema would otherwise take 330 GB.
func runCreate(args []string) error {
	fs := flag.NewFlagSet("carbon create", flag.ContinueOnError)
	root := fs.String("root", "", "`DIR` of the whisper tree (DATA/whisper for statbox, LOCAL_DATA_DIR for carbon)")
	conf := fs.String("conf", "", "`DIR` holding storage-schemas.conf and storage-aggregation.conf")
	metrics := fs.Int("metrics", 100_000, "distinct metrics")
	workers := fs.Int("workers", 8, "files created in parallel")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *root == "" || *conf == "" {
		return fmt.Errorf("create needs -root and -conf")
	}
	rules, err := schema.Load(*conf)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := createTree(*root, rules, *metrics, *workers); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "created %d sparse whisper files under %s in %.1fs\n", *metrics, *root, time.Since(start).Seconds())
	return nil
}

// createTree creates the sparse files of metrics 0 to metrics-1 under root,
// workers at a time.
func createTree(root string, rules *schema.Rules, metrics, workers int) error {
	for h := 0; h*1000 < metrics; h++ {
		path := filepath.Join(root, string(layout.AppendPath(nil, metricName(nil, h*1000))))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
	}
	var next atomic.Int64
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var name, path []byte
			for {
				i := int(next.Add(1) - 1)
				if i >= metrics {
					return
				}
				name = metricName(name[:0], i)
				path = layout.AppendPath(append(append(path[:0], root...), '/'), name)
				archives, opts := rules.ForMetric(string(name))
				opts.Sparse = true
				if err := whisper.Create(string(path), append([]whisper.Retention(nil), archives...), opts); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// sendConfig is what runSend was asked to do.
type sendConfig struct {
	addr, server       string
	self               selfSource
	metrics, conns     int
	rounds, warmup     int // points per metric, timed and before
	sendLimit, waitMax time.Duration
}

func runSend(args []string) error {
	fs := flag.NewFlagSet("carbon send", flag.ContinueOnError)
	var c sendConfig
	fs.StringVar(&c.addr, "addr", "127.0.0.1:2003", "carbon plaintext `ADDR` (TCP)")
	self := fs.String("self", "", "`DIR` of the server's self-metric files (metricsReceived.wsp, committedPoints.wsp, ...)")
	render := fs.String("render", "", "statbox's HTTP `URL` (http://127.0.0.1:8080), to read its self-metrics through /render, cached points included, rather than from -self")
	prefix := fs.String("prefix", "", "with -render, the self-metrics' `PREFIX` (statbox.<host>)")
	fs.StringVar(&c.server, "server", "server", "name of the server, for the report")
	fs.IntVar(&c.metrics, "metrics", 100_000, "distinct metrics")
	points := fs.Int("points", 10_000_000, "points to send in all, rounded down to whole rounds of one point per metric")
	fs.IntVar(&c.warmup, "warmup", 0, "rounds of one point per metric to send, and wait to be persisted, before the timed run: every file is then open")
	fs.IntVar(&c.conns, "conns", 4, "TCP connections; each carries a fixed share of the metrics")
	fs.DurationVar(&c.sendLimit, "send-limit", 60*time.Second, "time limit for sending and for the server to read it all")
	fs.DurationVar(&c.waitMax, "wait", 120*time.Second, "time limit, after sending, for the server to persist it all")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *render != "" && *prefix != "":
		c.self = &renderSource{base: strings.TrimRight(*render, "/"), prefix: *prefix}
	case *self != "" && *render == "":
		c.self = fileSource(*self)
	default:
		return fmt.Errorf("send needs -self DIR, or -render URL and -prefix PREFIX")
	}
	c.rounds = *points / c.metrics
	// Every point must land in the first archive (10s:6h, 2160 points) when
	// written, a while after it was sent.
	if c.rounds < 1 || c.warmup < 0 || c.rounds+c.warmup > 2000 {
		return fmt.Errorf("-points %d and -warmup %d give %d points per metric: want 1 to 2000", *points, c.warmup, c.rounds+c.warmup)
	}
	if c.conns < 1 || c.conns > c.metrics {
		return fmt.Errorf("-conns %d: want 1 to -metrics", c.conns)
	}
	now := time.Now().Unix()
	last := now - now%10 - 10
	first := last - 10*int64(c.rounds-1)
	if c.warmup > 0 {
		wfirst := first - 10*int64(c.warmup)
		res, err := send(c, "warm-up: ", wfirst, c.warmup)
		if err != nil {
			return err
		}
		res.persist(c)
		if res.method == "timeout" {
			return fmt.Errorf("%s: the warm-up was not persisted within %v", c.server, c.waitMax)
		}
		fmt.Fprintf(os.Stderr, "%s: warm-up of %d points persisted after %.2fs\n", c.server, res.points, res.persisted.Sub(res.start).Seconds())
		// Its last report, stamped with a whole second, is then behind the
		// timed run's first.
		time.Sleep(2 * time.Second)
	}
	res, err := send(c, "", first, c.rounds)
	if err != nil {
		return err
	}
	res.persist(c)
	res.print(c)
	return nil
}

// conn is one connection's share of the load: lines for metrics first,
// first+conns, ... in one buffer, rewritten in place for each round.
type conn struct {
	buf    []byte
	fields []int32 // offset of each line's value; its timestamp follows 7 bytes on
	first  int     // the first metric; the others follow every step
	step   int
	sent   int // points whose line was written in full
}

// Each line is "name VVV.VV TTTTTTTTTT\n": fixed-width fields, so that a
// round rewrites them without moving anything.
const (
	valueWidth = 6
	tsWidth    = 10
)

func newConn(first, conns, metrics int) *conn {
	c := &conn{first: first, step: conns}
	for i := first; i < metrics; i += conns {
		c.buf = metricName(c.buf, i)
		c.buf = append(c.buf, ' ')
		c.fields = append(c.fields, int32(len(c.buf)))
		c.buf = append(c.buf, "000.00 0000000000\n"...)
	}
	return c
}

// round rewrites the buffer for round r: every metric's value and the
// timestamp ts.
func (c *conn) round(r int, ts int64) {
	var t [tsWidth]byte
	strconv.AppendInt(t[:0], ts, 10)
	for k, off := range c.fields {
		// The value varies by metric and round: nothing depends on it.
		v := ((c.first+k*c.step)*7 + r*13) % 100000
		b := c.buf[off : off+valueWidth+1+tsWidth]
		b[5], v = byte('0'+v%10), v/10
		b[4], v = byte('0'+v%10), v/10
		b[2], v = byte('0'+v%10), v/10
		b[1], v = byte('0'+v%10), v/10
		b[0] = byte('0' + v%10)
		copy(b[valueWidth+1:], t[:])
	}
}

// result is what a run measured; times are wall clock.
type result struct {
	points, bytes int
	start         time.Time // first write
	sent          time.Time // last write returned
	read          time.Time // last connection saw the server close after EOF: it read everything
	timedOut      bool

	received, committed, updates float64 // sums of the self-metrics over the run
	persisted                    time.Time
	method                       string    // how persisted was found
	lastReport                   time.Time // the middle of the interval the last report counts
}

// send pushes rounds rounds, timestamped from first on, over c.conns
// connections; what prefixes its log line. A connection closes
// its sending side when done and reads until the server closes it: the
// server has then read every byte (carbon and statbox close a connection at
// EOF, after the data before it).
func send(c sendConfig, what string, first int64, rounds int) (*result, error) {
	conns := make([]*conn, c.conns)
	socks := make([]*net.TCPConn, c.conns)
	for i := range conns {
		conns[i] = newConn(i, c.conns, c.metrics)
		s, err := net.Dial("tcp", c.addr)
		if err != nil {
			return nil, err
		}
		socks[i] = s.(*net.TCPConn)
	}
	fmt.Fprintf(os.Stderr, "%s: %ssending %d points (%d metrics x %d points, timestamps %d..%d at 10s) over %d connections to %s\n",
		c.server, what, rounds*c.metrics, c.metrics, rounds, first, first+10*int64(rounds-1), c.conns, c.addr)

	res := &result{start: time.Now()}
	deadline := res.start.Add(c.sendLimit)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for i := range conns {
		wg.Add(1)
		go func(cn *conn, s *net.TCPConn) {
			defer wg.Done()
			s.SetDeadline(deadline)
			err := func() error {
				for r := 0; r < rounds; r++ {
					cn.round(r, first+10*int64(r))
					n, err := s.Write(cn.buf)
					if err != nil {
						cn.sent += countLines(cn.buf[:n])
						return err
					}
					cn.sent += len(cn.fields)
				}
				mu.Lock()
				res.sent = time.Now()
				mu.Unlock()
				if err := s.CloseWrite(); err != nil {
					return err
				}
				_, err := io.Copy(io.Discard, s)
				return err
			}()
			s.Close()
			mu.Lock()
			defer mu.Unlock()
			res.read = time.Now()
			if err != nil && firstErr == nil {
				firstErr = err
			}
		}(conns[i], socks[i])
	}
	wg.Wait()
	for _, cn := range conns {
		res.points += cn.sent
		res.bytes += cn.sent / max(1, len(cn.fields)) * len(cn.buf)
	}
	if firstErr != nil {
		if !os.IsTimeout(firstErr) {
			return nil, firstErr
		}
		res.timedOut = true
		fmt.Fprintf(os.Stderr, "%s: send time limit of %v reached: %d points sent\n", c.server, c.sendLimit, res.points)
	}
	return res, nil
}

func countLines(b []byte) int {
	n := 0
	for _, c := range b {
		if c == '\n' {
			n++
		}
	}
	return n
}

// report is one self-metric report: its time (a whole second, when the
// server stamped it) and the values written at it.
type report struct {
	at                                  int64
	received, committed, updates, cache float64
}

// selfSource reads a server's self-metric reports.
type selfSource interface {
	// read returns the reports stamped from second from on; one not (yet)
	// written is left out.
	read(from int64) ([]report, error)
}

// selfNames are the self-metrics read, as named under the prefix of
// statbox's and carbon's alike.
var selfNames = [...]string{"metricsReceived", "committedPoints", "updateOperations", "cache.size"}

// columns turns one series per selfNames entry, sharing one range, into reports.
func columns(from, step int64, cols [len(selfNames)][]float64) []report {
	var out []report
	for i, v := range cols[0] {
		if math.IsNaN(v) || math.IsNaN(cols[1][i]) {
			continue
		}
		r := report{at: from + int64(i)*step, received: v, committed: cols[1][i], cache: math.Inf(1)}
		if u := cols[2][i]; !math.IsNaN(u) {
			r.updates = u
		}
		if s := cols[3][i]; !math.IsNaN(s) {
			r.cache = s
		}
		out = append(out, r)
	}
	return out
}

// fileSource is the directory of the self-metrics' whisper files: what the
// server has written, not what it holds in its cache.
type fileSource string

func (dir fileSource) read(from int64) ([]report, error) {
	now := time.Now().Unix() + 1
	var cols [len(selfNames)][]float64
	var rng whisper.Range
	for i, name := range selfNames {
		path := filepath.Join(string(dir), strings.ReplaceAll(name, ".", "/")+".wsp")
		f, err := whisper.Open(path, whisper.Options{ReadOnly: true})
		if err != nil {
			return nil, err
		}
		if spp := f.Header.Archives[0].SecondsPerPoint; spp != 1 {
			f.Close()
			return nil, fmt.Errorf("%s: first archive has %ds precision; the benchmark's schema gives self-metrics 1s", path, spp)
		}
		r, v, err := f.FetchArchive(nil, 0, from-1, now, now)
		f.Close()
		if err != nil {
			return nil, err
		}
		if i > 0 && r != rng {
			return nil, fmt.Errorf("%s: range %v, %s's %v", path, r, selfNames[0], rng)
		}
		rng, cols[i] = r, v
	}
	return columns(rng.From, rng.Step, cols), nil
}

// renderSource is statbox's /render: what it wrote and what its cache holds.
type renderSource struct {
	base, prefix string
}

// renderSeries is one series of /render's JSON: [value, timestamp] pairs,
// null for no value.
type renderSeries struct {
	Target     string
	Datapoints [][2]*float64
}

func (s *renderSource) read(from int64) ([]report, error) {
	q := url.Values{"format": {"json"}, "from": {strconv.FormatInt(from-1, 10)}, "until": {strconv.FormatInt(time.Now().Unix()+1, 10)}}
	for _, name := range selfNames {
		q.Add("target", s.prefix+"."+name)
	}
	resp, err := http.Get(s.base + "/render?" + q.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("render: %s: %s", resp.Status, b)
	}
	var series []renderSeries
	if err := json.NewDecoder(resp.Body).Decode(&series); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	var cols [len(selfNames)][]float64
	var first int64
	for i, name := range selfNames {
		k := slices.IndexFunc(series, func(x renderSeries) bool { return x.Target == s.prefix+"."+name })
		if k < 0 || len(series[k].Datapoints) == 0 {
			return nil, fmt.Errorf("render: no series %s.%s", s.prefix, name)
		}
		dp := series[k].Datapoints
		if i > 0 && (len(dp) != len(cols[0]) || *dp[0][1] != float64(first)) {
			return nil, fmt.Errorf("render: %s.%s is not aligned with %s", s.prefix, name, selfNames[0])
		}
		first = int64(*dp[0][1])
		for _, p := range dp {
			v := math.NaN()
			if p[0] != nil {
				v = *p[0]
			}
			cols[i] = append(cols[i], v)
		}
	}
	return columns(first, 1, cols), nil
}

// drained is the cache size below which the server counts as caught up: its
// own metrics, a few dozen a report, may sit there.
const drained = 1000

// persist waits until the server's self-metrics say every point was written,
// then finds when that happened.
//
// A report stamped t (whisper keeps whole seconds) was taken some time in
// [t, t+1) and counts what happened since the one before: the points were
// committed, at an even pace, between t-1+0.5 and t+0.5 on average. The
// finish time is thus good to about half a second.
func (res *result) persist(c sendConfig) {
	from := res.start.Unix()
	giveUp := time.Now().Add(c.waitMax)
	for {
		reps, err := c.self.read(from)
		if err == nil && res.analyse(reps, from) {
			res.settle(c, from)
			return
		}
		if time.Now().After(giveUp) {
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s: self-metrics: %v\n", c.server, err)
			}
			fmt.Fprintf(os.Stderr, "%s: not all persisted within %v: the rate is what was committed by the last report\n", c.server, c.waitMax)
			res.method = "timeout"
			res.persisted = res.lastReport
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// settle reads the reports again for a few seconds, until they count every
// point received: carbon-cache writes its own metrics one file at a time, as
// any metric, so some files may still lack the last reports when another
// already says the cache is empty.
func (res *result) settle(c sendConfig, from int64) {
	for end := time.Now().Add(5 * time.Second); res.received < float64(res.points) && time.Now().Before(end); {
		time.Sleep(250 * time.Millisecond)
		if reps, err := c.self.read(from); err == nil {
			res.analyse(reps, from)
		}
	}
}

// analyse sums the reports since the start and reports whether the run is
// complete: every point committed, or the cache drained after the last was read.
func (res *result) analyse(reps []report, from int64) bool {
	res.received, res.committed, res.updates = 0, 0, 0
	readAt := float64(res.read.UnixNano()) / 1e9
	total := float64(res.points)
	prev := float64(from) - 1
	done := false
	for _, r := range reps {
		res.received += r.received
		if r.at < from {
			prev = float64(r.at)
			continue
		}
		before := res.committed
		res.committed += r.committed
		res.updates += r.updates
		at := float64(r.at)
		if !done && res.committed >= total && r.committed > 0 {
			frac := (total - before) / r.committed
			res.setPersisted(prev+0.5+frac*(at-prev), readAt, "committedPoints")
			done = true
		}
		if !done && at >= readAt && r.cache < drained {
			// Counts were lost (two reports in one second keep only one):
			// the drained cache still tells when it was all written. The
			// report was taken at or after at, so after the last point was
			// read; the points were written between the report before and it.
			res.setPersisted(at, readAt, "cache.size")
			done = true
		}
		prev = at
	}
	if len(reps) > 0 {
		res.lastReport = time.Unix(0, int64((float64(reps[len(reps)-1].at)-0.5)*1e9))
	}
	return done
}

func (res *result) setPersisted(at, readAt float64, method string) {
	// Nothing is written before it was read.
	at = math.Max(at, readAt)
	res.persisted = time.Unix(0, int64(at*1e9))
	res.method = method
}

func (res *result) print(c sendConfig) {
	secs := func(t time.Time) float64 { return t.Sub(res.start).Seconds() }
	rate := func(t time.Time) float64 {
		if t.IsZero() || !t.After(res.start) {
			return 0
		}
		return float64(res.points) / secs(t)
	}
	accepted := rate(res.read)
	persisted := rate(res.persisted)
	if res.method == "timeout" && res.persisted.After(res.start) {
		persisted = res.committed / secs(res.persisted)
	}
	if res.timedOut {
		accepted = 0
	}
	ppu := 0.0
	if res.updates > 0 {
		ppu = res.committed / res.updates
	}
	fmt.Fprintf(os.Stderr, "%s: sent %d points (%.0f MB) in %.2fs (%.0f points/s from the sender); read by the server after %.2fs: %.0f points/s accepted\n",
		c.server, res.points, float64(res.bytes)/1e6, secs(res.sent), rate(res.sent), secs(res.read), accepted)
	fmt.Fprintf(os.Stderr, "%s: self-metrics: %.0f received, %.0f committed (its own metrics included) in %.0f updates (%.1f points/update)\n",
		c.server, res.received, res.committed, res.updates, ppu)
	if res.method == "timeout" {
		fmt.Fprintf(os.Stderr, "%s: NOT all persisted: %.0f points committed in %.2fs: %.0f points/s persisted\n", c.server, res.committed, secs(res.persisted), persisted)
	} else {
		fmt.Fprintf(os.Stderr, "%s: all persisted after %.2fs (found by %s): %.0f points/s persisted\n", c.server, secs(res.persisted), res.method, persisted)
	}
	if res.received < float64(res.points) {
		fmt.Fprintf(os.Stderr, "%s: WARNING: the server counted %.0f points received of %d sent (a lost report, or lost points)\n", c.server, res.received, res.points)
	}
	fmt.Printf("RESULT server=%s warmup=%d points=%d metrics=%d per_metric=%d conns=%d bytes=%d send_s=%.3f accept_s=%.3f accepted_per_s=%.0f persist_s=%.3f persisted_per_s=%.0f received=%.0f committed=%.0f points_per_update=%.1f method=%s\n",
		c.server, c.warmup, res.points, c.metrics, c.rounds, c.conns, res.bytes, secs(res.sent), secs(res.read), accepted,
		secs(res.persisted), persisted, res.received, res.committed, ppu, res.method)
}
