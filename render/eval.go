package render

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"statbox/render/expr"
	"statbox/storage/whisper"
)

// Finder expands graphite globs and tag queries into metric names; the
// metric index implements it.
type Finder interface {
	// Expand returns the sorted leaf metric names matching a graphite glob.
	Expand(pattern string) []string
	// TaggedSeries returns the series names matching seriesByTag expressions
	// (name=x, k!=v, k=~re, k!=~re) as graphite-web's tagdb does.
	TaggedSeries(exprs []string) ([]string, error)
}

// EventSource gives the times of events for events().
type EventSource interface {
	// EventTimes returns the unix seconds of events between from and until
	// carrying all of tags (any event when tags is empty).
	EventTimes(from, until int64, tags []string) ([]int64, error)
}

// inputError is a fault of the request: the handler answers 400 with it.
type inputError struct{ msg string }

func (e *inputError) Error() string { return e.msg }

func inputErrorf(format string, a ...any) error {
	return &inputError{fmt.Sprintf(format, a...)}
}

// limitError is a request past one of the handler's bounds.
type limitError struct{ msg string }

func (e *limitError) Error() string { return e.msg }

// evalCtx is graphite-web's requestContext: the time range and what reads data.
type evalCtx struct {
	from, until, now int64
	xff              float64
	opts             *Options
	points           *int64 // points fetched so far in the request, shared by derived contexts
	series           *int
	stacks           map[string][]float64 // stacked()'s running totals by stack name
	bufMu            *sync.Mutex
	bufs             *[][]float64 // fetched values, returned to valuePool after the response
}

// valuePool keeps fetched values' buffers between requests: a large request
// would otherwise take tens of megabytes of fresh memory each time.
var valuePool sync.Pool

// release hands the request's buffers back; no series may be read after.
func (c *evalCtx) release() {
	for _, b := range *c.bufs {
		b := b[:0]
		valuePool.Put(&b)
	}
	*c.bufs = nil
}

// withRange is the context for re-evaluating an argument over another range,
// as timeShift and movingAverage do.
func (c *evalCtx) withRange(from, until int64) *evalCtx {
	d := *c
	d.from, d.until = from, until
	return &d
}

// fetch reads every metric a path expression names.
func (c *evalCtx) fetch(pattern string) ([]*Series, error) {
	var names []string
	if c.opts.Finder == nil || !strings.ContainsAny(pattern, "*?[{") {
		names = []string{pattern}
	} else {
		names = c.opts.Finder.Expand(pattern)
	}
	return c.fetchNames(pattern, names)
}

func (c *evalCtx) fetchNames(pattern string, names []string) ([]*Series, error) {
	names = slices.Compact(names)
	if c.opts.MaxSeries > 0 && *c.series+len(names) > c.opts.MaxSeries {
		return nil, &limitError{fmt.Sprintf("request reads more than %d series (bound MaxSeries)", c.opts.MaxSeries)}
	}
	type fetched struct {
		rg   whisper.Range
		vals []float64
		err  error
	}
	res := make([]fetched, len(names))
	size := 0 // the first file's length sizes the others' buffers, saving regrowth
	fetchOne := func(i int) {
		r := &res[i]
		var dst []float64
		if size > 0 {
			if b, ok := valuePool.Get().(*[]float64); ok && cap(*b) >= size {
				dst = (*b)[:0]
			} else {
				dst = make([]float64, 0, size)
			}
		}
		r.rg, r.vals, r.err = c.opts.Fetcher.Fetch(dst, names[i], c.from, c.until, c.now)
		for k, v := range r.vals {
			if whisper.IsMissing(v) {
				r.vals[k] = null
			}
		}
	}
	// Many files are read on all cores: reading a day of 10-second points
	// costs as much as everything else a sumSeries does.
	if workers := min(runtime.GOMAXPROCS(0), len(names)/64); workers > 1 {
		fetchOne(0)
		size = len(res[0].vals)
		var next atomic.Int64
		next.Store(1)
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for i := int(next.Add(1) - 1); i < len(names); i = int(next.Add(1) - 1) {
					fetchOne(i)
				}
			})
		}
		wg.Wait()
	} else {
		for i := range names {
			fetchOne(i)
		}
	}
	c.bufMu.Lock()
	for _, r := range res {
		if cap(r.vals) > 0 {
			*c.bufs = append(*c.bufs, r.vals)
		}
	}
	c.bufMu.Unlock()
	out := make([]*Series, 0, len(names))
	for i, name := range names {
		r := res[i]
		if r.err != nil {
			if errors.Is(r.err, whisper.ErrNoData) || errors.Is(r.err, fs.ErrNotExist) {
				continue
			}
			return nil, fmt.Errorf("fetch %s: %w", name, r.err)
		}
		*c.series++
		*c.points += int64(len(r.vals))
		if c.opts.MaxPoints > 0 && *c.points > c.opts.MaxPoints {
			return nil, &limitError{fmt.Sprintf("request reads more than %d points (bound MaxPoints)", c.opts.MaxPoints)}
		}
		out = append(out, &Series{
			Name: name, PathExpression: pattern,
			Start: r.rg.From, End: r.rg.Until, Step: r.rg.Step, Values: r.vals,
			ConsolidationFunc: "average", ValuesPerPoint: 1, XFilesFactor: c.xff,
		})
	}
	return out, nil
}

