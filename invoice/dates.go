package invoice

import (
	"fmt"
	"time"
)

// DateRange is how far from today, either way, a date the engine schedules
// work on may lie: an invoice's issue and due dates, a promised date, the
// end of a pause, a new due date. Beyond it a date is a typing mistake (the
// year 2062 for 2026), and timers and schedule maths stay well away from the
// limits of time.Duration (about 292 years). docs/bounds.md lists it.
const DateRange = 3650 * 24 * time.Hour

// CheckDate reports a date further than DateRange from now, in words that
// follow the field's name ("due_at: ...").
func CheckDate(t, now time.Time) error {
	if d := t.Sub(now); d > DateRange || d < -DateRange {
		return fmt.Errorf("%s is more than %d days from today (%s)", t.UTC().Format(time.DateOnly),
			int(DateRange/(24*time.Hour)), now.UTC().Format(time.DateOnly))
	}
	return nil
}
