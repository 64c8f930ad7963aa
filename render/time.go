package render

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // the appliance image may carry no zoneinfo; tz= must still work
)

var monthNames = []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}
var weekdayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// ParseTime reads a from/until/now value as graphite-web's parseATTime does,
// in UTC. ParseTimeIn takes the zone.
func ParseTime(s string, now time.Time) (time.Time, error) {
	return ParseTimeIn(s, now, time.UTC)
}

// ParseTimeIn reads a from/until/now value as graphite-web's parseATTime
// does: Unix seconds; a reference ("now", "midnight", "noon", "teatime",
// "HH:MM", "3pm", "today", "yesterday", "tomorrow", "YYYYMMDD", "MM/DD/YY",
// "jan 5", "monday", combined as in "16:00_20240101") followed by offsets
// such as "-1h", "+7d" or "-1h30min". References are taken in loc.
func ParseTimeIn(s string, now time.Time, loc *time.Location) (time.Time, error) {
	orig := s
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.NewReplacer("_", "", ",", "", " ", "").Replace(s)
	if s != "" && strings.Trim(s, "0123456789") == "" {
		yyyymmdd := false
		if len(s) == 8 {
			y, _ := strconv.Atoi(s[:4])
			m, _ := strconv.Atoi(s[4:6])
			d, _ := strconv.Atoi(s[6:])
			yyyymmdd = y > 1900 && m < 13 && d < 32
		}
		if !yyyymmdd {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return time.Time{}, fmt.Errorf("time %q: %w", orig, err)
			}
			return time.Unix(n, 0).In(loc), nil
		}
	}
	ref, offset := s, ""
	if i := strings.IndexAny(s, "+"); i >= 0 {
		ref, offset = s[:i], s[i:]
	} else if i := strings.IndexAny(s, "-"); i >= 0 {
		ref, offset = s[:i], s[i:]
	}
	t, err := parseReference(ref, now.In(loc), loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: %w", orig, err)
	}
	d, err := parseOffset(offset)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: %w", orig, err)
	}
	return t.Add(d), nil
}

