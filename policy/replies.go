package policy

import (
	"fmt"
	"slices"
	"time"
)

// DefaultReplyHoldDays is how many business days a customer's reply holds
// the chase when the policy does not say.
const DefaultReplyHoldDays = 3

// MaxReplyHoldDays bounds reply_hold.
const MaxReplyHoldDays = 30

// PausesOnReply reports whether a customer's reply holds the chase
// (pause_on_reply, on unless set false).
func (p Policy) PausesOnReply() bool { return p.PauseOnReply == nil || *p.PauseOnReply }

// ReplyHoldUntil is when a hold that starts at from ends: reply_hold
// business days later at the same time of day in loc. Business days are the
// calendar's days (Monday to Friday when it names none) that are not its
// holidays.
func (p Policy) ReplyHoldUntil(from time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	n := p.ReplyHoldDays
	if n <= 0 {
		n = DefaultReplyHoldDays
	}
	days := p.Calendar.Days
	if len(days) == 0 {
		days = []string{"mon", "tue", "wed", "thu", "fri"}
	}
	local := from.In(loc)
	for i := 1; n > 0 && i <= 2*searchDays; i++ {
		d := local.AddDate(0, 0, i)
		if !slices.Contains(days, dayNames[d.Weekday()]) || slices.Contains(p.Calendar.Holidays, d.Format("2006-01-02")) {
			continue
		}
		n--
		if n == 0 {
			return d.UTC()
		}
	}
	return from.Add(time.Duration(max(p.ReplyHoldDays, DefaultReplyHoldDays)) * day) // a calendar with no business days
}

func (p Policy) validateReplyHold() error {
	if p.ReplyHoldDays < 0 || p.ReplyHoldDays > MaxReplyHoldDays {
		return fmt.Errorf("reply_hold: must be a number of business days from 1 to %d (0 or absent: %d)", MaxReplyHoldDays, DefaultReplyHoldDays)
	}
	return nil
}
