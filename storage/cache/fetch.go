package cache

import (
	"cmp"
	"errors"
	"io/fs"
	"math"
	"slices"

	"statbox/storage/whisper"
)

// Fetch reads name between from and until as whisper's fetch does, with the
// points still in the cache laid over the file's, as graphite-web merges
// carbon's cache: by interval, the newest timestamp winning, and aggregated
// with the file's method when the fetch reads a coarser archive. A metric
// whose file is not yet created is read from the cache alone, at the step of
// the first archive its schema gives it. dst is reused.
func (c *Cache) Fetch(dst []float64, name string, from, until, now int64) (whisper.Range, []float64, error) {
	cached := c.Points(nil, name)
	f, release, err := c.opts.Pool.Acquire(c.Path(name))
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) || len(cached) == 0 {
			return whisper.Range{}, dst, err
		}
		archives, opts := c.opts.Rules().ForMetric(name)
		h, herr := whisper.NewHeader(archives, opts)
		if herr != nil {
			return whisper.Range{}, dst, herr
		}
		r, vals, ok := emptyFetch(dst, &h, from, until, now)
		if !ok {
			return r, vals, whisper.ErrNoData
		}
		overlay(vals, r, cached, h.AggregationMethod, true)
		return r, vals, nil
	}
	defer release()
	r, vals, err := f.Fetch(dst, from, until, now)
	if err != nil || len(cached) == 0 {
		return r, vals, err
	}
	raw := r.Step == int64(f.Header.Archives[0].SecondsPerPoint)
	overlay(vals[len(vals)-int((r.Until-r.From)/r.Step):], r, cached, f.Header.AggregationMethod, raw)
	return r, vals, nil
}

// emptyFetch is whisper's fetch of a file with header h that holds nothing.
func emptyFetch(dst []float64, h *whisper.Header, from, until, now int64) (whisper.Range, []float64, bool) {
	oldest := now - int64(h.MaxRetention)
	if from > until || from > now || until < oldest {
		return whisper.Range{}, dst, false
	}
	from, until = max(from, oldest), min(until, now)
	a := h.Archives[len(h.Archives)-1]
	for _, x := range h.Archives {
		if x.Retention() >= now-from {
			a = x
			break
		}
	}
	step := int64(a.SecondsPerPoint)
	r := whisper.Range{From: from - mod(from, step) + step, Until: until - mod(until, step) + step, Step: step}
	if r.From == r.Until {
		r.Until += step
	}
	for i := r.From; i < r.Until; i += step {
		dst = append(dst, math.NaN())
	}
	return r, dst, true
}

func mod(a, m int64) int64 {
	r := a % m
	if r < 0 {
		r += m
	}
	return r
}

// overlay writes cached points into vals, the values of r. raw says r is at
// the points' own precision; otherwise the points of each interval are first
// aggregated with method.
func overlay(vals []float64, r whisper.Range, cached []whisper.Point, method whisper.AggregationMethod, raw bool) {
	// Oldest timestamp first, equal ones in arrival order: the last written wins.
	slices.SortStableFunc(cached, func(a, b whisper.Point) int { return cmp.Compare(a.Timestamp, b.Timestamp) })
	if raw {
		for _, p := range cached {
			iv := p.Timestamp - mod(p.Timestamp, r.Step)
			if i := (iv - r.From) / r.Step; iv >= r.From && i < int64(len(vals)) {
				vals[i] = p.Value
			}
		}
		return
	}
	var group []float64
	for start := 0; start < len(cached); {
		iv := cached[start].Timestamp - mod(cached[start].Timestamp, r.Step)
		end := start
		group = group[:0]
		for end < len(cached) && cached[end].Timestamp-mod(cached[end].Timestamp, r.Step) == iv {
			group = append(group, cached[end].Value)
			end++
		}
		start = end
		if i := (iv - r.From) / r.Step; iv >= r.From && i < int64(len(vals)) {
			if v, ok := whisper.Aggregate(method, group); ok {
				vals[i] = v
			}
		}
	}
}
