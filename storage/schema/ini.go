package schema

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// The conf files are read the way carbon 1.1 reads them: Python 3's
// configparser.ConfigParser with its defaults (strict, '=' or ':' between key
// and value, whole-line '#' and ';' comments, indented continuation lines,
// BasicInterpolation), plus carbon's OrderedConfigParser, which takes the
// section order from lines that start with '[' and end with ']'
// (lib/carbon/conf.py). Python 3 has no inline comments: "pattern = x # y" is
// the pattern "x # y". Unlike Python, statbox skips a leading UTF-8 byte order
// mark rather than failing on it.

// option is one key of a section, its value with continuation lines joined.
type option struct {
	key   string // lower-cased, as configparser's optionxform does
	value string
	line  int
}

// section is one [name] of a conf file, its options in file order.
type section struct {
	name string
	line int
	opts []option
}

// iniFile is a parsed conf file. sections holds [DEFAULT] too, where it stands:
// carbon's OrderedConfigParser lists it like any other section, and
// configparser's items() gives it its own keys.
type iniFile struct {
	file     string
	sections []*section
	defaults *section // [DEFAULT], or nil
}

// defaultSection is configparser's DEFAULTSECT: its keys are every section's
// fallbacks.
const defaultSection = "DEFAULT"

// maxInterpolationDepth is configparser's MAX_INTERPOLATION_DEPTH.
const maxInterpolationDepth = 10

func readINI(r io.Reader, file string) (*iniFile, error) {
	f := &iniFile{file: file}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	var (
		cur         *section
		opt         = -1 // index in cur.opts of the option that continuation lines extend
		indentLevel int
		pieces      []string // the lines of cur.opts[opt].value
		lineno      int
	)
	finish := func() {
		if opt >= 0 {
			// configparser joins the lines with "\n" and strips the blank lines
			// that trail them.
			cur.opts[opt].value = strings.TrimRightFunc(strings.Join(pieces, "\n"), unicode.IsSpace)
		}
		opt, pieces = -1, pieces[:0]
	}
	for sc.Scan() {
		lineno++
		line := strings.TrimSuffix(sc.Text(), "\r")
		if lineno == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		text := strings.TrimSpace(line)
		if strings.HasPrefix(text, "#") || strings.HasPrefix(text, ";") {
			continue // a comment neither ends nor extends a value
		}
		if text == "" {
			if opt >= 0 {
				pieces = append(pieces, "")
			}
			continue
		}
		indent := strings.IndexFunc(line, func(r rune) bool { return !unicode.IsSpace(r) })
		if opt >= 0 && indent > indentLevel {
			if isSectionHeader(text) {
				return nil, &Error{File: file, Line: lineno, Section: cur.name,
					Err: fmt.Errorf("indented section header %s: configparser reads it as part of the value of %s, carbon as a section", text, cur.opts[opt].key)}
			}
			pieces = append(pieces, text)
			continue
		}
		finish()
		indentLevel = indent
		if text[0] == '[' {
			if !isSectionHeader(text) {
				msg := "malformed section header, want [name]"
				if strings.LastIndexByte(text, ']') > 1 {
					// configparser would take the section, but carbon's
					// OrderedConfigParser would never list it.
					msg = "text after the section header's ']'"
				}
				return nil, &Error{File: file, Line: lineno, Err: fmt.Errorf("%s: %s", msg, text)}
			}
			name := text[1 : len(text)-1]
			for _, s := range f.sections {
				if s.name == name {
					return nil, &Error{File: file, Line: lineno, Section: name,
						Err: fmt.Errorf("section already defined on line %d", s.line)}
				}
			}
			cur = &section{name: name, line: lineno}
			f.sections = append(f.sections, cur)
			if name == defaultSection {
				f.defaults = cur
			}
			continue
		}
		if cur == nil {
			return nil, &Error{File: file, Line: lineno, Err: fmt.Errorf("%q comes before any [section] header", text)}
		}
		i := strings.IndexAny(text, "=:")
		if i < 0 {
			return nil, &Error{File: file, Line: lineno, Section: cur.name,
				Err: fmt.Errorf("%q is not a [section], a key = value or a comment", text)}
		}
		key := strings.ToLower(strings.TrimRightFunc(text[:i], unicode.IsSpace))
		if key == "" {
			return nil, &Error{File: file, Line: lineno, Section: cur.name, Err: fmt.Errorf("no key before %q", text[i:i+1])}
		}
		for _, o := range cur.opts {
			if o.key == key {
				return nil, &Error{File: file, Line: lineno, Section: cur.name, Key: key,
					Err: fmt.Errorf("key already set on line %d", o.line)}
			}
		}
		cur.opts = append(cur.opts, option{key: key, line: lineno})
		opt = len(cur.opts) - 1
		pieces = append(pieces, strings.TrimSpace(text[i+1:]))
	}
	if err := sc.Err(); err != nil {
		return nil, &Error{File: file, Line: lineno + 1, Err: err}
	}
	finish()
	return f, nil
}

