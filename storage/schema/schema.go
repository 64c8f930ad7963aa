// Package schema reads carbon's storage-schemas.conf and storage-aggregation.conf and
// picks a new whisper file's archives, xFilesFactor and aggregation method as carbon 1.1 does.
package schema

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"

	"statbox/storage/whisper"
)

// The file names carbon looks for in its CONF_DIR.
const (
	SchemasFile     = "storage-schemas.conf"
	AggregationFile = "storage-aggregation.conf"
)

// The built-in rules, in carbon's format so that they read like a conf dir's.
var (
	//go:embed defaults/storage-schemas.conf
	defaultSchemas string
	//go:embed defaults/storage-aggregation.conf
	defaultAggregation string
)

// Schema is a section of storage-schemas.conf: the archives of a new file whose
// name Pattern finds.
type Schema struct {
	Name string
	// Pattern is searched for anywhere in the name, as Python's re.search does:
	// anchor it with ^ and $ where that matters. A nil Pattern matches every name.
	Pattern *regexp.Regexp
	// Archives are sorted by precision and have passed whisper.ValidateArchiveList.
	Archives []whisper.Retention
}

// Aggregation is a section of storage-aggregation.conf: how a new file whose
// name Pattern finds rolls its points up into lower-precision archives. A key
// the section leaves out keeps whisper's default, as in carbon, rather than
// falling through to a later section.
type Aggregation struct {
	Name            string
	Pattern         *regexp.Regexp // as in Schema
	XFilesFactor    float64        // used when XFilesFactorSet, else whisper's 0.5
	XFilesFactorSet bool
	Method          whisper.AggregationMethod // 0 when not set: whisper's average
}

// Rules are the schemas and aggregations of a conf dir, each list in file
// order. A metric name takes the first schema and the first aggregation that
// match it; when none does, it takes carbon's fallbacks: one archive of 60
// seconds × 10080 points (a week of minutes) and whisper's defaults.
//
// The name matched is the one the file is created for. For a tagged series
// carbon matches its whole normalised name, tags sorted, so "\.count$" does not
// find "a.count;host=x" but ";host=x" does; callers pass that same form.
//
// Rules are read-only once loaded and safe for concurrent use; to reload, load
// a new set and swap the pointer. The zero value has no rules: every name
// takes the fallbacks.
type Rules struct {
	Schemas      []Schema
	Aggregations []Aggregation
}

// fallbackArchives is carbon's defaultArchive (lib/carbon/storage.py):
// "default retention for unclassified data (7 days of minutely data)".
var fallbackArchives = [...]whisper.Retention{{SecondsPerPoint: 60, Points: 60 * 24 * 7}}

// Load reads SchemasFile and AggregationFile from confDir, or the built-in
// rules when confDir is "". As with carbon, a conf dir must have
// SchemasFile, and a missing AggregationFile means no aggregation rules:
// every file then gets whisper's defaults (average, xFilesFactor 0.5).
func Load(confDir string) (*Rules, error) {
	if confDir == "" {
		return parseRules(strings.NewReader(defaultSchemas), "defaults/"+SchemasFile,
			strings.NewReader(defaultAggregation), "defaults/"+AggregationFile)
	}
	sf, err := os.Open(filepath.Join(confDir, SchemasFile))
	if err != nil {
		return nil, err
	}
	defer sf.Close()
	af, err := os.Open(filepath.Join(confDir, AggregationFile))
	if errors.Is(err, fs.ErrNotExist) {
		schemas, err := ParseSchemas(sf, sf.Name())
		if err != nil {
			return nil, err
		}
		return &Rules{Schemas: schemas}, nil
	}
	// Carbon also ignores an aggregation file it may not read; that hides a
	// mistake, so statbox reports it.
	if err != nil {
		return nil, err
	}
	defer af.Close()
	return parseRules(sf, sf.Name(), af, af.Name())
}

func parseRules(schemas io.Reader, schemasName string, aggregation io.Reader, aggregationName string) (*Rules, error) {
	s, err := ParseSchemas(schemas, schemasName)
	if err != nil {
		return nil, err
	}
	a, err := ParseAggregations(aggregation, aggregationName)
	if err != nil {
		return nil, err
	}
	return &Rules{Schemas: s, Aggregations: a}, nil
}

// Schema returns the first schema whose pattern finds metric, or carbon's
// fallback, named "default", with a nil Pattern. Its Archives are shared: do
// not modify them.
func (r *Rules) Schema(metric string) Schema {
	for i := range r.Schemas {
		if matches(r.Schemas[i].Pattern, metric) {
			return r.Schemas[i]
		}
	}
	return Schema{Name: "default", Archives: fallbackArchives[:]}
}

