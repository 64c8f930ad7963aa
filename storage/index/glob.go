package index

import (
	"strings"
	"unicode/utf8"
)

// A glob is one node of a graphite pattern (the text between two dots),
// compiled: its brace variants, each matched as Python's fnmatch matches,
// which is what graphite-web's standard finder does for every directory
// level (finders/__init__.py expand_braces, then fnmatch.filter).
type glob struct {
	variants []variant
	globstar bool // "**": any number of levels
}

// variant is one brace expansion of a node pattern.
type variant struct {
	pat     string // the pattern, braces expanded
	literal bool   // no *, ? or [: the pattern is the name itself
	prefix  string // the literal text before the first wildcard
}

// maxVariants bounds brace expansion: "{a,b}{c,d}..." multiplies, and a
// request must not make the index allocate without limit.
const maxVariants = 4096

// compileGlob expands the braces of one node pattern. It fails only when the
// expansion would exceed maxVariants.
func compileGlob(p string) (glob, error) {
	var pats []string
	if err := expandBraces(p, &pats, 0); err != nil {
		return glob{}, err
	}
	g := glob{variants: make([]variant, 0, len(pats))}
	var seen map[string]bool
	if len(pats) > 1 {
		seen = make(map[string]bool, len(pats))
	}
	for _, v := range pats {
		if seen[v] {
			continue
		}
		if seen != nil {
			seen[v] = true
		}
		i := strings.IndexAny(v, "*?[")
		vr := variant{pat: v, literal: i < 0, prefix: v}
		if i >= 0 {
			vr.prefix = v[:i]
		}
		g.variants = append(g.variants, vr)
	}
	return g, nil
}

// expandBraces appends the variants of s: the first innermost "{...}" (a
// brace pair with no brace inside) is replaced by each of its comma-separated
// alternatives in turn, recursively, as graphite-web's expand_braces does. An
// unbalanced brace stays a literal character.
func expandBraces(s string, out *[]string, depth int) error {
	open, close := -1, -1
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			open = i
		case '}':
			if open >= 0 {
				close = i
			}
		}
		if close >= 0 {
			break
		}
	}
	if close < 0 {
		if len(*out) >= maxVariants {
			return errTooManyVariants
		}
		*out = append(*out, s)
		return nil
	}
	head, body, tail := s[:open], s[open+1:close], s[close+1:]
	for alt := range strings.SplitSeq(body, ",") {
		if err := expandBraces(head+alt+tail, out, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// hasWildcard reports whether a node pattern needs matching rather than
// looking up: graphite-web treats a node with {, [, * or ? as a glob.
func hasWildcard(p string) bool {
	return strings.ContainsAny(p, "{[*?")
}

// match reports whether name matches the glob: any variant matches it.
func (g *glob) match(name string) bool {
	for i := range g.variants {
		if g.variants[i].match(name) {
			return true
		}
	}
	return false
}

func (v *variant) match(name string) bool {
	if v.literal {
		return v.pat == name
	}
	if !strings.HasPrefix(name, v.prefix) {
		return false
	}
	return fnmatch(v.pat[len(v.prefix):], name[len(v.prefix):])
}

// fnmatch matches name against pattern p with Python's fnmatch rules
// (fnmatch.translate, Python 3.11): '*' any run of characters, '?' one
// character, "[...]" one character of a set with ranges, "[!...]" one not in
// it; a ']' first in a set is literal, a '[' with no closing ']' is literal,
// a range whose ends are reversed matches nothing. Characters are code points.
// The '*' backtracking keeps only the last star, so the cost is bounded by
// len(p)*len(name).
func fnmatch(p, name string) bool {
	pi, ni := 0, 0
	starP, starN := -1, -1
	for ni < len(name) {
		if pi < len(p) {
			switch p[pi] {
			case '*':
				starP, starN = pi+1, ni
				pi++
				continue
			case '?':
				_, w := utf8.DecodeRuneInString(name[ni:])
				pi++
				ni += w
				continue
			case '[':
				r, w := utf8.DecodeRuneInString(name[ni:])
				if ok, end, isSet := matchSet(p, pi, r); isSet {
					if ok {
						pi = end
						ni += w
						continue
					}
				} else if name[ni] == '[' { // a lone '[' is literal
					pi++
					ni++
					continue
				}
			default:
				pr, pw := utf8.DecodeRuneInString(p[pi:])
				nr, nw := utf8.DecodeRuneInString(name[ni:])
				if pr == nr {
					pi += pw
					ni += nw
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		_, w := utf8.DecodeRuneInString(name[starN:])
		starN += w
		pi, ni = starP, starN
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// matchSet reads the set starting at p[i] == '[' and reports whether r is in
// it, the index just past the set, and whether p[i] opens a set at all (it
// does not if no ']' closes it).
func matchSet(p string, i int, r rune) (ok bool, end int, isSet bool) {
	j := i + 1
	negate := false
	if j < len(p) && p[j] == '!' {
		negate = true
		j++
	}
	if j < len(p) && p[j] == ']' {
		j++
	}
	for j < len(p) && p[j] != ']' {
		j++
	}
	if j >= len(p) {
		return false, 0, false
	}
	body := p[i+1 : j]
	if negate {
		body = body[1:]
	}
	in := false
	for k := 0; k < len(body); {
		lo, w := utf8.DecodeRuneInString(body[k:])
		k += w
		// A '-' between two characters makes a range; first or last it is
		// literal, as in Python.
		if k+1 < len(body) && body[k] == '-' {
			hi, w2 := utf8.DecodeRuneInString(body[k+1:])
			k += 1 + w2
			if lo <= r && r <= hi {
				in = true
			}
			continue
		}
		if lo == r {
			in = true
		}
	}
	return in != negate, j + 1, true
}
