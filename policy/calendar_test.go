package policy

import (
	"fmt"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests must not depend on the machine's zoneinfo
)

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// at builds a wall-clock time in loc.
func at(loc *time.Location, y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, loc)
}

var weekdays = []string{"mon", "tue", "wed", "thu", "fri"}

func office() Calendar {
	return Calendar{WindowStart: "09:00", WindowEnd: "17:00", Days: weekdays}
}

func TestCalendarNext(t *testing.T) {
	utc := time.UTC
	berlin := mustLoc(t, "Europe/Berlin")
	ny := mustLoc(t, "America/New_York")
	holiday := office()
	holiday.Holidays = []string{"2026-05-25"} // a Monday
	everyDay := func(start, end string) Calendar { return Calendar{WindowStart: start, WindowEnd: end} }
	cases := []struct {
		name string
		cal  Calendar
		loc  *time.Location
		t    time.Time
		want time.Time
	}{
		{"zero calendar allows any moment", Calendar{}, nil,
			time.Date(2026, 3, 7, 3, 17, 5, 500, utc), time.Date(2026, 3, 7, 3, 17, 5, 500, utc)},
		{"days only: any time on an allowed day", Calendar{Days: weekdays}, utc,
			at(utc, 2026, 3, 6, 23, 59), at(utc, 2026, 3, 6, 23, 59)},
		{"days only: a weekend moves to Monday midnight", Calendar{Days: weekdays}, ny,
			at(ny, 2026, 3, 7, 12, 0), at(ny, 2026, 3, 9, 0, 0)},
		{"inside the window: unchanged", office(), utc,
			at(utc, 2026, 1, 14, 10, 30), at(utc, 2026, 1, 14, 10, 30)},
		{"at the window start: unchanged", office(), utc,
			at(utc, 2026, 1, 14, 9, 0), at(utc, 2026, 1, 14, 9, 0)},
		{"last second of the window: unchanged", office(), utc,
			time.Date(2026, 1, 14, 16, 59, 59, 999, utc), time.Date(2026, 1, 14, 16, 59, 59, 999, utc)},
		{"before the window: same day's start", office(), utc,
			at(utc, 2026, 1, 14, 7, 0), at(utc, 2026, 1, 14, 9, 0)},
		{"at the window end: next day's start", office(), utc,
			at(utc, 2026, 1, 14, 17, 0), at(utc, 2026, 1, 15, 9, 0)},
		{"after the window: next day's start", office(), utc,
			at(utc, 2026, 1, 14, 20, 15), at(utc, 2026, 1, 15, 9, 0)},
		{"Friday evening: Monday morning", office(), utc,
			at(utc, 2026, 3, 6, 18, 0), at(utc, 2026, 3, 9, 9, 0)},
		{"Saturday: Monday morning", office(), utc,
			at(utc, 2026, 3, 7, 12, 0), at(utc, 2026, 3, 9, 9, 0)},
		{"Sunday night: Monday morning", office(), utc,
			at(utc, 2026, 3, 8, 23, 59), at(utc, 2026, 3, 9, 9, 0)},
		{"Friday evening before a Monday holiday: Tuesday", holiday, utc,
			at(utc, 2026, 5, 22, 18, 0), at(utc, 2026, 5, 26, 9, 0)},
		{"on a Monday holiday: Tuesday", holiday, utc,
			at(utc, 2026, 5, 25, 10, 0), at(utc, 2026, 5, 26, 9, 0)},
		{"window up to midnight", everyDay("18:00", "24:00"), utc,
			time.Date(2026, 1, 14, 23, 59, 59, 0, utc), time.Date(2026, 1, 14, 23, 59, 59, 0, utc)},
		{"window up to midnight, before it", everyDay("18:00", "24:00"), utc,
			at(utc, 2026, 1, 15, 0, 0), at(utc, 2026, 1, 15, 18, 0)},

		// A customer in Berlin, the instant given in UTC.
		{"Berlin winter: 07:00 CET opens at 09:00 CET", office(), berlin,
			time.Date(2026, 1, 14, 6, 0, 0, 0, utc), time.Date(2026, 1, 14, 8, 0, 0, 0, utc)},
		{"Berlin winter: 16:30 CET is inside", office(), berlin,
			time.Date(2026, 1, 14, 15, 30, 0, 0, utc), time.Date(2026, 1, 14, 15, 30, 0, 0, utc)},
		{"Berlin winter: 17:00 CET waits for tomorrow", office(), berlin,
			time.Date(2026, 1, 14, 16, 0, 0, 0, utc), time.Date(2026, 1, 15, 8, 0, 0, 0, utc)},
		{"Berlin summer: 08:00 CEST opens at 09:00 CEST", office(), berlin,
			time.Date(2026, 7, 15, 6, 0, 0, 0, utc), time.Date(2026, 7, 15, 7, 0, 0, 0, utc)},
		{"Berlin summer: 16:59 CEST is inside", office(), berlin,
			time.Date(2026, 7, 15, 14, 59, 0, 0, utc), time.Date(2026, 7, 15, 14, 59, 0, 0, utc)},
		{"Berlin summer: 17:00 CEST waits for tomorrow", office(), berlin,
			time.Date(2026, 7, 15, 15, 0, 0, 0, utc), time.Date(2026, 7, 16, 7, 0, 0, 0, utc)},
		{"Berlin: 08:30 UTC is 09:30 CET but 10:30 CEST", office(), berlin,
			time.Date(2026, 1, 14, 8, 30, 0, 0, utc), time.Date(2026, 1, 14, 8, 30, 0, 0, utc)},

		// New York springs forward on 2026-03-08: 02:00 EST becomes 03:00 EDT.
		{"spring forward: a window opening in the missing hour opens at 03:00 EDT", everyDay("02:30", "05:00"), ny,
			at(ny, 2026, 3, 8, 1, 0), time.Date(2026, 3, 8, 7, 0, 0, 0, utc)},
		{"spring forward: 03:30 EDT is inside a window from 02:30", everyDay("02:30", "05:00"), ny,
			at(ny, 2026, 3, 8, 3, 30), at(ny, 2026, 3, 8, 3, 30)},
		{"spring forward: a window wholly in the missing hour skips the day", everyDay("02:00", "02:59"), ny,
			at(ny, 2026, 3, 8, 0, 0), at(ny, 2026, 3, 9, 2, 0)},
		{"spring forward: a step in the night opens at 09:00 EDT", everyDay("09:00", "17:00"), ny,
			time.Date(2026, 3, 8, 6, 59, 0, 0, utc), time.Date(2026, 3, 8, 13, 0, 0, 0, utc)},
		{"spring forward, weekdays: Monday 09:00 EDT", office(), ny,
			at(ny, 2026, 3, 6, 18, 0), time.Date(2026, 3, 9, 13, 0, 0, 0, utc)},

		// New York falls back on 2026-11-01: 02:00 EDT becomes 01:00 EST.
		{"fall back: a window from 01:30 opens at the first 01:30", everyDay("01:30", "03:00"), ny,
			at(ny, 2026, 11, 1, 0, 0), time.Date(2026, 11, 1, 5, 30, 0, 0, utc)},
		{"fall back: 01:45 EDT is inside", everyDay("01:30", "03:00"), ny,
			time.Date(2026, 11, 1, 5, 45, 0, 0, utc), time.Date(2026, 11, 1, 5, 45, 0, 0, utc)},
		{"fall back: 01:10 EST is before the second 01:30", everyDay("01:30", "03:00"), ny,
			time.Date(2026, 11, 1, 6, 10, 0, 0, utc), time.Date(2026, 11, 1, 6, 30, 0, 0, utc)},
		{"fall back: a step in the repeated hour opens at 09:00 EST", everyDay("09:00", "17:00"), ny,
			time.Date(2026, 11, 1, 6, 30, 0, 0, utc), time.Date(2026, 11, 1, 14, 0, 0, 0, utc)},
		{"fall back, weekdays: Monday 09:00 EST", office(), ny,
			at(ny, 2026, 10, 30, 18, 0), time.Date(2026, 11, 2, 14, 0, 0, 0, utc)},

		// Berlin's clocks change at 02:00/03:00 local too; Go resolves the
		// missing and repeated readings the other way round from New York's.
		{"Berlin spring forward: a window from 02:30 opens at 03:00 CEST", everyDay("02:30", "05:00"), berlin,
			at(berlin, 2026, 3, 29, 0, 0), time.Date(2026, 3, 29, 1, 0, 0, 0, utc)},
		{"Berlin fall back: a window from 02:30 opens at the first 02:30", everyDay("02:30", "04:00"), berlin,
			at(berlin, 2026, 10, 25, 0, 30), time.Date(2026, 10, 25, 0, 30, 0, 0, utc)},

		{"every day a holiday: unchanged", Calendar{Days: []string{"mon"}, Holidays: mondays(2026, 1, 5, 60)}, utc,
			at(utc, 2026, 1, 6, 12, 0), at(utc, 2026, 1, 6, 12, 0)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cal.Validate(); err != nil {
				t.Fatalf("calendar invalid: %v", err)
			}
			got := tc.cal.Next(tc.t, tc.loc, "key")
			if !got.Equal(tc.want) {
				loc := tc.loc
				if loc == nil {
					loc = time.UTC
				}
				t.Fatalf("Next(%s) = %s, want %s", tc.t.In(loc), got.In(loc), tc.want.In(loc))
			}
			if got.Location() != time.UTC {
				t.Fatalf("result in %s, want UTC", got.Location())
			}
		})
	}
}