// Aggregation returns the first aggregation whose pattern finds metric, or
// carbon's fallback, named "default", which sets nothing.
func (r *Rules) Aggregation(metric string) Aggregation {
	for i := range r.Aggregations {
		if matches(r.Aggregations[i].Pattern, metric) {
			return r.Aggregations[i]
		}
	}
	return Aggregation{Name: "default"}
}

// ForMetric returns what whisper.Create needs for a new file for metric. The
// archives are shared by every caller: do not modify them. Sparse is left
// false: it is a setting of the daemon (carbon.conf's WHISPER_SPARSE_CREATE),
// not of the rules.
func (r *Rules) ForMetric(metric string) ([]whisper.Retention, whisper.CreateOptions) {
	s := r.Schema(metric)
	a := r.Aggregation(metric)
	return s.Archives, whisper.CreateOptions{
		XFilesFactor:      a.XFilesFactor,
		XFilesFactorSet:   a.XFilesFactorSet,
		AggregationMethod: a.Method,
	}
}

func matches(p *regexp.Regexp, metric string) bool { return p == nil || p.MatchString(metric) }

// ParseSchemas reads a storage-schemas.conf; file names it in errors. Every
// section needs a pattern and retentions, as comma-separated
// precision:duration pairs ("10s:6h,1m:7d,10m:5y") or bare seconds:points
// ("60:1440"). Where carbon logs and skips a section without pattern or
// retentions, or with archives whisper would refuse, statbox returns an error:
// the files it would create are not the ones the file asks for.
//
// [DEFAULT], as in configparser, lends its keys to every section. Carbon also
// lists it as a section of its own, so it is a rule, in its place, when it has
// both keys, and is passed over when it lacks one.
func ParseSchemas(r io.Reader, file string) ([]Schema, error) {
	f, err := readINI(r, file)
	if err != nil {
		return nil, err
	}
	schemas := make([]Schema, 0, len(f.sections))
	for _, s := range f.sections {
		opts, err := f.items(s)
		if err != nil {
			return nil, err
		}
		ret, ok := lookup(opts, "retentions")
		if s == f.defaults && (!ok || !hasPattern(opts)) {
			continue // it only lends its keys, and carbon skips it
		}
		if !ok {
			return nil, missing(f.file, s, "retentions")
		}
		archives, err := parseRetentions(ret.value)
		if err != nil {
			return nil, &Error{File: f.file, Line: ret.line, Section: s.name, Key: "retentions", Err: err}
		}
		pattern, err := compilePattern(f.file, s, opts)
		if err != nil {
			return nil, err
		}
		if err := whisper.ValidateArchiveList(archives); err != nil {
			return nil, &Error{File: f.file, Line: ret.line, Section: s.name, Key: "retentions", Err: err}
		}
		schemas = append(schemas, Schema{Name: s.name, Pattern: pattern, Archives: archives})
	}
	return schemas, nil
}

// ParseAggregations reads a storage-aggregation.conf; file names it in errors.
// Every section needs a pattern; xFilesFactor (0 to 1) and aggregationMethod
// (one of whisper.AggregationMethods, lower case) are each optional. Where
// carbon logs and skips a section without a pattern or with an xFilesFactor
// that is not a number, statbox returns an error. [DEFAULT] is a rule when it
// has a pattern, as in ParseSchemas.
func ParseAggregations(r io.Reader, file string) ([]Aggregation, error) {
	f, err := readINI(r, file)
	if err != nil {
		return nil, err
	}
	aggs := make([]Aggregation, 0, len(f.sections))
	for _, s := range f.sections {
		opts, err := f.items(s)
		if err != nil {
			return nil, err
		}
		if s == f.defaults && !hasPattern(opts) {
			continue
		}
		a := Aggregation{Name: s.name}
		if o, ok := lookup(opts, "xfilesfactor"); ok {
			// Python's float() takes what ParseFloat takes, bar hex and
			// underscores, which no xFilesFactor needs.
			x, err := strconv.ParseFloat(o.value, 64)
			if err != nil {
				return nil, &Error{File: f.file, Line: o.line, Section: s.name, Key: "xFilesFactor",
					Err: fmt.Errorf("%q is not a number", o.value)}
			}
			if !(x >= 0 && x <= 1) {
				return nil, &Error{File: f.file, Line: o.line, Section: s.name, Key: "xFilesFactor",
					Err: fmt.Errorf("%s is not between 0 and 1", o.value)}
			}
			a.XFilesFactor, a.XFilesFactorSet = x, true
		}
		if o, ok := lookup(opts, "aggregationmethod"); ok {
			m, err := whisper.ParseAggregationMethod(o.value)
			if err != nil {
				return nil, &Error{File: f.file, Line: o.line, Section: s.name, Key: "aggregationMethod",
					Err: fmt.Errorf("unknown method %q, want one of %s", o.value, strings.Join(whisper.AggregationMethods, ", "))}
			}
			a.Method = m
		}
		if a.Pattern, err = compilePattern(f.file, s, opts); err != nil {
			return nil, err
		}
		aggs = append(aggs, a)
	}
	return aggs, nil
}

