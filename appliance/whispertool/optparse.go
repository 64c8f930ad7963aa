package whispertool

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// The whisper tools parse their command lines with Python's optparse; users
// meet its rules and messages, so they are kept: options anywhere among the
// arguments, --opt=value or --opt value, -tvalue or -t value, unambiguous
// prefixes of long options, "--" ending the options, and errors printed
// after the usage with exit status 2.

// option is one command-line option. Exactly one of the destinations is set;
// an option without a value sets flag.
type option struct {
	long    string // "--from"
	short   string // "-t", or ""
	metavar string // shown in the help for options that take a value
	help    string
	flag    *bool
	str     *string
	integer *int64
	float   *float64
	choices []string // allowed values of str, if any
	given   *bool    // set when the option appears, if not nil
}

func (o *option) takesValue() bool { return o.flag == nil }

// helpOption is the -h/--help every optparse parser has first.
var helpOption = &option{long: "--help", short: "-h", flag: new(bool), help: "show this help message and exit"}

// optParser is an optparse.OptionParser with its usage, description and
// options (the help option is implied).
type optParser struct {
	prog        string
	usage       string // with %prog for the program's name
	description string
	options     []*option
}

func (p *optParser) all() []*option { return append([]*option{helpOption}, p.options...) }

// helpWidth is optparse's text width: $COLUMNS (80 when unset) less 2.
const helpWidth = 78

// errExit is how parsing ended the run: help printed (0) or a usage error (2).
type errExit int

func (e errExit) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// parse sets the options found in args and returns the positional
// arguments. When the help option or a usage error ends the run, it prints
// them and returns the exit status as an errExit.
func (p *optParser) parse(args []string, stdout, stderr io.Writer) ([]string, error) {
	var positional []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		var err error
		switch {
		case arg == "--":
			return append(positional, args[i+1:]...), nil
		case strings.HasPrefix(arg, "--"):
			name, value, explicit := strings.Cut(arg, "=")
			var o *option
			o, err = p.matchLong(name)
			switch {
			case err != nil:
			case !o.takesValue() && explicit:
				err = fmt.Errorf("%s option does not take a value", o.long)
			case !o.takesValue():
				err = p.set(o, o.long, "", stdout)
			case !explicit && i+1 == len(args):
				err = fmt.Errorf("%s option requires 1 argument", o.long)
			default:
				if !explicit {
					i++
					value = args[i]
				}
				err = p.set(o, o.long, value, stdout)
			}
			if err != nil {
				return nil, p.fail(stderr, err)
			}
		case strings.HasPrefix(arg, "-") && len(arg) > 1:
			// A cluster of short flags, the last of which may take the
			// rest of the argument, or the next one, as its value.
			for j := 1; j < len(arg) && err == nil; j++ {
				name := "-" + arg[j:j+1]
				o := p.matchShort(name)
				switch {
				case o == nil:
					err = fmt.Errorf("no such option: %s", name)
				case !o.takesValue():
					err = p.set(o, name, "", stdout)
				case j+1 < len(arg):
					err = p.set(o, name, arg[j+1:], stdout)
					j = len(arg)
				case i+1 == len(args):
					err = fmt.Errorf("%s option requires 1 argument", name)
				default:
					i++
					err = p.set(o, name, args[i], stdout)
				}
			}
			if err != nil {
				return nil, p.fail(stderr, err)
			}
		default:
			positional = append(positional, arg)
		}
	}
	return positional, nil
}

// matchLong finds the option a long name, or a unique prefix of one, names.
func (p *optParser) matchLong(name string) (*option, error) {
	var matches []string
	var found *option
	for _, o := range p.all() {
		if o.long == name {
			return o, nil
		}
		if strings.HasPrefix(o.long, name) {
			matches, found = append(matches, o.long), o
		}
	}
	switch len(matches) {
	case 0:
		return nil, fmt.Errorf("no such option: %s", name)
	case 1:
		return found, nil
	}
	slices.Sort(matches)
	return nil, fmt.Errorf("ambiguous option: %s (%s?)", name, strings.Join(matches, ", "))
}

func (p *optParser) matchShort(name string) *option {
	for _, o := range p.all() {
		if o.short == name {
			return o
		}
	}
	return nil
}