// mondays lists n Mondays from the given one, as holidays.
func mondays(y int, m time.Month, d, n int) []string {
	var out []string
	for i := 0; i < n; i++ {
		out = append(out, time.Date(y, m, d+7*i, 0, 0, 0, 0, time.UTC).Format(time.DateOnly))
	}
	return out
}

// Steps a local day apart stay a local day apart across a clock change: the
// same wall-clock time on consecutive dates, 23 or 25 hours apart, none
// skipped and none doubled.
func TestCalendarNextAcrossClockChanges(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	cal := Calendar{WindowStart: "09:00", WindowEnd: "17:00", Spread: D(2 * time.Hour)}
	for _, tc := range []struct {
		name  string
		first time.Time
		span  time.Duration // between the results across the change
	}{
		{"spring forward", at(ny, 2026, 3, 6, 7, 0), 23 * time.Hour},
		{"fall back", at(ny, 2026, 10, 30, 7, 0), 25 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, key := range []string{"inv-1/remind", "inv-2/remind", "inv-3/inquire"} {
				var prev time.Time
				for i := 0; i < 4; i++ {
					step := tc.first.AddDate(0, 0, i) // 07:00 local each day
					got := cal.Next(step, ny, key).In(ny)
					if i == 0 {
						prev = got
						continue
					}
					if want := prev.AddDate(0, 0, 1); !got.Equal(want) || got.Day() != step.Day() {
						t.Fatalf("%s: day %d at %s, want %s", key, i, got, want)
					}
					if i == 2 && got.Sub(prev) != tc.span {
						t.Fatalf("%s: %s across the change, want %s", key, got.Sub(prev), tc.span)
					}
					prev = got
				}
			}
		})
	}
}

