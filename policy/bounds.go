package policy

import (
	"fmt"
	"time"
	"unicode/utf8"
)

// Bounds on everything in a policy that sizes the work an invoice's workflow
// does. Validate refuses a policy beyond any of them, naming the field; the
// workflow checks them again (CheckBounds) before it runs a policy, so that
// one stored before they existed fails its invoice clearly instead of
// failing workflow tasks. docs/bounds.md lists them.
const (
	// MaxSteps is the most steps a policy may list.
	MaxSteps = 50
	// MaxOccurrences is the most occurrences a policy may schedule for one
	// invoice: every step once, plus every repeat.
	MaxOccurrences = 200
	// MinRepeatEvery is the shortest interval between a step's repeats.
	MinRepeatEvery = time.Minute
	// MaxSpan bounds every duration in a policy: a step's offset, the last
	// of its repeats measured from its anchor, the deadlines, the grace and
	// the contact cap's period (the same 3,650 days ParseDuration allows
	// for the days of a duration).
	MaxSpan = 3650 * day
	// MaxHolidays is the most holidays a calendar may list.
	MaxHolidays = 1000
	// MaxNameLength bounds a policy's name, a step's id and a task step's
	// task; MaxDescriptionLength its description (in characters).
	MaxNameLength        = 100
	MaxDescriptionLength = 2000
)

// CheckBounds reports the first bound the policy exceeds, naming the field.
// It costs one pass over the steps, however many repeats they ask for.
func (p Policy) CheckBounds() error {
	if n := utf8.RuneCountInString(p.Name); n > MaxNameLength {
		return fmt.Errorf("name: is %d characters long; at most %d", n, MaxNameLength)
	}
	if n := utf8.RuneCountInString(p.Description); n > MaxDescriptionLength {
		return fmt.Errorf("description: is %d characters long; at most %d", n, MaxDescriptionLength)
	}
	if len(p.Steps) > MaxSteps {
		return fmt.Errorf("steps: %d steps; a policy has at most %d", len(p.Steps), MaxSteps)
	}
	total := 0
	for i, s := range p.Steps {
		at := fmt.Sprintf("steps[%d]", i)
		if n := utf8.RuneCountInString(s.ID); n > MaxNameLength {
			return fmt.Errorf("%s.id: is %d characters long; at most %d", at, n, MaxNameLength)
		}
		if n := utf8.RuneCountInString(s.Task); n > MaxNameLength {
			return fmt.Errorf("%s.task: is %d characters long; at most %d", at, n, MaxNameLength)
		}
		if err := span(at+".offset", s.Offset); err != nil {
			return err
		}
		total++
		if r := s.Repeat; r != nil {
			if r.Times > MaxOccurrences-total {
				return fmt.Errorf("%s.repeat.times: %d repeats would schedule more than %d occurrences for one invoice (steps and repeats together); at most %d more here",
					at, r.Times, MaxOccurrences, max(MaxOccurrences-total, 0))
			}
			if r.Every.Std() > 0 && r.Every.Std() < MinRepeatEvery {
				return fmt.Errorf("%s.repeat.every: %s is shorter than the shortest interval between repeats, %s", at, r.Every, D(MinRepeatEvery))
			}
			if err := span(at+".repeat.every", r.Every); err != nil {
				return err
			}
			if r.Times > 0 {
				// In floating point: the product may not fit a Duration.
				last := float64(s.Offset) + float64(r.Times)*float64(r.Every)
				if last > float64(MaxSpan) || last < -float64(MaxSpan) {
					return fmt.Errorf("%s.repeat: the last repeat falls %.0f days from the %s date; at most %s", at, last/float64(day), s.Anchor, D(MaxSpan))
				}
				total += r.Times
			}
		}
	}
	for _, d := range []struct {
		field string
		v     Duration
	}{
		{"final_notice_deadline", p.FinalNoticeDeadline},
		{"dispute_deadline", p.DisputeDeadline},
		{"promise_grace", p.PromiseGrace},
		{"calendar.spread", p.Calendar.Spread},
	} {
		if err := span(d.field, d.v); err != nil {
			return err
		}
	}
	if c := p.ContactCap; c != nil {
		if err := span("contact_cap.per", c.Per); err != nil {
			return err
		}
	}
	if n := len(p.Calendar.Holidays); n > MaxHolidays {
		return fmt.Errorf("calendar.holidays: %d dates; at most %d", n, MaxHolidays)
	}
	return nil
}

// span refuses a duration further than MaxSpan either way.
func span(field string, d Duration) error {
	if d.Std() > MaxSpan || d.Std() < -MaxSpan {
		return fmt.Errorf("%s: %s is further than %s", field, d, D(MaxSpan))
	}
	return nil
}

// Occurrences is how many occurrences the policy schedules for one invoice,
// counted without building them; a policy that asks for more than
// MaxOccurrences counts as MaxOccurrences+1.
func (p Policy) Occurrences() int {
	n := 0
	for _, s := range p.Steps {
		n++
		if s.Repeat != nil && s.Repeat.Times > 0 {
			n += min(s.Repeat.Times, MaxOccurrences+1)
		}
		if n > MaxOccurrences {
			return MaxOccurrences + 1
		}
	}
	return n
}