// isSectionHeader is carbon's test for a section line (OrderedConfigParser.read),
// which configparser agrees with whenever the name is not empty.
func isSectionHeader(text string) bool {
	return len(text) >= 3 && text[0] == '[' && text[len(text)-1] == ']'
}

// items returns the options of s merged over [DEFAULT]'s and interpolated, as
// configparser's items(section) does: every value is interpolated, so a bad
// '%' fails the section even in a key carbon does not read.
func (f *iniFile) items(s *section) ([]option, error) {
	merged := make([]option, 0, len(s.opts)+4)
	merged = append(merged, s.opts...)
	if f.defaults != nil && f.defaults != s {
	defaults:
		for _, d := range f.defaults.opts {
			for _, o := range s.opts {
				if o.key == d.key {
					continue defaults
				}
			}
			merged = append(merged, d)
		}
	}
	out := make([]option, len(merged))
	for i, o := range merged {
		if !strings.Contains(o.value, "%") {
			out[i] = o
			continue
		}
		var b strings.Builder
		if err := interpolate(&b, o.value, merged, 1); err != nil {
			return nil, &Error{File: f.file, Line: o.line, Section: s.name, Key: o.key, Err: err}
		}
		out[i] = option{key: o.key, value: b.String(), line: o.line}
	}
	return out, nil
}

// interpolate writes value to b with configparser's BasicInterpolation
// applied: "%%" is "%", "%(key)s" is the value of key, any other '%' is an
// error.
func interpolate(b *strings.Builder, value string, opts []option, depth int) error {
	if depth > maxInterpolationDepth {
		return fmt.Errorf("interpolation nested deeper than %d: %q", maxInterpolationDepth, value)
	}
	rest := value
	for rest != "" {
		p := strings.IndexByte(rest, '%')
		if p < 0 {
			b.WriteString(rest)
			return nil
		}
		b.WriteString(rest[:p])
		rest = rest[p:]
		switch {
		case strings.HasPrefix(rest, "%%"):
			b.WriteByte('%')
			rest = rest[2:]
		case strings.HasPrefix(rest, "%("):
			end := strings.IndexByte(rest, ')')
			if end < 3 || !strings.HasPrefix(rest[end:], ")s") {
				return fmt.Errorf("bad interpolation variable reference %q (write %%%% for a literal %%)", rest)
			}
			name := strings.ToLower(rest[2:end])
			rest = rest[end+2:]
			found := false
			for _, o := range opts {
				if o.key == name {
					if !strings.Contains(o.value, "%") {
						b.WriteString(o.value)
					} else if err := interpolate(b, o.value, opts, depth+1); err != nil {
						return err
					}
					found = true
					break
				}
			}
			if !found {
				return fmt.Errorf("%%(%s)s refers to no key of this section or [DEFAULT]", name)
			}
		default:
			return fmt.Errorf("'%%' must be followed by '%%' or '(', found %q (configparser interpolates values: write %%%% for a literal %%)", rest)
		}
	}
	return nil
}

// lookup returns the option called key, if opts has it.
func lookup(opts []option, key string) (option, bool) {
	for _, o := range opts {
		if o.key == key {
			return o, true
		}
	}
	return option{}, false
}