// value is an evaluated argument.
type value struct {
	kind   expr.Kind // Path and Call mean a series list
	series []*Series
	num    float64
	isInt  bool
	str    string
	b      bool
	raw    *expr.Expr
}

// eval evaluates a target or argument.
func (c *evalCtx) eval(e *expr.Expr) (value, error) {
	switch e.Kind {
	case expr.Path:
		s, err := c.fetch(e.Str)
		return value{kind: expr.Path, series: s, raw: e}, err
	case expr.Call:
		if e.Str == "seriesByTag" {
			return c.seriesByTag(e)
		}
		f, ok := functions[e.Str]
		if !ok {
			return value{}, inputErrorf("Received request for unknown function: %s", e.Str)
		}
		a, err := c.bind(f, e)
		if err != nil {
			return value{}, err
		}
		s, err := f.fn(a)
		if err != nil {
			return value{}, err
		}
		return value{kind: expr.Call, series: s, raw: e}, nil
	case expr.String:
		return value{kind: expr.String, str: e.Str, raw: e}, nil
	case expr.Number:
		return value{kind: expr.Number, num: e.Num, isInt: e.IsInt, raw: e}, nil
	case expr.Bool:
		return value{kind: expr.Bool, b: e.Bool, raw: e}, nil
	}
	return value{kind: expr.None, raw: e}, nil
}

// args are a call's evaluated arguments, bound to its parameters by position
// or keyword.
type args struct {
	ctx  *evalCtx
	call *expr.Expr
	f    *function
	vals []value // by parameter index; kind None with raw nil when not given
	set  []bool
	rest []value // arguments past the last parameter, for a multiple one
}

func (c *evalCtx) bind(f *function, e *expr.Expr) (*args, error) {
	a := &args{ctx: c, call: e, f: f, vals: make([]value, len(f.params)), set: make([]bool, len(f.params))}
	for i, arg := range e.Args {
		v, err := c.eval(arg)
		if err != nil {
			return nil, err
		}
		switch {
		case i < len(f.params) && !f.params[i].multiple:
			a.vals[i], a.set[i] = v, true
		case len(f.params) > 0 && f.params[len(f.params)-1].multiple:
			if i < len(f.params) {
				a.vals[i], a.set[i] = v, true
			} else {
				a.rest = append(a.rest, v)
			}
		default:
			return nil, inputErrorf("%s: too many arguments (takes %d)", e.Str, len(f.params))
		}
	}
	for _, kw := range e.Kwargs {
		i := -1
		for j, p := range f.params {
			if p.name == kw.Name {
				i = j
			}
		}
		if i < 0 {
			return nil, inputErrorf("%s: unexpected keyword argument %q", e.Str, kw.Name)
		}
		if a.set[i] {
			return nil, inputErrorf("%s: argument %q given twice", e.Str, kw.Name)
		}
		v, err := c.eval(kw.Value)
		if err != nil {
			return nil, err
		}
		a.vals[i], a.set[i] = v, true
	}
	for i, p := range f.params {
		if p.required && !a.set[i] {
			return nil, inputErrorf("%s: missing required argument %q", e.Str, p.name)
		}
	}
	return a, nil
}

