package policy

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written in policies as "7d", "-7d", "36h",
// "1d12h" or "30s": days plus anything time.ParseDuration accepts.
type Duration time.Duration

// D converts a time.Duration.
func D(d time.Duration) Duration { return Duration(d) }

// Std returns the time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// ParseDuration parses "7d", "-7d", "1d12h", "90m", "30s" and "0".
func ParseDuration(s string) (Duration, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, fmt.Errorf("empty duration")
	}
	neg := false
	rest := in
	if rest[0] == '-' || rest[0] == '+' {
		neg = rest[0] == '-'
		rest = rest[1:]
	}
	var total time.Duration
	if i := strings.IndexByte(rest, 'd'); i >= 0 {
		days, err := strconv.Atoi(rest[:i])
		if err != nil || days < 0 || days > 3650 {
			return 0, fmt.Errorf("invalid duration %q: days must be a whole number from 0 to 3650", s)
		}
		total = time.Duration(days) * day
		rest = rest[i+1:]
	}
	if rest != "" {
		if rest[0] == '-' || rest[0] == '+' {
			return 0, fmt.Errorf("invalid duration %q: a sign may only lead", s)
		}
		d, err := time.ParseDuration(rest)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q: use forms like 7d, -7d, 36h, 1d12h, 30s", s)
		}
		total += d
	}
	if neg {
		total = -total
	}
	return Duration(total), nil
}

// String writes whole days as "7d" and anything else as days plus a Go duration.
func (d Duration) String() string {
	v := time.Duration(d)
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	days := v / day
	rem := v % day
	switch {
	case v == 0:
		return "0s"
	case rem == 0:
		return fmt.Sprintf("%s%dd", sign, days)
	case days == 0:
		return sign + rem.String()
	default:
		return fmt.Sprintf("%s%dd%s", sign, days, rem)
	}
}

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"7d\" or \"-36h\"")
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}