func TestCalendarSpread(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	cal := Standard().Calendar // 09:00-17:00 weekdays, spread 2h
	monday := at(berlin, 2026, 3, 9, 6, 0)

	a1 := cal.Next(monday, berlin, "inv-1/remind")
	a2 := cal.Next(monday, berlin, "inv-1/remind")
	if !a1.Equal(a2) {
		t.Fatalf("same key, different results: %s, %s", a1, a2)
	}
	// The offset belongs to the key: the same inside the window, any day.
	inside := at(berlin, 2026, 3, 11, 9, 30)
	if got, want := cal.Next(inside, berlin, "inv-1/remind").Sub(inside), a1.Sub(at(berlin, 2026, 3, 9, 9, 0)); got != want {
		t.Fatalf("offset %s inside the window, %s at its start", got, want)
	}

	lo, hi := time.Time{}, time.Time{}
	distinct := map[time.Time]bool{}
	for i := 0; i < 1000; i++ {
		got := cal.Next(monday, berlin, fmt.Sprintf("inv-%d/remind", i)).In(berlin)
		if got.Before(at(berlin, 2026, 3, 9, 9, 0)) || !got.Before(at(berlin, 2026, 3, 9, 11, 0)) {
			t.Fatalf("key %d at %s, want inside [09:00, 11:00) that Monday", i, got)
		}
		if got.Nanosecond() != 0 {
			t.Fatalf("key %d at %s: offsets are whole seconds", i, got)
		}
		if lo.IsZero() || got.Before(lo) {
			lo = got
		}
		if hi.IsZero() || got.After(hi) {
			hi = got
		}
		distinct[got] = true
	}
	if hi.Sub(lo) < 105*time.Minute {
		t.Fatalf("1,000 keys spread over %s (%s to %s), want at least 1h45m", hi.Sub(lo), lo, hi)
	}
	if len(distinct) < 900 {
		t.Fatalf("1,000 keys at only %d distinct moments", len(distinct))
	}

	// The spread applies inside the window too, and a spread equal to the
	// window keeps everything inside it.
	whole := Calendar{WindowStart: "09:00", WindowEnd: "11:00", Spread: D(2 * time.Hour)}
	window := Calendar{WindowStart: whole.WindowStart, WindowEnd: whole.WindowEnd}
	for i := 0; i < 1000; i++ {
		start := at(berlin, 2026, 3, 9, 10, 59)
		got := whole.Next(start, berlin, fmt.Sprintf("k%d", i)).In(berlin)
		if got.Before(start) || !window.Next(got, berlin, "").Equal(got) {
			t.Fatalf("key %d at %s: outside the window", i, got)
		}
	}
}

// On the spring-forward day a window from 01:00 to 04:00 lasts two hours; a
// spread of three hours must still land inside it.
func TestCalendarSpreadInAShortenedWindow(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	cal := Calendar{WindowStart: "01:00", WindowEnd: "04:00", Spread: D(3 * time.Hour)}
	shortened := 0
	for i := 0; i < 1000; i++ {
		key := fmt.Sprintf("k%d", i)
		got := cal.Next(at(ny, 2026, 3, 8, 0, 0), ny, key).In(ny)
		if got.Day() != 8 || got.Hour() < 1 || got.Hour() >= 4 {
			t.Fatalf("%s at %s, want inside 01:00-04:00 on the 8th", key, got)
		}
		if cal.offset(key) >= 2*time.Hour {
			shortened++
		}
	}
	if shortened == 0 {
		t.Fatal("no key needed the shortened window")
	}
}

// Next(t) >= t for every t, and Next(Next(t)) == Next(t) without a spread.
func TestCalendarNextProperties(t *testing.T) {
	zones := []string{"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Pacific/Apia", "America/Santiago", "Asia/Kathmandu"}
	cals := []Calendar{
		{},
		office(),
		{WindowStart: "00:00", WindowEnd: "00:30"},
		{WindowStart: "02:00", WindowEnd: "03:00", Days: []string{"sun"}},
		{WindowStart: "23:00", WindowEnd: "24:00", Holidays: []string{"2026-03-08", "2026-11-01"}},
		{Days: []string{"sat", "sun"}},
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, zone := range zones {
		loc := mustLoc(t, zone)
		for ci, cal := range cals {
			for tt := start; tt.Before(start.AddDate(1, 0, 0)); tt = tt.Add(97 * time.Minute) {
				got := cal.Next(tt, loc, "k")
				if got.Before(tt) {
					t.Fatalf("%s cal %d: Next(%s) = %s, before it", zone, ci, tt, got)
				}
				if again := cal.Next(got, loc, "k"); !again.Equal(got) {
					t.Fatalf("%s cal %d: Next(%s) = %s but Next of that = %s", zone, ci, tt, got, again)
				}
			}
		}
	}
}

func TestCalendarValidate(t *testing.T) {
	valid := []Calendar{
		{},
		office(),
		Standard().Calendar,
		{WindowStart: "00:00", WindowEnd: "24:00", Spread: D(24 * time.Hour)},
		{WindowStart: "09:00", WindowEnd: "11:00", Spread: D(2 * time.Hour)},
		{Spread: D(24 * time.Hour)},
		{Days: []string{"sun"}, Holidays: []string{"2026-12-25", "2028-02-29"}},
	}
	for i, c := range valid {
		if err := c.Validate(); err != nil {
			t.Errorf("valid[%d]: %v", i, err)
		}
	}
	cases := []struct {
		name string
		cal  Calendar
		want string
	}{
		{"start without end", Calendar{WindowStart: "09:00"}, "window_end: must be set"},
		{"end without start", Calendar{WindowEnd: "17:00"}, "window_start: must be set"},
		{"start not HH:MM", Calendar{WindowStart: "9:00", WindowEnd: "17:00"}, `window_start: "9:00" is not a time of day`},
		{"start 24:00", Calendar{WindowStart: "24:00", WindowEnd: "24:00"}, `window_start: "24:00" is not a time of day`},
		{"start minutes", Calendar{WindowStart: "09:60", WindowEnd: "17:00"}, `window_start: "09:60"`},
		{"end hours", Calendar{WindowStart: "09:00", WindowEnd: "25:00"}, `window_end: "25:00" is not a time of day`},
		{"end 24:30", Calendar{WindowStart: "09:00", WindowEnd: "24:30"}, `window_end: "24:30"`},
		{"end not HH:MM", Calendar{WindowStart: "09:00", WindowEnd: "5pm"}, `window_end: "5pm"`},
		{"across midnight", Calendar{WindowStart: "22:00", WindowEnd: "06:00"}, `window_end: "06:00" must be after window_start "22:00"`},
		{"empty window", Calendar{WindowStart: "09:00", WindowEnd: "09:00"}, "window_end:"},
		{"unknown day", Calendar{Days: []string{"mon", "tue", "fry"}}, `days[2]: unknown day "fry" (mon, tue, wed, thu, fri, sat, sun)`},
		{"capitalised day", Calendar{Days: []string{"Mon"}}, `days[0]: unknown day "Mon"`},
		{"empty day", Calendar{Days: []string{""}}, `days[0]: unknown day ""`},
		{"day twice", Calendar{Days: []string{"mon", "tue", "mon"}}, `days[2]: "mon" is listed twice`},
		{"month 13", Calendar{Holidays: []string{"2026-13-01"}}, `holidays[0]: "2026-13-01" is not a date (YYYY-MM-DD)`},
		{"February 30", Calendar{Holidays: []string{"2026-12-25", "2026-02-30"}}, `holidays[1]: "2026-02-30"`},
		{"short year", Calendar{Holidays: []string{"26-12-25"}}, `holidays[0]: "26-12-25"`},
		{"date and time", Calendar{Holidays: []string{"2026-12-25T00:00:00Z"}}, `holidays[0]:`},
		{"negative spread", Calendar{Spread: D(-time.Hour)}, "spread: -1h0m0s must not be negative"},
		{"spread longer than the window", Calendar{WindowStart: "09:00", WindowEnd: "11:00", Spread: D(2*time.Hour + time.Second)},
			"spread: 2h0m1s is longer than the window 09:00 to 11:00 (2h0m0s)"},
		{"spread longer than a day", Calendar{Spread: D(25 * time.Hour)}, "spread: 1d1h0m0s is longer than a day"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cal.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want it to mention %q", err, tc.want)
			}
		})
	}
	p := Standard()
	p.Calendar.Days = []string{"mon", "tue", "fry"}
	if err := p.Validate(); err == nil || !strings.HasPrefix(err.Error(), "calendar.days[2]: ") {
		t.Fatalf("policy: %v, want calendar.days[2]", err)
	}
}