func (a *args) given(i int) bool { return a.set[i] && a.vals[i].kind != expr.None }

// seriesList is the series list argument i.
func (a *args) seriesList(i int) ([]*Series, error) {
	if !a.set[i] {
		return nil, nil
	}
	v := a.vals[i]
	if v.kind != expr.Path && v.kind != expr.Call {
		return nil, inputErrorf("%s: argument %q must be a series list", a.call.Str, a.f.params[i].name)
	}
	return v.series, nil
}

// seriesLists joins the series list arguments from i on.
func (a *args) seriesLists(i int) ([]*Series, error) {
	var out []*Series
	for j := i; j < len(a.vals); j++ {
		s, err := a.seriesList(j)
		if err != nil {
			return nil, err
		}
		out = append(out, s...)
	}
	for _, v := range a.rest {
		if v.kind != expr.Path && v.kind != expr.Call {
			return nil, inputErrorf("%s: every argument must be a series list", a.call.Str)
		}
		out = append(out, v.series...)
	}
	return out, nil
}

// multiple returns argument i and those past the parameters.
func (a *args) multiple(i int) []value {
	var out []value
	if a.set[i] {
		out = append(out, a.vals[i])
	}
	return append(out, a.rest...)
}

func (a *args) num(i int, def float64) (float64, error) {
	if !a.given(i) {
		return def, nil
	}
	v := a.vals[i]
	if v.kind != expr.Number {
		return 0, inputErrorf("%s: argument %q must be a number", a.call.Str, a.f.params[i].name)
	}
	return v.num, nil
}

func (a *args) integer(i int, def int) (int, error) {
	if !a.given(i) {
		return def, nil
	}
	v := a.vals[i]
	if v.kind != expr.Number || v.num != math.Trunc(v.num) || math.Abs(v.num) > 1e12 {
		return 0, inputErrorf("%s: argument %q must be an integer", a.call.Str, a.f.params[i].name)
	}
	return int(v.num), nil
}

func (a *args) str(i int, def string) (string, error) {
	if !a.given(i) {
		return def, nil
	}
	v := a.vals[i]
	if v.kind != expr.String {
		return "", inputErrorf("%s: argument %q must be a string", a.call.Str, a.f.params[i].name)
	}
	return v.str, nil
}

func (a *args) boolean(i int, def bool) (bool, error) {
	if !a.given(i) {
		return def, nil
	}
	v := a.vals[i]
	switch v.kind {
	case expr.Bool:
		return v.b, nil
	case expr.Number:
		return v.num != 0, nil
	}
	return false, inputErrorf("%s: argument %q must be a boolean", a.call.Str, a.f.params[i].name)
}

// interval reads a time interval string ("1h", "-5min") as seconds.
func (a *args) interval(i int, def string) (int64, string, error) {
	s, err := a.str(i, def)
	if err != nil {
		return 0, "", err
	}
	d, err := parseOffset(strings.ToLower(strings.TrimSpace(s)))
	if err != nil {
		return 0, "", inputErrorf("%s: argument %q: %v", a.call.Str, a.f.params[i].name, err)
	}
	return int64(d.Seconds()), s, nil
}

// rawText is the text of argument i as graphite-web re-renders it.
func (a *args) rawText(i int) string {
	v := a.vals[i]
	switch v.kind {
	case expr.Number:
		if v.isInt {
			return strconv.FormatInt(int64(v.num), 10)
		}
		return string(appendPyRepr(nil, v.num))
	case expr.String:
		return v.str
	}
	if v.raw != nil {
		return v.raw.Raw
	}
	return ""
}
