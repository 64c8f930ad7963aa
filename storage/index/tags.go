package index

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// ErrTagExpr is wrapped by the errors of TaggedSeries and the tag queries
// for an expression they refuse: the caller's fault, a 400.
var ErrTagExpr = errors.New("bad tag expression")

// maxRegexp bounds a tag expression's regular expression.
const maxRegexp = 4096

// tagIndex is an inverted index of the tagged series: for each tag, for each
// value, the ids of the series carrying it. Ids are dense and increase in the
// order series are added, so a postings list is sorted by construction.
type tagIndex struct {
	series []string            // id → normalised name "a.b;k=v;..."
	ids    map[string]uint32   // name → id
	tags   map[string]*tagInfo // tag → its values
	// Tag and value ids are numbered as graphite-web's LocalDatabaseTagDB
	// numbers its rows (the "id" fields of /tags and /tags/<tag>): each new
	// series tries to insert each of its tags and values, and every try
	// takes a number, kept or not (sqlite's AUTOINCREMENT with INSERT OR
	// IGNORE). Series arriving in normal form in the same order get the
	// same ids as there.
	tagSeq, valueSeq int
	valueIDs         map[string]int
}

type tagInfo struct {
	id     int
	values map[string][]uint32 // value → series ids, ascending
	sorted []string            // the values, sorted; nil when stale
}

func newTagIndex() tagIndex {
	return tagIndex{ids: map[string]uint32{}, tags: map[string]*tagInfo{}, valueIDs: map[string]int{}}
}

// splitTags calls f for each tag of a normalised series name, the tag
// "name" (the metric) last, as graphite-web's parser leaves them.
func splitTags(series string, f func(tag, value string)) {
	metric, rest, _ := strings.Cut(series, ";")
	for rest != "" {
		var seg string
		seg, rest, _ = strings.Cut(rest, ";")
		k, v, ok := strings.Cut(seg, "=")
		if ok && k != "" {
			f(k, v)
		}
	}
	f("name", metric)
}

// add enters a normalised tagged series; the caller holds the write lock.
func (t *tagIndex) add(series string) {
	if _, ok := t.ids[series]; ok {
		return
	}
	id := uint32(len(t.series))
	t.series = append(t.series, series)
	t.ids[series] = id
	splitTags(series, func(k, v string) {
		t.tagSeq++
		t.valueSeq++
		ti := t.tags[k]
		if ti == nil {
			ti = &tagInfo{id: t.tagSeq, values: map[string][]uint32{}}
			t.tags[k] = ti
		}
		if _, ok := t.valueIDs[v]; !ok {
			t.valueIDs[v] = t.valueSeq
		}
		p, ok := ti.values[v]
		if !ok {
			ti.sorted = nil
		}
		ti.values[v] = append(p, id)
	})
}

// tagOf returns the value of tag in a normalised series name, or "".
func tagOf(series, tag string) string {
	var out string
	splitTags(series, func(k, v string) {
		if k == tag {
			out = v
		}
	})
	return out
}

// matcher is one parsed seriesByTag expression.
type matcher struct {
	tag, op, spec string
	re            *regexp.Regexp // for =~ and !=~
	matchesEmpty  bool
}

// parseTagExpr parses "tag<op>spec", op one of =, !=, =~, !=~, as
// graphite-web's parse_tagspec does: the tag is a run of characters other
// than ';', '!' and '=', the spec holds no ';'. A regular expression is
// anchored at the start of the value (wrapped as ^(...) unless it starts
// with ^), as graphite-web anchors it; it is Go's RE2 syntax, which refuses
// Python's backreferences and lookarounds.
func parseTagExpr(expr string) (matcher, error) {
	i := strings.IndexAny(expr, "!=")
	if i <= 0 || strings.IndexByte(expr[:i], ';') >= 0 {
		return matcher{}, fmt.Errorf("%w: invalid tagspec %s", ErrTagExpr, expr)
	}
	m := matcher{tag: expr[:i]}
	rest := expr[i:]
	for _, op := range []string{"!=~", "!=", "=~", "="} {
		if strings.HasPrefix(rest, op) {
			m.op, m.spec = op, rest[len(op):]
			break
		}
	}
	if m.op == "" || strings.IndexByte(m.spec, ';') >= 0 {
		return matcher{}, fmt.Errorf("%w: invalid tagspec %s", ErrTagExpr, expr)
	}
	switch m.op {
	case "=":
		m.matchesEmpty = m.spec == ""
	case "!=":
		m.matchesEmpty = m.spec != ""
	case "=~", "!=~":
		if len(m.spec) > maxRegexp {
			return matcher{}, fmt.Errorf("%w: regular expression of %s longer than %d bytes", ErrTagExpr, m.tag, maxRegexp)
		}
		spec := m.spec
		if !strings.HasPrefix(spec, "^") {
			spec = "^(" + spec + ")"
		}
		re, err := regexp.Compile(spec)
		if err != nil {
			return matcher{}, fmt.Errorf("%w: %s: %v", ErrTagExpr, expr, err)
		}
		m.re = re
		m.matchesEmpty = re.MatchString("") == (m.op == "=~")
	}
	return m, nil
}