func FuzzCalendarNext(f *testing.F) {
	f.Add(int64(1773000000), int64(0), uint16(540), uint16(480), uint8(0b0111110), int16(-1), uint32(7200), uint8(0), "inv-1/remind")
	f.Add(int64(1772949600), int64(5), uint16(150), uint16(150), uint8(0), int16(0), uint32(0), uint8(2), "k")
	f.Add(int64(1793512800), int64(999999999), uint16(90), uint16(90), uint8(0b1), int16(3), uint32(5400), uint8(2), "")
	f.Add(int64(1774742400), int64(0), uint16(150), uint16(30), uint8(0x7f), int16(-2), uint32(1800), uint8(1), "x")
	f.Add(int64(1325203200), int64(0), uint16(0), uint16(1439), uint8(0), int16(1), uint32(86400), uint8(4), "apia")
	zones := []*time.Location{time.UTC, mustLoc(f, "Europe/Berlin"), mustLoc(f, "America/New_York"),
		mustLoc(f, "Australia/Lord_Howe"), mustLoc(f, "Pacific/Apia"), mustLoc(f, "America/Santiago"),
		mustLoc(f, "Asia/Kathmandu"), mustLoc(f, "Europe/Amsterdam"), mustLoc(f, "Africa/Casablanca")}
	f.Fuzz(func(t *testing.T, unix, nsec int64, startMin, lenMin uint16, days uint8, holiday int16, spreadSec uint32, zone uint8, key string) {
		// 1900 to 2200, any nanosecond.
		const lo, span = -2208988800, 9467107200
		unix = lo + ((unix%span)+span)%span
		tt := time.Unix(unix, ((nsec%1e9)+1e9)%1e9)
		loc := zones[int(zone)%len(zones)]
		days &= 0x7f

		start := int(startMin) % 1440
		end := start + 1 + int(lenMin)%(1440-start)
		cal := Calendar{
			WindowStart: fmt.Sprintf("%02d:%02d", start/60, start%60),
			WindowEnd:   fmt.Sprintf("%02d:%02d", end/60, end%60),
			Spread:      D(time.Duration(int(spreadSec)%((end-start)*60+1)) * time.Second),
		}
		for wd := 0; wd < 7; wd++ {
			if days&(1<<wd) != 0 {
				cal.Days = append(cal.Days, dayNames[wd])
			}
		}
		if holiday >= 0 {
			y, m, d := tt.In(loc).Date()
			cal.Holidays = []string{time.Date(y, m, d+int(holiday)%10, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)}
		}
		if err := cal.Validate(); err != nil {
			t.Fatalf("%+v: %v", cal, err)
		}

		checkNext(t, cal, loc, tt, key)
	})
}

