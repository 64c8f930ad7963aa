package render

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseTime reads a from/until/now value as graphite-web's parseATTime does,
// for the forms served so far: Unix seconds, "now", and "now" or nothing
// followed by offsets such as "-1h", "-7d", "+30min" or "-1h30min".
func ParseTime(s string, now time.Time) (time.Time, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.NewReplacer("_", "", ",", "", " ", "").Replace(s)
	if s != "" && strings.Trim(s, "0123456789") == "" {
		if len(s) == 8 && s[:4] > "1900" && s[4:6] < "13" && s[6:] < "32" {
			return time.Time{}, fmt.Errorf("%q: YYYYMMDD dates are not served yet", s)
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q: %w", s, err)
		}
		return time.Unix(n, 0), nil
	}
	ref, offset := s, ""
	if i := strings.IndexAny(s, "+-"); i >= 0 {
		ref, offset = s[:i], s[i:]
	}
	if ref != "" && ref != "now" {
		return time.Time{}, fmt.Errorf("%q: time reference %q is not served yet", s, ref)
	}
	d, err := parseOffset(offset)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: %w", s, err)
	}
	return now.Add(d), nil
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
		n, _ := strconv.ParseInt(s[:i], 10, 64)
		s = s[i:]
		j := 0
		for j < len(s) && s[j] >= 'a' && s[j] <= 'z' {
			j++
		}
		unit := s[:j]
		s = s[j:]
		var u time.Duration
		switch {
		case strings.HasPrefix(unit, "s"):
			u = time.Second
		case strings.HasPrefix(unit, "min"):
			u = time.Minute
		case strings.HasPrefix(unit, "h"):
			u = time.Hour
		case strings.HasPrefix(unit, "d"):
			u = 24 * time.Hour
		case strings.HasPrefix(unit, "w"):
			u = 7 * 24 * time.Hour
		case strings.HasPrefix(unit, "mon"):
			u = 30 * 24 * time.Hour
		case strings.HasPrefix(unit, "y"):
			u = 365 * 24 * time.Hour
		default:
			return 0, fmt.Errorf("invalid offset unit %q", unit)
		}
		total += time.Duration(n) * u
	}
	return sign * total, nil
}