// compilePattern compiles the section's pattern. Carbon hands it to Python's
// re; Go's RE2 syntax is the same for what metric patterns use, and refuses
// rather than misreads the rest (lookarounds, backreferences, \Z).
func compilePattern(file string, s *section, opts []option) (*regexp.Regexp, error) {
	o, ok := lookup(opts, "pattern")
	if !ok || o.value == "" {
		if _, old := lookup(opts, "match-all"); old {
			return nil, &Error{File: file, Line: s.line, Section: s.name, Key: "pattern",
				Err: errors.New("missing: match-all is carbon 0.9's, carbon 1.1 skips the section; write pattern = .*")}
		}
		return nil, missing(file, s, "pattern")
	}
	re, err := regexp.Compile(o.value)
	if err != nil {
		var serr *syntax.Error
		if errors.As(err, &serr) && (serr.Code == syntax.ErrInvalidPerlOp || serr.Code == syntax.ErrInvalidEscape) {
			err = fmt.Errorf("%w (Go's RE2 syntax has no lookarounds, backreferences or \\Z; use \\z)", err)
		}
		return nil, &Error{File: file, Line: o.line, Section: s.name, Key: "pattern", Err: err}
	}
	return re, nil
}

func hasPattern(opts []option) bool {
	o, ok := lookup(opts, "pattern")
	return ok && o.value != ""
}

func missing(file string, s *section, key string) error {
	return &Error{File: file, Line: s.line, Section: s.name, Key: key, Err: errors.New("missing")}
}

// parseRetentions splits a retentions value on commas, as carbon does, and
// parses each precision:points pair.
func parseRetentions(v string) ([]whisper.Retention, error) {
	var archives []whisper.Retention
	for def := range strings.SplitSeq(v, ",") {
		r, err := parseRetention(def)
		if err != nil {
			return nil, err
		}
		archives = append(archives, r)
	}
	return archives, nil
}

// carbonUnits are the units carbon 1.1's util.parseRetentionDef knows.
// whisper.py also takes any prefix of a unit's name ("min", "hours"); carbon
// stops with "Invalid unit 'min'" (see statsd/statsd#699, grafana/mimir#10275).
const carbonUnits = "smhdwy"

func parseRetention(def string) (whisper.Retention, error) {
	def = strings.TrimSpace(def)
	p, n, ok := strings.Cut(def, ":")
	if !ok || strings.Contains(n, ":") {
		return whisper.Retention{}, fmt.Errorf("Invalid retention definition '%s'", def)
	}
	for _, part := range [...]string{p, n} {
		i := strings.IndexFunc(part, func(r rune) bool { return r < '0' || r > '9' })
		if i <= 0 || !isLowerLetters(part[i:]) {
			continue // no unit, or not count+unit: whisper's parser says what is wrong
		}
		if unit := part[i:]; len(unit) != 1 || !strings.Contains(carbonUnits, unit) {
			return whisper.Retention{}, fmt.Errorf("Invalid unit '%s' in '%s': carbon takes s, m, h, d, w or y", unit, def)
		}
	}
	r, err := whisper.ParseRetentionDef(def)
	if err != nil {
		return r, fmt.Errorf("%w in '%s'", err, def)
	}
	return r, nil
}

func isLowerLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

// Error is a mistake in a conf file, located by file, line, section and key.
type Error struct {
	File    string
	Line    int    // 0 when unknown
	Section string // "" before any section
	Key     string // "" for a line or a section as a whole
	Err     error
}

// Error reads "file:line: [section] key: what is wrong".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
	}
	if e.Section != "" {
		b.WriteString(": [" + e.Section + "]")
		if e.Key != "" {
			b.WriteString(" " + e.Key)
		}
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }
