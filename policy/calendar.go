package policy

import (
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"time"
)

// Calendar says when messages may go out, in the customer's time zone.
// The zero Calendar allows any moment.
type Calendar struct {
	// WindowStart and WindowEnd bound the local time of day ("09:00",
	// "17:00"); both empty means any time of day.
	WindowStart string `json:"window_start,omitempty"`
	WindowEnd   string `json:"window_end,omitempty"`
	// Days are the weekdays messages may go out ("mon" … "sun"); empty
	// means every day.
	Days []string `json:"days,omitempty"`
	// Holidays are local dates (YYYY-MM-DD) with no messages.
	Holidays []string `json:"holidays,omitempty"`
	// Spread spreads sends over the first Spread of the window, by a hash of
	// the invoice and step, so that thousands of invoices due the same day
	// do not all wake in the same second.
	Spread Duration `json:"spread,omitempty"`
}

// dayNames are the names Days accepts, indexed by time.Weekday.
var dayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// dayList is how errors list the day names: in the order of a working week.
const dayList = "mon, tue, wed, thu, fri, sat, sun"

// searchDays bounds how far ahead Next looks for a day on which messages
// may go out; a calendar that allows none in that time leaves t unchanged.
const searchDays = 400

const secondsPerDay = 24 * 60 * 60

// Validate reports the first problem, naming the field.
func (c Calendar) Validate() error {
	start, end := 0, secondsPerDay
	window := c.WindowStart != "" || c.WindowEnd != ""
	if window {
		if c.WindowStart == "" {
			return errors.New("window_start: must be set when window_end is (or leave both empty for any time of day)")
		}
		if c.WindowEnd == "" {
			return errors.New("window_end: must be set when window_start is (or leave both empty for any time of day)")
		}
		var ok bool
		if start, ok = parseClock(c.WindowStart, false); !ok {
			return fmt.Errorf("window_start: %q is not a time of day (HH:MM, 00:00 to 23:59)", c.WindowStart)
		}
		if end, ok = parseClock(c.WindowEnd, true); !ok {
			return fmt.Errorf("window_end: %q is not a time of day (HH:MM, 00:00 to 24:00)", c.WindowEnd)
		}
		if end <= start {
			return fmt.Errorf("window_end: %q must be after window_start %q (a window may not cross midnight)", c.WindowEnd, c.WindowStart)
		}
	}
	seen := [7]bool{}
	for i, name := range c.Days {
		wd, ok := parseDay(name)
		if !ok {
			return fmt.Errorf("days[%d]: unknown day %q (%s)", i, name, dayList)
		}
		if seen[wd] {
			return fmt.Errorf("days[%d]: %q is listed twice", i, name)
		}
		seen[wd] = true
	}
	for i, h := range c.Holidays {
		if _, ok := parseDate(h); !ok {
			return fmt.Errorf("holidays[%d]: %q is not a date (YYYY-MM-DD)", i, h)
		}
	}
	spread := c.Spread.Std()
	switch length := time.Duration(end-start) * time.Second; {
	case spread < 0:
		return fmt.Errorf("spread: %s must not be negative", c.Spread)
	case window && spread > length:
		return fmt.Errorf("spread: %s is longer than the window %s to %s (%s)", c.Spread, c.WindowStart, c.WindowEnd, D(length))
	case spread > length:
		return fmt.Errorf("spread: %s is longer than a day", c.Spread)
	}
	return nil
}

// Next returns the first moment at or after t at which a message may go out
// under c, in the time zone loc (nil means UTC), spread by key. The result is
// in UTC.
//
// The spread offset is an FNV-1a hash of key modulo Spread, in whole seconds.
// It is added to t; if that moment is on an allowed day (listed in Days, not
// a holiday) and inside the window, it is the answer. Otherwise the answer
// is the next window opening on an allowed day, plus the same offset (taken
// modulo the window's length, so that it stays inside the window).
//
// Window bounds are local wall-clock times, so a window keeps its local
// hours across daylight-saving changes. A window that opens in the hour
// skipped when the clocks go forward opens when they have (02:30 in a zone
// that jumps from 02:00 to 03:00 opens at 03:00); one that lies wholly in
// the skipped hour does not open that day. When the clocks go back and the
// opening time happens twice, the window opens at the first.
//
// Next never returns a moment before t. If no day within 400 days allows
// messages (every day a holiday), it returns t unchanged. Next does not
// validate c: bounds, days and holidays it cannot read are ignored.
func (c Calendar) Next(t time.Time, loc *time.Location, key string) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	r := c.compile()
	off := c.offset(key)
	cand := t.Add(off)
	local := cand.In(loc)
	if r.allows(local) {
		return cand.UTC()
	}
	y, m, d := local.Date()
	for i := 0; i <= searchDays; i++ {
		date := time.Date(y, m, d+i, 0, 0, 0, 0, time.UTC)
		if !r.dayAllowed(date) {
			continue
		}
		for _, open := range wallInstants(date, r.start, loc) {
			if !open.After(cand) || !r.inside(open.In(loc), date) {
				continue
			}
			return r.place(open, date, loc, off).UTC()
		}
	}
	return t
}

// offset is the spread offset for key: FNV-1a of key modulo Spread, in
// whole seconds.
func (c Calendar) offset(key string) time.Duration {
	if c.Spread <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	return time.Duration(h.Sum64() % uint64(c.Spread)).Truncate(time.Second)
}

// rules is a Calendar read for Next: the window as seconds since local
// midnight, the allowed weekdays and the holidays.
type rules struct {
	start, end int
	days       [7]bool
	holidays   map[string]bool
}

