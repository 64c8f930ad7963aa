package schema

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// iniCases are conf texts with what carbon's parser makes of them: each
// section in carbon's order, with its items as "key=value" in key order, or
// the error.
var iniCases = []struct {
	name string
	in   string
	want []string // "[section]" then "key=value" lines; nil when the text is refused
	err  string   // part of the error when refused
}{
	{name: "empty", in: "", want: []string{}},
	{name: "comments and blanks", in: "# a\n; b\n\n   # indented comment\n", want: []string{}},
	{
		name: "both delimiters, case-insensitive keys, spaces trimmed",
		in:   "[a]\nPattern = ^x\\.\nretentions:60:1d\nXFilesFactor  =  0.5  \n",
		want: []string{"[a]", "pattern=^x\\.", "retentions=60:1d", "xfilesfactor=0.5"},
	},
	{
		name: "a line indented deeper than the key above continues its value",
		in:   "[a]\nretentions = 60:1d\n  xFilesFactor = 0.5\n",
		want: []string{"[a]", "retentions=60:1d\nxFilesFactor = 0.5"},
	},
	{
		name: "first delimiter splits",
		in:   "[a]\nk: v=w\nj = v:w\n",
		want: []string{"[a]", "j=v:w", "k=v=w"},
	},
	{
		name: "no inline comments",
		in:   "[a]\npattern = x # not a comment\nb = y ; nor this\n",
		want: []string{"[a]", "b=y ; nor this", "pattern=x # not a comment"},
	},
	{
		name: "empty value",
		in:   "[a]\nk =\n",
		want: []string{"[a]", "k="},
	},
	{
		name: "sections in file order",
		in:   "[z]\nk=1\n[a]\nk=2\n[m]\n",
		want: []string{"[z]", "k=1", "[a]", "k=2", "[m]"},
	},
	{
		name: "section names are case-sensitive and keep inner spaces",
		in:   "[A]\n[a]\n[ b ]\n",
		want: []string{"[A]", "[a]", "[ b ]"},
	},
	{
		name: "continuation lines, blank and comment lines inside",
		in:   "[a]\nretentions = 10s:6h,\n    1m:7d,\n\n    # note\n    10m:5y\n\nk = v\n",
		want: []string{"[a]", "k=v", "retentions=10s:6h,\n1m:7d,\n\n10m:5y"},
	},
	{
		name: "indented keys at one level",
		in:   "[a]\n  k = 1\n  j = 2\n",
		want: []string{"[a]", "j=2", "k=1"},
	},
	{
		name: "DEFAULT is listed and fills in",
		in:   "[DEFAULT]\nxfilesfactor = 0\n[a]\npattern = x\n[b]\nxFilesFactor = 1\n",
		want: []string{"[DEFAULT]", "xfilesfactor=0", "[a]", "pattern=x", "xfilesfactor=0", "[b]", "xfilesfactor=1"},
	},
	{
		name: "interpolation",
		in:   "[DEFAULT]\nbase = ^stats\n[a]\npattern = %(BASE)s\\.%(tail)s\ntail = 100%%$\n",
		want: []string{"[DEFAULT]", "base=^stats", "[a]", "base=^stats", "pattern=^stats\\.100%$", "tail=100%$"},
	},
	{name: "CRLF and BOM", in: "\ufeff[a]\r\nk = v\r\n", want: []string{"[a]", "k=v"}},
	{name: "key before any section", in: "k = v\n", err: "before any [section]"},
	{name: "no delimiter", in: "[a]\njust words\n", err: "is not a [section], a key = value or a comment"},
	{name: "empty key", in: "[a]\n= v\n", err: "no key"},
	{name: "duplicate section", in: "[a]\n[b]\n[a]\n", err: "section already defined on line 1"},
	{name: "duplicate key", in: "[a]\nk = 1\nK = 2\n", err: "key already set on line 2"},
	{name: "empty section name", in: "[]\n", err: "malformed section header"},
	{name: "unclosed section", in: "[a\n", err: "malformed section header"},
	{name: "lone percent", in: "[a]\npattern = 5%\n", err: "'%' must be followed by '%' or '('"},
	{name: "unknown reference", in: "[a]\npattern = %(nope)s\n", err: "refers to no key"},
	{name: "bad reference", in: "[a]\npattern = %(x)d\nx = 1\n", err: "bad interpolation variable reference"},
	{name: "reference loop", in: "[a]\nx = %(y)s\ny = %(x)s\n", err: "nested deeper than 10"},
}

