package events

import (
	"slices"
	"strings"
)

// ParseTagInput splits tag input as django-tagging's parse_tag_input, which
// graphite-web's events store uses: without commas or double quotes, words
// split on spaces; otherwise double quotes group a tag and loose commas, if
// any, delimit instead of spaces. Tags are stripped, de-duplicated, sorted.
func ParseTagInput(in string) []string {
	if in == "" {
		return nil
	}
	var words []string
	if !strings.ContainsAny(in, `,"`) {
		words = splitStrip(in, " ")
	} else {
		var (
			toSplit   []string
			buf       strings.Builder
			looseComa bool
			openQuote bool
		)
		rs := []rune(in)
		for i := 0; i < len(rs); i++ {
			c := rs[i]
			if c != '"' {
				if c == ',' {
					looseComa = true
				}
				buf.WriteRune(c)
				continue
			}
			if buf.Len() > 0 {
				toSplit = append(toSplit, buf.String())
				buf.Reset()
			}
			openQuote = true
			closed := false
			for i++; i < len(rs); i++ {
				if rs[i] == '"' {
					closed = true
					break
				}
				buf.WriteRune(rs[i])
			}
			if !closed {
				break
			}
			if w := strings.TrimSpace(buf.String()); w != "" {
				words = append(words, w)
			}
			buf.Reset()
			openQuote = false
		}
		if buf.Len() > 0 {
			if openQuote && strings.Contains(buf.String(), ",") {
				looseComa = true
			}
			toSplit = append(toSplit, buf.String())
		}
		delim := " "
		if looseComa {
			delim = ","
		}
		for _, chunk := range toSplit {
			words = append(words, splitStrip(chunk, delim)...)
		}
	}
	slices.Sort(words)
	return slices.Compact(words)
}

// splitStrip is django-tagging's split_strip: split, strip (Python's
// whitespace), drop the empty.
func splitStrip(s, delim string) []string {
	var out []string
	for w := range strings.SplitSeq(s, delim) {
		if w = strings.TrimSpace(w); w != "" {
			out = append(out, w)
		}
	}
	return out
}