// set stores value into o's destination, converting it as optparse's
// types int, float and choice do; name is the option as the user wrote it.
// The help option prints the help and ends the run.
func (p *optParser) set(o *option, name, value string, stdout io.Writer) error {
	if o == helpOption {
		fmt.Fprint(stdout, p.help())
		return errExit(0)
	}
	if o.given != nil {
		*o.given = true
	}
	switch {
	case o.flag != nil:
		*o.flag = true
	case o.integer != nil:
		n, ok := parseOptInt(value)
		if !ok {
			return fmt.Errorf("option %s: invalid integer value: %s", name, strRepr(value))
		}
		*o.integer = n
	case o.float != nil:
		f, ok := parsePyFloat(value)
		if !ok {
			return fmt.Errorf("option %s: invalid floating-point value: %s", name, strRepr(value))
		}
		*o.float = f
	case o.choices != nil && !slices.Contains(o.choices, value):
		quoted := make([]string, len(o.choices))
		for i, c := range o.choices {
			quoted[i] = strRepr(c)
		}
		return fmt.Errorf("option %s: invalid choice: %s (choose from %s)", name, strRepr(value), strings.Join(quoted, ", "))
	default:
		*o.str = value
	}
	return nil
}

// parseOptInt is optparse's integer type: 0x, 0b and a leading 0 select
// hexadecimal, binary and octal, as in Python 2's literals.
func parseOptInt(s string) (int64, bool) {
	switch {
	case len(s) >= 2 && strings.EqualFold(s[:2], "0x"):
		return parsePyInt(s, 16)
	case len(s) >= 2 && strings.EqualFold(s[:2], "0b"):
		s = s[2:]
		if s == "" {
			s = "0"
		}
		return parsePyInt(s, 2)
	case strings.HasPrefix(s, "0"):
		return parsePyInt(s, 8)
	}
	return parsePyInt(s, 10)
}

func (p *optParser) usageLine() string {
	return "Usage: " + strings.ReplaceAll(p.usage, "%prog", p.prog) + "\n"
}

// fail prints the usage and err as optparse's error() does, unless err
// already ended the run.
func (p *optParser) fail(stderr io.Writer, err error) error {
	if _, ok := err.(errExit); ok {
		return err
	}
	fmt.Fprintf(stderr, "%s\n%s: error: %s\n", p.usageLine(), p.prog, err)
	return errExit(2)
}

// printUsage is optparse's print_usage() to standard output.
func (p *optParser) printUsage(stdout io.Writer) {
	fmt.Fprintf(stdout, "%s\n", p.usageLine())
}

// help is optparse's format_help() with its IndentedHelpFormatter.
func (p *optParser) help() string {
	var b strings.Builder
	b.WriteString(p.usageLine())
	b.WriteString("\n")
	if p.description != "" {
		b.WriteString(strings.Join(wrapText(p.description, helpWidth), "\n"))
		b.WriteString("\n\n")
	}
	b.WriteString("Options:\n")
	var names, helps []string
	for _, o := range p.all() {
		short, long := o.short, o.long
		if o.takesValue() {
			short, long = short+" "+o.metavar, long+"="+o.metavar
		}
		if o.short != "" {
			long = short + ", " + long
		}
		names = append(names, long)
		helps = append(helps, o.help)
	}
	const indent, maxHelpPosition = 2, 24
	helpPosition := 0
	for _, n := range names {
		helpPosition = max(helpPosition, len(n)+indent)
	}
	helpPosition = min(helpPosition+2, maxHelpPosition)
	textWidth := max(helpWidth-helpPosition, 11)
	optWidth := helpPosition - indent - 2
	for i, n := range names {
		first := 0
		if len(n) > optWidth {
			fmt.Fprintf(&b, "%*s%s\n", indent, "", n)
			first = helpPosition
		} else {
			fmt.Fprintf(&b, "%*s%-*s  ", indent, "", optWidth, n)
		}
		if helps[i] == "" {
			if first == 0 {
				b.WriteString("\n")
			}
			continue
		}
		for j, line := range wrapText(helps[i], textWidth) {
			if j > 0 {
				first = helpPosition
			}
			fmt.Fprintf(&b, "%*s%s\n", first, "", line)
		}
	}
	return b.String()
}

// wrapText fills words into lines of at most width characters, as Python's
// textwrap.wrap does for the one-spaced help texts here: a hyphenated word
// may break after its hyphen.
func wrapText(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		for first := true; word != ""; first = false {
			piece := word
			if k := hyphenBreak(word); k >= 0 {
				piece = word[:k+1]
			}
			word = word[len(piece):]
			sep := ""
			if first && line != "" {
				sep = " "
			}
			if line != "" && len(line)+len(sep)+len(piece) > width {
				lines = append(lines, line)
				line, sep = "", ""
			}
			line += sep + piece
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// hyphenBreak is the index of the first hyphen in word that textwrap breaks
// after: one with two letters on either side, as in "human-readable"; or -1.
func hyphenBreak(word string) int {
	isLetter := func(k int) bool {
		c := word[k]
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
	}
	for k := 2; k+2 < len(word); k++ {
		if word[k] == '-' && isLetter(k-2) && isLetter(k-1) && isLetter(k+1) && isLetter(k+2) {
			return k
		}
	}
	return -1
}
