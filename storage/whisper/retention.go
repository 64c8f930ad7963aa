package whisper

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Retention is an archive to create: its precision and how many points it holds.
type Retention struct {
	SecondsPerPoint uint32
	Points          uint32
}

// Seconds is the time the archive covers.
func (r Retention) Seconds() int64 { return int64(r.SecondsPerPoint) * int64(r.Points) }

func (r Retention) String() string { return fmt.Sprintf("(%d, %d)", r.SecondsPerPoint, r.Points) }

var unitNames = []string{"seconds", "minutes", "hours", "days", "weeks", "years"}
var unitSeconds = []int64{1, 60, 3600, 86400, 86400 * 7, 86400 * 365}

// unitMultiplier takes any prefix of a unit name, as whisper.py's getUnitString
// does: "m", "min" and "minutes" are all minutes.
func unitMultiplier(s string) (int64, error) {
	for i, name := range unitNames {
		if strings.HasPrefix(name, s) {
			return unitSeconds[i], nil
		}
	}
	return 0, fmt.Errorf("Invalid unit '%s'", s)
}

// splitCount splits "15m" into 15 and "m": digits then lower-case letters.
func splitCount(s string) (n int64, unit string, ok bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || i == len(s) {
		return 0, "", false
	}
	for _, c := range s[i:] {
		if c < 'a' || c > 'z' {
			return 0, "", false
		}
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	return n, s[i:], err == nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ParseRetentionDef parses "precision:points" as whisper.py's parseRetentionDef
// does: "60:1440", "15m:8", "1h:7d", "12h:2y". A points part with a unit is a
// duration, divided by the precision.
func ParseRetentionDef(def string) (Retention, error) {
	p, n, found := strings.Cut(strings.TrimSpace(def), ":")
	if !found {
		return Retention{}, fmt.Errorf("Invalid retention definition '%s'", def)
	}
	var precision, points int64
	if isDigits(p) {
		precision, _ = strconv.ParseInt(p, 10, 64)
	} else {
		count, unit, ok := splitCount(p)
		if !ok {
			return Retention{}, fmt.Errorf("Invalid precision specification '%s'", p)
		}
		mult, err := unitMultiplier(unit)
		if err != nil {
			return Retention{}, err
		}
		precision = count * mult
	}
	if isDigits(n) {
		points, _ = strconv.ParseInt(n, 10, 64)
	} else {
		count, unit, ok := splitCount(n)
		if !ok {
			return Retention{}, fmt.Errorf("Invalid retention specification '%s'", n)
		}
		mult, err := unitMultiplier(unit)
		if err != nil {
			return Retention{}, err
		}
		if precision == 0 {
			return Retention{}, fmt.Errorf("Invalid precision specification '%s'", p)
		}
		points = count * mult / precision
	}
	if precision <= 0 || precision > 1<<32-1 {
		return Retention{}, fmt.Errorf("Invalid precision specification '%s'", p)
	}
	if points <= 0 || points > 1<<32-1 {
		return Retention{}, fmt.Errorf("Invalid retention specification '%s'", n)
	}
	return Retention{SecondsPerPoint: uint32(precision), Points: uint32(points)}, nil
}

// ValidateArchiveList sorts archives by precision and applies whisper.py's
// rules: at least one archive, no two with the same precision, each precision
// divides the next, each archive covers more time than the one before, and each
// has enough points to fill one point of the next.
func ValidateArchiveList(archives []Retention) error {
	if len(archives) == 0 {
		return fmt.Errorf("You must specify at least one archive configuration!")
	}
	slices.SortStableFunc(archives, func(a, b Retention) int {
		return int(int64(a.SecondsPerPoint) - int64(b.SecondsPerPoint))
	})
	for i := 0; i+1 < len(archives); i++ {
		a, next := archives[i], archives[i+1]
		if a.SecondsPerPoint == next.SecondsPerPoint {
			return fmt.Errorf("A Whisper database may not be configured having two archives with the same precision (archive%d: %v, archive%d: %v)", i, a, i+1, next)
		}
		if next.SecondsPerPoint%a.SecondsPerPoint != 0 {
			return fmt.Errorf("Higher precision archives' precision must evenly divide all lower precision archives' precision (archive%d: %d, archive%d: %d)", i, a.SecondsPerPoint, i+1, next.SecondsPerPoint)
		}
		if next.Seconds() <= a.Seconds() {
			return fmt.Errorf("Lower precision archives must cover larger time intervals than higher precision archives (archive%d: %d seconds, archive%d: %d seconds)", i, a.Seconds(), i+1, next.Seconds())
		}
		if per := next.SecondsPerPoint / a.SecondsPerPoint; a.Points < per {
			return fmt.Errorf("Each archive must have at least enough points to consolidate to the next archive (archive%d consolidates %d of archive%d's points but it has only %d total points)", i+1, per, i, a.Points)
		}
	}
	return nil
}