func (c Calendar) compile() rules {
	r := rules{start: 0, end: secondsPerDay}
	if s, ok := parseClock(c.WindowStart, false); ok {
		if e, ok := parseClock(c.WindowEnd, true); ok && s < e {
			r.start, r.end = s, e
		}
	}
	if len(c.Days) == 0 {
		r.days = [7]bool{true, true, true, true, true, true, true}
	}
	for _, name := range c.Days {
		if wd, ok := parseDay(name); ok {
			r.days[wd] = true
		}
	}
	for _, h := range c.Holidays {
		if date, ok := parseDate(h); ok {
			if r.holidays == nil {
				r.holidays = map[string]bool{}
			}
			r.holidays[date.Format(time.DateOnly)] = true
		}
	}
	return r
}

// dayAllowed reports whether messages may go out on a local date (given as
// midnight UTC of that date).
func (r rules) dayAllowed(date time.Time) bool {
	return r.days[date.Weekday()] && !r.holidays[date.Format(time.DateOnly)]
}

// inWindow reports whether a local time lies inside the window.
func (r rules) inWindow(local time.Time) bool {
	s := local.Hour()*3600 + local.Minute()*60 + local.Second()
	return s >= r.start && s < r.end
}

// allows reports whether a message may go out at a local time.
func (r rules) allows(local time.Time) bool {
	y, m, d := local.Date()
	return r.dayAllowed(time.Date(y, m, d, 0, 0, 0, 0, time.UTC)) && r.inWindow(local)
}

// inside reports whether a local time falls on the given local date and
// inside the window.
func (r rules) inside(local time.Time, date time.Time) bool {
	y, m, d := local.Date()
	dy, dm, dd := date.Date()
	return y == dy && m == dm && d == dd && r.inWindow(local)
}

// place adds the spread offset to a window opening on date, keeping the
// result inside that day's window.
func (r rules) place(open, date time.Time, loc *time.Location, off time.Duration) time.Time {
	if off <= 0 {
		return open
	}
	off %= time.Duration(r.end-r.start) * time.Second
	at := open.Add(off)
	if r.inside(at.In(loc), date) {
		return at
	}
	// The window is shorter than its wall-clock length today (the clocks
	// went forward inside it): spread over what there is of it.
	if closes := wallInstants(date, r.end, loc); len(closes) > 0 {
		if length := closes[0].Sub(open); length > 0 {
			at = open.Add(off % length)
			if r.inside(at.In(loc), date) {
				return at
			}
		}
	}
	return open
}

// wallInstants returns the instants at which the local wall clock in loc
// reads sec seconds after midnight on date (given as midnight UTC of that
// date; sec may be a whole day, meaning the next midnight), earliest first:
// one, or two when the clocks go back across it. When the clocks skip that
// reading, it returns the instant at which they stop skipping, the first
// whose reading is later.
func wallInstants(date time.Time, sec int, loc *time.Location) []time.Time {
	y, m, d := date.Date()
	want := time.Date(y, m, d, 0, 0, sec, 0, time.UTC)
	at := time.Date(y, m, d, 0, 0, sec, 0, loc)
	switch w := wallClock(at); {
	case w.Equal(want):
		out := []time.Time{at}
		_, own := at.Zone()
		start, end := at.ZoneBounds()
		var neighbours []time.Time
		if !start.IsZero() {
			neighbours = append(neighbours, start.Add(-time.Nanosecond))
		}
		if !end.IsZero() {
			neighbours = append(neighbours, end)
		}
		for _, n := range neighbours {
			if _, off := n.Zone(); off != own {
				alt := time.Unix(want.Unix()-int64(off), 0).In(loc)
				if wallClock(alt).Equal(want) && !alt.Equal(at) {
					out = append(out, alt)
				}
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
		return out
	case w.Before(want):
		// at lies before the jump: the jump is where at's zone ends.
		for i := 0; i < 4; i++ {
			_, end := at.ZoneBounds()
			if end.IsZero() {
				return nil
			}
			if !wallClock(end).Before(want) {
				return []time.Time{end}
			}
			at = end
		}
	default:
		// at lies after the jump: the jump is where at's zone starts.
		for i := 0; i < 4; i++ {
			start, _ := at.ZoneBounds()
			if start.IsZero() {
				return []time.Time{at}
			}
			if wallClock(start.Add(-time.Nanosecond)).Before(want) {
				return []time.Time{start}
			}
			at = start.Add(-time.Nanosecond)
		}
	}
	return nil
}

// wallClock returns the wall-clock reading of t in its own location, as a
// time in UTC, so that readings compare.
func wallClock(t time.Time) time.Time {
	y, m, d := t.Date()
	hh, mm, ss := t.Clock()
	return time.Date(y, m, d, hh, mm, ss, t.Nanosecond(), time.UTC)
}

// parseClock reads "HH:MM" as seconds since midnight; "24:00" only when
// allow24.
func parseClock(s string, allow24 bool) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	hh := int(s[0]-'0')*10 + int(s[1]-'0')
	mm := int(s[3]-'0')*10 + int(s[4]-'0')
	switch {
	case hh == 24 && mm == 0 && allow24:
	case hh > 23 || mm > 59:
		return 0, false
	}
	return hh*3600 + mm*60, true
}

func parseDay(name string) (time.Weekday, bool) {
	for wd, n := range dayNames {
		if n == name {
			return time.Weekday(wd), true
		}
	}
	return 0, false
}

// parseDate reads a YYYY-MM-DD date as midnight UTC.
func parseDate(s string) (time.Time, bool) {
	t, err := time.Parse(time.DateOnly, s)
	return t, err == nil && t.Format(time.DateOnly) == s
}