// allowedAt says independently of Next whether cal allows a message at a
// moment, in loc.
func allowedAt(cal Calendar, loc *time.Location, tt time.Time) bool {
	local := tt.In(loc)
	if cal.WindowStart != "" {
		clock := local.Format("15:04:05")
		end := cal.WindowEnd + ":00"
		if end == "24:00:00" {
			end = "24"
		}
		if clock < cal.WindowStart+":00" || clock >= end {
			return false
		}
	}
	if len(cal.Days) > 0 {
		found := false
		for _, d := range cal.Days {
			found = found || strings.EqualFold(d, local.Weekday().String()[:3])
		}
		if !found {
			return false
		}
	}
	for _, h := range cal.Holidays {
		if h == local.Format(time.DateOnly) {
			return false
		}
	}
	return true
}

// checkNext checks Next(tt) for a calendar that allows some day within 400
// days: at or after tt, allowed, and without a spread a fixed point that is
// tt itself or the moment a window opens.
func checkNext(t testing.TB, cal Calendar, loc *time.Location, tt time.Time, key string) {
	t.Helper()
	got := cal.Next(tt, loc, key)
	if got.Before(tt) {
		t.Fatalf("%+v in %s: Next(%s) = %s, before it", cal, loc, tt.In(loc), got.In(loc))
	}
	if !allowedAt(cal, loc, got) {
		t.Fatalf("%+v in %s: Next(%s) = %s, not allowed", cal, loc, tt.In(loc), got.In(loc))
	}
	if cal.Spread != 0 {
		return
	}
	if again := cal.Next(got, loc, key); !again.Equal(got) {
		t.Fatalf("%+v in %s: Next(%s) = %s, Next of that = %s", cal, loc, tt.In(loc), got.In(loc), again.In(loc))
	}
	if allowedAt(cal, loc, tt) != got.Equal(tt) {
		t.Fatalf("%+v in %s: Next(%s) = %s, but it is allowed", cal, loc, tt.In(loc), got.In(loc))
	}
	if before := got.Add(-time.Second); !got.Equal(tt) && !before.Before(tt) && allowedAt(cal, loc, before) {
		t.Fatalf("%+v in %s: Next(%s) = %s, but a second earlier was allowed", cal, loc, tt.In(loc), got.In(loc))
	}
}

