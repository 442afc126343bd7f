package policy

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// PaymentPlans is a policy's optional section on payment plans: the bounds
// within which a plan proposed for an invoice is agreed at once. A plan
// outside them, or any plan when RequireApproval is set, waits for the
// account manager's approval instead. A policy without the section uses
// DefaultPaymentPlans.
type PaymentPlans struct {
	// MaxInstalments is the most instalments a plan agreed at once may have.
	MaxInstalments int `json:"max_instalments"`
	// MaxLength is the longest a plan agreed at once may run: from the day
	// it is proposed to its last instalment's date.
	MaxLength Duration `json:"max_length"`
	// MinInstalmentMinor is the smallest instalment of a plan agreed at
	// once, in minor units of the invoice's currency (0: no minimum).
	MinInstalmentMinor int `json:"min_instalment_minor"`
	// RequireApproval sends every plan to the account manager.
	RequireApproval bool `json:"require_approval"`
	// ReminderBefore is how long before each instalment's date its
	// reminder goes out.
	ReminderBefore Duration `json:"reminder_before"`
	// Grace is how long after an instalment's date a payment still keeps
	// the plan: the customer gets a friendly message when the date passes
	// unpaid, and the plan breaks when the grace ends unpaid.
	Grace Duration `json:"grace"`
}

// DefaultPaymentPlans are the bounds of a policy without a payment_plans
// section: up to 12 instalments over at most a year, no minimum, no
// approval needed within them, a reminder 3 days before each date and 3
// days' grace.
func DefaultPaymentPlans() PaymentPlans {
	return PaymentPlans{MaxInstalments: 12, MaxLength: D(365 * day), ReminderBefore: D(3 * day), Grace: D(3 * day)}
}

// Plans returns the policy's payment-plan section, or the defaults.
func (p Policy) Plans() PaymentPlans {
	if p.PaymentPlans != nil {
		return *p.PaymentPlans
	}
	return DefaultPaymentPlans()
}

// MaxPlanInstalments is the engine's own bound on a plan's instalments,
// whatever a policy allows with approval: it sizes the work one invoice's
// workflow does (docs/bounds.md).
const MaxPlanInstalments = 60

// validate reports the first problem with the section, naming the field.
func (pp PaymentPlans) validate() error {
	switch {
	case pp.MaxInstalments < 2 || pp.MaxInstalments > MaxPlanInstalments:
		return fmt.Errorf("payment_plans.max_instalments: must be from 2 to %d", MaxPlanInstalments)
	case pp.MaxLength.Std() <= 0:
		return errors.New("payment_plans.max_length: must be positive")
	case pp.MinInstalmentMinor < 0:
		return errors.New("payment_plans.min_instalment_minor: must not be negative")
	case pp.ReminderBefore.Std() < 0:
		return errors.New("payment_plans.reminder_before: must not be negative")
	case pp.Grace.Std() < 0:
		return errors.New("payment_plans.grace: must not be negative")
	}
	for _, d := range []struct {
		field string
		v     Duration
	}{{"payment_plans.max_length", pp.MaxLength}, {"payment_plans.reminder_before", pp.ReminderBefore}, {"payment_plans.grace", pp.Grace}} {
		if err := span(d.field, d.v); err != nil {
			return err
		}
	}
	return nil
}

// Period is how far apart a plan's instalments fall: whole calendar months
// plus a fixed duration.
type Period struct {
	Months   int
	Duration time.Duration
}

// ParsePeriod reads a plan's "every": "1 month", "3 months", "2 weeks",
// "10 days", "1 week" (a number and a unit: day, week or month, singular or
// plural), or a duration as policies write them ("14d", "36h", "30s").
func ParsePeriod(s string) (Period, error) {
	in := strings.TrimSpace(strings.ToLower(s))
	if in == "" {
		return Period{}, errors.New("is required: such as \"1 month\", \"2 weeks\" or \"14d\"")
	}
	if n, unit, ok := strings.Cut(in, " "); ok {
		count, err := strconv.Atoi(strings.TrimSpace(n))
		if err != nil || count < 1 || count > 120 {
			return Period{}, fmt.Errorf("%q: the number must be a whole number from 1 to 120", s)
		}
		switch strings.TrimSuffix(strings.TrimSpace(unit), "s") {
		case "day":
			return Period{Duration: time.Duration(count) * day}, nil
		case "week":
			return Period{Duration: time.Duration(count) * 7 * day}, nil
		case "month":
			return Period{Months: count}, nil
		}
		return Period{}, fmt.Errorf("%q: the unit must be days, weeks or months", s)
	}
	d, err := ParseDuration(in)
	if err != nil {
		return Period{}, fmt.Errorf("%q is neither a period such as \"1 month\" or \"2 weeks\" nor a duration such as \"14d\"", s)
	}
	if d.Std() <= 0 {
		return Period{}, fmt.Errorf("%q: must be positive", s)
	}
	return Period{Duration: d.Std()}, nil
}

// Nth is the n-th date (0 is first) a period apart from first. Months are
// calendar months counted from first, kept to the month's last day when
// first's day does not exist in it (31 January, then 28 February, then 31
// March).
func (p Period) Nth(first time.Time, n int) time.Time {
	t := first
	if p.Months != 0 {
		y, m, d := first.Date()
		target := time.Date(y, m+time.Month(n*p.Months), 1, 0, 0, 0, 0, first.Location())
		last := target.AddDate(0, 1, -1).Day()
		t = time.Date(target.Year(), target.Month(), min(d, last), first.Hour(), first.Minute(), first.Second(), first.Nanosecond(), first.Location())
	}
	return t.Add(time.Duration(n) * p.Duration)
}
