package whispertool

import (
	"strconv"
	"strings"
	"time"
)

var (
	weekdayNames = [...]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	monthNames   = [...]string{"January", "February", "March", "April", "May", "June", "July",
		"August", "September", "October", "November", "December"}
)

// appendCtime appends Python's time.ctime(): "Thu Jan  1 00:00:00 1970".
func appendCtime(dst []byte, t time.Time) []byte {
	return appendStrftime(dst, "%a %b %e %H:%M:%S %Y", t)
}

// appendStrftime appends t formatted as glibc's strftime does in the C
// locale, which is what Python's time.strftime calls: the flags _ - 0 ^ #,
// a field width, the E and O modifiers (no-ops in the C locale), and an
// unknown conversion copied as written.
func appendStrftime(dst []byte, format string, t time.Time) []byte {
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			dst = append(dst, c)
			continue
		}
		start := i
		var pad byte
		upper, swapCase := false, false
	flags:
		for i+1 < len(format) {
			switch f := format[i+1]; f {
			case '_', '-', '0', '+':
				pad = f
			case '^':
				upper = true
			case '#':
				swapCase = true
			default:
				break flags
			}
			i++
		}
		width := 0
		for i+1 < len(format) && format[i+1] >= '0' && format[i+1] <= '9' {
			width = width*10 + int(format[i+1]-'0')
			i++
		}
		for i+1 < len(format) && (format[i+1] == 'E' || format[i+1] == 'O') {
			i++
		}
		if i+1 >= len(format) {
			// A '%' sequence cut short by the end of the format is copied.
			dst = padded(dst, format[start:], width, pad)
			break
		}
		i++
		s := strftimeConv(format[i], t, width, pad)
		if s == nil {
			dst = padded(dst, format[start:i+1], width, pad)
			continue
		}
		if !s.numeric {
			switch {
			case s.lower || (swapCase && s.swapLower):
				s.text = strings.ToLower(s.text)
			case upper || (swapCase && s.swapUpper):
				s.text = strings.ToUpper(s.text)
			}
		}
		dst = padded(dst, s.text, width, pad)
	}
	return dst
}

// padded appends s right-aligned in width, padded with zeros under the 0
// and + flags and with spaces otherwise.
func padded(dst []byte, s string, width int, pad byte) []byte {
	fill := byte(' ')
	if pad == '0' || pad == '+' {
		fill = '0'
	}
	for n := width - len(s); n > 0; n-- {
		dst = append(dst, fill)
	}
	return append(dst, s...)
}

// conv is one conversion's text and how the case flags act on it.
type conv struct {
	text      string
	numeric   bool // already padded to its digits and the width
	lower     bool // %P: always lower case
	swapUpper bool // the # flag upper-cases it (names of days and months)
	swapLower bool // the # flag lower-cases it (%p, %Z)
}

func strftimeConv(c byte, t time.Time, width int, pad byte) *conv {
	num := func(digits int, v int64, spacePad bool) *conv {
		return &conv{text: formatNumber(v, digits, width, pad, spacePad), numeric: true}
	}
	sub := func(format string) *conv {
		return &conv{text: string(appendStrftime(nil, format, t))}
	}
	hour12 := t.Hour() % 12
	if hour12 == 0 {
		hour12 = 12
	}
	yday := t.YearDay() - 1
	wday := int(t.Weekday())
	switch c {
	case 'a':
		return &conv{text: weekdayNames[wday][:3], swapUpper: true}
	case 'A':
		return &conv{text: weekdayNames[wday], swapUpper: true}
	case 'b', 'h':
		return &conv{text: monthNames[t.Month()-1][:3], swapUpper: true}
	case 'B':
		return &conv{text: monthNames[t.Month()-1], swapUpper: true}
	case 'c':
		return sub("%a %b %e %H:%M:%S %Y")
	case 'C':
		return num(2, int64(floorDiv(t.Year(), 100)), false)
	case 'd':
		return num(2, int64(t.Day()), false)
	case 'D', 'x':
		return sub("%m/%d/%y")
	case 'e':
		return num(2, int64(t.Day()), true)
	case 'F':
		return sub("%Y-%m-%d")
	case 'g':
		y, _ := t.ISOWeek()
		return num(2, int64((y%100+100)%100), false)
	case 'G':
		y, _ := t.ISOWeek()
		return num(4, int64(y), false)
	case 'H':
		return num(2, int64(t.Hour()), false)
	case 'I':
		return num(2, int64(hour12), false)
	case 'j':
		return num(3, int64(yday+1), false)
	case 'k':
		return num(2, int64(t.Hour()), true)
	case 'l':
		return num(2, int64(hour12), true)
	case 'm':
		return num(2, int64(t.Month()), false)
	case 'M':
		return num(2, int64(t.Minute()), false)
	case 'n':
		return &conv{text: "\n"}
	case 'p', 'P':
		s := "AM"
		if t.Hour() >= 12 {
			s = "PM"
		}
		return &conv{text: s, lower: c == 'P', swapLower: true}
	case 'r':
		return sub("%I:%M:%S %p")
	case 'R':
		return sub("%H:%M")
	case 's':
		return num(1, t.Unix(), false)
	case 'S':
		return num(2, int64(t.Second()), false)
	case 't':
		return &conv{text: "\t"}
	case 'T', 'X':
		return sub("%H:%M:%S")
	case 'u':
		return num(1, int64((wday+6)%7+1), false)
	case 'U':
		return num(2, int64((yday-wday+7)/7), false)
	case 'V':
		_, w := t.ISOWeek()
		return num(2, int64(w), false)
	case 'w':
		return num(1, int64(wday), false)
	case 'W':
		return num(2, int64((yday-(wday+6)%7+7)/7), false)
	case 'y':
		return num(2, int64((t.Year()%100+100)%100), false)
	case 'Y':
		return num(4, int64(t.Year()), false)
	case 'z':
		_, off := t.Zone()
		sign := "+"
		if off < 0 {
			sign, off = "-", -off
		}
		off /= 60
		return &conv{text: sign + formatNumber(int64(off/60*100+off%60), 4, 0, 0, false), numeric: true}
	case 'Z':
		name, _ := t.Zone()
		return &conv{text: name, swapLower: true}
	case '%':
		return &conv{text: "%"}
	}
	return nil
}

// formatNumber pads v to at least digits characters (or width, if wider)
// with zeros, or with spaces for %e, %k and %l and under the _ flag; the -
// flag pads nothing.
func formatNumber(v int64, digits, width int, pad byte, spacePad bool) string {
	if spacePad && pad != '0' && pad != '-' {
		pad = '_'
	}
	digits = max(digits, width)
	s := strconv.FormatInt(v, 10)
	if pad == '-' || len(s) >= digits {
		return s
	}
	n := digits - len(s)
	if pad == '_' {
		return strings.Repeat(" ", n) + s
	}
	if v < 0 {
		return "-" + strings.Repeat("0", n) + s[1:]
	}
	return strings.Repeat("0", n) + s
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