// Around every clock change of 2026 (and Samoa's skipped day in 2011), for
// windows opening every half hour, Next behaves.
func TestCalendarNextAroundClockChanges(t *testing.T) {
	for _, zone := range []struct {
		name string
		year int
	}{
		{"Europe/Berlin", 2026}, {"America/New_York", 2026}, {"Australia/Lord_Howe", 2026}, // 30-minute change
		{"America/Santiago", 2026}, {"America/Havana", 2026}, // change at midnight
		{"Africa/Casablanca", 2026}, {"Pacific/Apia", 2011}, // skipped a whole day
	} {
		name, year := zone.name, zone.year
		loc := mustLoc(t, name)
		from := time.Date(year, 1, 1, 0, 0, 0, 0, loc)
		var changes []time.Time
		for _, end := from.ZoneBounds(); !end.IsZero() && end.Year() == year; _, end = end.ZoneBounds() {
			changes = append(changes, end)
		}
		if len(changes) == 0 {
			t.Fatalf("%s: no clock changes in %d", name, year)
		}
		for _, change := range changes {
			for start := 0; start < 24*60; start += 30 {
				for _, length := range []int{30, 60, 90, 180, 24*60 - start} {
					end := min(start+length, 24*60)
					cal := Calendar{WindowStart: fmt.Sprintf("%02d:%02d", start/60, start%60), WindowEnd: fmt.Sprintf("%02d:%02d", end/60, end%60)}
					for i, tt := 0, change.Add(-30*time.Hour); tt.Before(change.Add(30 * time.Hour)); i, tt = i+1, tt.Add(25*time.Minute) {
						checkNext(t, cal, loc, tt, "k")
						if i%5 != 0 {
							continue
						}
						// Nothing in between was allowed: every window here
						// lasts 30 minutes or more and clocks change on the
						// quarter hour, so 5-minute marks find any.
						got := cal.Next(tt, loc, "k")
						for m := tt.Truncate(5 * time.Minute).Add(5 * time.Minute); m.Before(got); m = m.Add(5 * time.Minute) {
							h, mm, _ := m.In(loc).Clock()
							if c := h*60 + mm; c >= start && c < end {
								t.Fatalf("%+v in %s: Next(%s) = %s, but %s was allowed", cal, loc, tt.In(loc), got.In(loc), m.In(loc))
							}
						}
					}
					cal.Spread = D(time.Duration(end-start) * time.Minute)
					for i := 0; i < 20; i++ {
						checkNext(t, cal, loc, change.Add(time.Duration(i-10)*time.Hour), fmt.Sprint(i))
					}
				}
			}
		}
	}
}