// matchValue reports whether a series whose tag has value v ("" when it has
// not the tag) satisfies m.
func (m *matcher) matchValue(v string) bool {
	switch m.op {
	case "=":
		return v == m.spec
	case "!=":
		return v != m.spec
	case "=~":
		return m.re.MatchString(v)
	default:
		return !m.re.MatchString(v)
	}
}

// parseTagExprs parses exprs and checks graphite-web's rule that at least
// one must not match the empty value (else every series would match).
func parseTagExprs(exprs []string) ([]matcher, error) {
	if len(exprs) == 0 {
		return nil, fmt.Errorf("%w: no tag expressions", ErrTagExpr)
	}
	ms := make([]matcher, 0, len(exprs))
	positive := false
	for _, e := range exprs {
		m, err := parseTagExpr(e)
		if err != nil {
			return nil, err
		}
		positive = positive || !m.matchesEmpty
		ms = append(ms, m)
	}
	if !positive {
		return nil, fmt.Errorf("%w: at least one tagspec must not match the empty string", ErrTagExpr)
	}
	return ms, nil
}

// TaggedSeries returns the names of the tagged series matching every
// expression (seriesByTag's arguments: name=x, k=v, k!=v, k=~re, k!=~re),
// sorted, as graphite-web's LocalDatabaseTagDB finds them. An expression
// that matches the empty value also matches series without the tag
// ("k!=v" keeps series that have no k); at least one must not. Errors wrap
// ErrTagExpr.
func (x *Index) TaggedSeries(exprs []string) ([]string, error) {
	ms, err := parseTagExprs(exprs)
	if err != nil {
		return nil, err
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	ids := x.tags.match(ms)
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = x.tags.series[id]
	}
	slices.Sort(out)
	return out, nil
}

// match returns the ids of the series matching all of ms (at least one of
// which does not match empty). The lock is held.
func (t *tagIndex) match(ms []matcher) []uint32 {
	// The positive matchers select candidates through the postings; the
	// cheapest (an exact value) goes first so the others filter a short list.
	order := make([]int, 0, len(ms))
	for i := range ms {
		if !ms[i].matchesEmpty {
			order = append(order, i)
		}
	}
	sort.SliceStable(order, func(a, b int) bool { return ms[order[a]].op == "=" && ms[order[b]].op != "=" })
	var cand []uint32
	first := true
	for _, i := range order {
		m := &ms[i]
		ti := t.tags[m.tag]
		if ti == nil {
			return nil
		}
		if !first && len(cand) < 64 {
			// Few candidates: check their values rather than union postings.
			cand = slices.DeleteFunc(cand, func(id uint32) bool {
				v := tagOf(t.series[id], m.tag)
				return v == "" || !m.matchValue(v)
			})
			continue
		}
		var ids []uint32
		if m.op == "=" {
			ids = ti.values[m.spec]
		} else {
			var lists [][]uint32
			for v, p := range ti.values {
				if m.matchValue(v) {
					lists = append(lists, p)
				}
			}
			ids = union(lists)
		}
		if first {
			cand = slices.Clone(ids)
			first = false
		} else {
			cand = intersect(cand, ids)
		}
		if len(cand) == 0 {
			return nil
		}
	}
	return slices.DeleteFunc(cand, func(id uint32) bool {
		for i := range ms {
			if ms[i].matchesEmpty && !ms[i].matchValue(tagOf(t.series[id], ms[i].tag)) {
				return true
			}
		}
		return false
	})
}