// sectionsOf lists f as iniCases want it.
func sectionsOf(f *iniFile) ([]string, error) {
	out := []string{}
	for _, s := range f.sections {
		out = append(out, "["+s.name+"]")
		opts, err := f.items(s)
		if err != nil {
			return nil, err
		}
		var kv []string
		for _, o := range opts {
			kv = append(kv, o.key+"="+o.value)
		}
		slices.Sort(kv)
		out = append(out, kv...)
	}
	return out, nil
}

func parseINI(in string) ([]string, error) {
	f, err := readINI(strings.NewReader(in), "test.conf")
	if err != nil {
		return nil, err
	}
	return sectionsOf(f)
}

func TestReadINI(t *testing.T) {
	for _, c := range iniCases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseINI(c.in)
			if c.want == nil {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got %q, %v; want an error with %q", got, err, c.err)
				}
				var e *Error
				if !errors.As(err, &e) || e.File != "test.conf" || e.Line == 0 {
					t.Errorf("error %v does not locate the line", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

// carbonINI reads stdin as carbon 1.1 does (lib/carbon/conf.py,
// OrderedConfigParser over Python 3's configparser) and prints what
// sectionsOf prints, or {"error": name of the exception}.
const carbonINI = `
import configparser, json, sys
text = sys.stdin.read()
try:
    config = configparser.ConfigParser()
    config.read_string(text)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith('[') and line.endswith(']'):
            name = line[1:-1]
            out.append('[' + name + ']')
            out.extend(sorted(k + '=' + v for k, v in config.items(name)))
    print(json.dumps({"sections": out}))
except Exception as e:
    print(json.dumps({"error": type(e).__name__}))
`

// TestReadINIPython checks iniCases against Python's configparser, read as
// carbon reads it. Where statbox refuses a text, Python must refuse it too.
func TestReadINIPython(t *testing.T) {
	python := "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no Debian python3 to compare with: %v", err)
		}
		t.Skip("no Debian python3 to compare with")
	}
	for _, c := range iniCases {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(python, "-c", carbonINI)
			// Python's text mode turns "\r\n" into "\n" and keeps a BOM; the
			// BOM case is statbox being lenient.
			cmd.Stdin = strings.NewReader(strings.TrimPrefix(c.in, "\ufeff"))
			out, err := cmd.Output()
			if err != nil {
				t.Fatal(err)
			}
			var res struct {
				Sections []string
				Error    string
			}
			if err := json.Unmarshal(out, &res); err != nil {
				t.Fatalf("%s: %v", out, err)
			}
			if c.want == nil {
				if res.Error == "" {
					t.Errorf("statbox refuses it, Python reads %q", res.Sections)
				}
				return
			}
			if res.Error != "" {
				t.Fatalf("Python: %s", res.Error)
			}
			if !reflect.DeepEqual(res.Sections, c.want) {
				t.Errorf("Python %q\nwant   %q", res.Sections, c.want)
			}
		})
	}
}

// TestReadINIStricterThanCarbon lists texts that Python's configparser takes
// and carbon then misreads: statbox refuses them.
func TestReadINIStricterThanCarbon(t *testing.T) {
	for _, c := range []struct{ in, err string }{
		// configparser takes section [a]; carbon never lists it, so its
		// rules are silently skipped.
		{"[a] # the a rules\npattern = x\n", "text after the section header"},
		// configparser appends it to the value of k; carbon lists a section
		// [b] that configparser does not have, and stops.
		{"[a]\nk = v\n  [b]\n", "indented section header"},
	} {
		if _, err := parseINI(c.in); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%q: got %v, want %q", c.in, err, c.err)
		}
	}
}