// parseReference reads the part before the offset.
func parseReference(ref string, now time.Time, loc *time.Location) (time.Time, error) {
	if ref == "" || ref == "now" {
		return now, nil
	}
	raw := ref
	hour, minute := 0, 0
	atoi := func(s string) (int, error) {
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, fmt.Errorf("bad hour or minute in %q", raw)
		}
		return n, nil
	}
	var err error
	if i := strings.IndexByte(ref, ':'); i > 0 && i < 3 {
		if hour, err = atoi(ref[:i]); err != nil {
			return time.Time{}, err
		}
		end := min(i+3, len(ref))
		if minute, err = atoi(ref[i+1 : end]); err != nil {
			return time.Time{}, err
		}
		ref = ref[end:]
		if strings.HasPrefix(ref, "am") {
			ref = ref[2:]
		} else if strings.HasPrefix(ref, "pm") {
			hour = (hour + 12) % 24
			ref = ref[2:]
		}
	}
	if i := strings.Index(ref, "am"); i > 0 && i < 3 {
		if hour, err = atoi(ref[:i]); err != nil {
			return time.Time{}, err
		}
		ref = ref[i+2:]
	}
	if i := strings.Index(ref, "pm"); i > 0 && i < 3 {
		if hour, err = atoi(ref[:i]); err != nil {
			return time.Time{}, err
		}
		hour = (hour + 12) % 24
		ref = ref[i+2:]
	}
	switch {
	case strings.HasPrefix(ref, "noon"):
		hour, minute, ref = 12, 0, ref[4:]
	case strings.HasPrefix(ref, "midnight"):
		hour, minute, ref = 0, 0, ref[8:]
	case strings.HasPrefix(ref, "teatime"):
		hour, minute, ref = 16, 0, ref[7:]
	}
	y, mo, d := now.Date()
	date := func(y int, mo time.Month, d int) time.Time {
		return time.Date(y, mo, d, hour, minute, 0, 0, loc)
	}
	switch {
	case ref == "" || ref == "today":
		return date(y, mo, d), nil
	case ref == "yesterday":
		return date(y, mo, d-1), nil
	case ref == "tomorrow":
		return date(y, mo, d+1), nil
	case strings.Count(ref, "/") == 2:
		p := strings.Split(ref, "/")
		var n [3]int
		for i := range p {
			if n[i], err = strconv.Atoi(p[i]); err != nil {
				return time.Time{}, fmt.Errorf("bad date %q", raw)
			}
		}
		yy := n[2]
		if yy < 1900 {
			yy += 1900
		}
		if yy < 1970 {
			yy += 100
		}
		if n[0] < 1 || n[0] > 12 || n[1] < 1 || n[1] > 31 {
			return time.Time{}, fmt.Errorf("bad date %q", raw)
		}
		return date(yy, time.Month(n[0]), n[1]), nil
	case len(ref) == 8 && strings.Trim(ref, "0123456789") == "":
		yy, _ := strconv.Atoi(ref[:4])
		m, _ := strconv.Atoi(ref[4:6])
		dd, _ := strconv.Atoi(ref[6:])
		if m < 1 || m > 12 || dd < 1 || dd > 31 {
			return time.Time{}, fmt.Errorf("bad date %q", raw)
		}
		return date(yy, time.Month(m), dd), nil
	case len(ref) >= 3 && indexOf(monthNames, ref[:3]) >= 0:
		var dd int
		if n, err := strconv.Atoi(ref[max(len(ref)-2, 0):]); err == nil && len(ref) >= 2 && isDigits(ref[len(ref)-2:]) {
			dd = n
		} else if isDigits(ref[len(ref)-1:]) {
			dd = int(ref[len(ref)-1] - '0')
		} else {
			return time.Time{}, fmt.Errorf("day of month required after month name in %q", raw)
		}
		return date(y, time.Month(indexOf(monthNames, ref[:3])+1), dd), nil
	case len(ref) >= 3 && indexOf(weekdayNames, ref[:3]) >= 0:
		off := int(now.Weekday()) - indexOf(weekdayNames, ref[:3])
		if off < 0 {
			off += 7
		}
		return date(y, mo, d-off), nil
	}
	return time.Time{}, fmt.Errorf("unknown day reference %q", raw)
}

func isDigits(s string) bool { return s != "" && strings.Trim(s, "0123456789") == "" }

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// parseOffset reads graphite-web's parseTimeOffset: a sign, then runs of
// digits and unit words, units known by their start (s, min, h, d, w, mon, y).
func parseOffset(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	sign := time.Duration(1)
	switch s[0] {
	case '-':
		sign = -1
		s = s[1:]
	case '+':
		s = s[1:]
	default:
		if s[0] < '0' || s[0] > '9' {
			return 0, fmt.Errorf("invalid offset %q", s)
		}
	}
	var total time.Duration
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("invalid offset %q", s)
		}
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil || n > 1e9 {
			return 0, fmt.Errorf("invalid offset %q", s)
		}
		s = s[i:]
		j := 0
		for j < len(s) && s[j] >= 'a' && s[j] <= 'z' {
			j++
		}
		u, err := unitSeconds(s[:j])
		if err != nil {
			return 0, err
		}
		s = s[j:]
		total += time.Duration(n) * time.Duration(u) * time.Second
	}
	return sign * total, nil
}

// unitSeconds is graphite-web's getUnitString: units known by how they start,
// a month 30 days and a year 365.
func unitSeconds(unit string) (int64, error) {
	switch {
	case strings.HasPrefix(unit, "s"):
		return 1, nil
	case strings.HasPrefix(unit, "min"):
		return 60, nil
	case strings.HasPrefix(unit, "h"):
		return 3600, nil
	case strings.HasPrefix(unit, "d"):
		return 86400, nil
	case strings.HasPrefix(unit, "w"):
		return 7 * 86400, nil
	case strings.HasPrefix(unit, "mon"):
		return 30 * 86400, nil
	case strings.HasPrefix(unit, "y"):
		return 365 * 86400, nil
	}
	return 0, fmt.Errorf("invalid offset unit %q", unit)
}