// union merges sorted id lists into one sorted list without repeats.
func union(lists [][]uint32) []uint32 {
	switch len(lists) {
	case 0:
		return nil
	case 1:
		return lists[0]
	}
	n := 0
	for _, l := range lists {
		n += len(l)
	}
	out := make([]uint32, 0, n)
	for _, l := range lists {
		out = append(out, l...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// intersect keeps the ids of a (sorted) that are also in b (sorted), in a's
// storage.
func intersect(a, b []uint32) []uint32 {
	out := a[:0]
	j := 0
	for _, id := range a {
		for j < len(b) && b[j] < id {
			j++
		}
		if j < len(b) && b[j] == id {
			out = append(out, id)
		}
	}
	return out
}

// TagInfo describes a tag for the /tags listing: its id and name. Ids are
// numbered as graphite-web's database numbers them (see tagIndex), stable
// across restarts (the log keeps the order).
type TagInfo struct {
	ID  int
	Tag string
}

// ValueInfo describes one value of a tag: its id (numbered as TagInfo's),
// the value and how many series carry it.
type ValueInfo struct {
	ID    int
	Value string
	Count int
}

// Tags lists the tags whose names match filter (a regular expression
// anchored at the start, "" for all), sorted, at most limit of them (0 for
// no limit): graphite-web's GET /tags.
func (x *Index) Tags(filter string, limit int) ([]TagInfo, error) {
	re, err := anchored(filter)
	if err != nil {
		return nil, err
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []TagInfo
	for k, ti := range x.tags.tags {
		if re == nil || re.MatchString(k) {
			out = append(out, TagInfo{ID: ti.id, Tag: k})
		}
	}
	slices.SortFunc(out, func(a, b TagInfo) int { return strings.Compare(a.Tag, b.Tag) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Tag returns the id of tag and its values whose text matches filter
// (anchored at the start, "" for all), sorted, at most limit of them (0 for
// no limit); ok is false for a tag no series has: graphite-web's
// GET /tags/<tag>.
func (x *Index) Tag(tag, filter string, limit int) (id int, values []ValueInfo, ok bool, err error) {
	re, err := anchored(filter)
	if err != nil {
		return 0, nil, false, err
	}
	x.mu.Lock() // may sort the values in place
	defer x.mu.Unlock()
	ti := x.tags.tags[tag]
	if ti == nil {
		return 0, nil, false, nil
	}
	if ti.sorted == nil {
		ti.sorted = make([]string, 0, len(ti.values))
		for v := range ti.values {
			ti.sorted = append(ti.sorted, v)
		}
		slices.Sort(ti.sorted)
	}
	for _, v := range ti.sorted {
		if re != nil && !re.MatchString(v) {
			continue
		}
		values = append(values, ValueInfo{ID: x.tags.valueIDs[v], Value: v, Count: len(ti.values[v])})
		if limit > 0 && len(values) == limit {
			break
		}
	}
	return ti.id, values, true, nil
}

// anchored compiles a filter as graphite-web's tag listing applies it: a
// regular expression matched at the start of the text.
func anchored(filter string) (*regexp.Regexp, error) {
	if filter == "" {
		return nil, nil
	}
	if len(filter) > maxRegexp {
		return nil, fmt.Errorf("%w: filter longer than %d bytes", ErrTagExpr, maxRegexp)
	}
	if !strings.HasPrefix(filter, "^") {
		filter = "^(" + filter + ")"
	}
	re, err := regexp.Compile(filter)
	if err != nil {
		return nil, fmt.Errorf("%w: filter: %v", ErrTagExpr, err)
	}
	return re, nil
}

// AutoCompleteTags returns the tags starting with prefix, sorted, at most
// limit: with no exprs every known tag, otherwise the tags of the series
// matching exprs except those the exprs name: graphite-web's
// /tags/autoComplete/tags. Errors wrap ErrTagExpr.
func (x *Index) AutoCompleteTags(exprs []string, prefix string, limit int) ([]string, error) {
	if len(exprs) == 0 {
		x.mu.RLock()
		defer x.mu.RUnlock()
		var out []string
		for k := range x.tags.tags {
			if strings.HasPrefix(k, prefix) {
				out = append(out, k)
			}
		}
		slices.Sort(out)
		if limit > 0 && len(out) > limit {
			out = out[:limit]
		}
		return out, nil
	}
	ms, err := parseTagExprs(exprs)
	if err != nil {
		return nil, err
	}
	searched := map[string]bool{}
	for _, m := range ms {
		searched[m.tag] = true
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	seen := map[string]bool{}
	var out []string
	for _, id := range x.tags.match(ms) {
		splitTags(x.tags.series[id], func(k, _ string) {
			if !searched[k] && !seen[k] && strings.HasPrefix(k, prefix) {
				seen[k] = true
				out = append(out, k)
			}
		})
	}
	return smallest(out, limit), nil
}

// AutoCompleteValues returns the values of tag starting with prefix, sorted,
// at most limit: with no exprs all of the tag's values, otherwise those of
// the series matching exprs: graphite-web's /tags/autoComplete/values.
func (x *Index) AutoCompleteValues(exprs []string, tag, prefix string, limit int) ([]string, error) {
	if len(exprs) == 0 {
		_, vals, _, err := x.Tag(tag, "", 0)
		if err != nil {
			return nil, err
		}
		var out []string
		for _, v := range vals {
			if strings.HasPrefix(v.Value, prefix) {
				out = append(out, v.Value)
			}
			if limit > 0 && len(out) == limit {
				break
			}
		}
		return out, nil
	}
	ms, err := parseTagExprs(append(slices.Clip(exprs), tag+"!="))
	if err != nil {
		return nil, err
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	seen := map[string]bool{}
	var out []string
	for _, id := range x.tags.match(ms) {
		v := tagOf(x.tags.series[id], tag)
		if v != "" && !seen[v] && strings.HasPrefix(v, prefix) {
			seen[v] = true
			out = append(out, v)
		}
	}
	return smallest(out, limit), nil
}

// smallest sorts s and keeps its first limit entries: what graphite-web's
// insertion with a bounded list leaves. A limit of 0 or less leaves none.
func smallest(s []string, limit int) []string {
	slices.Sort(s)
	if limit < 0 {
		limit = 0
	}
	if len(s) > limit {
		s = s[:limit]
	}
	return s
}
