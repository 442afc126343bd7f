package policy_test

import (
	"strings"
	"testing"
	"time"

	"github.com/collections-engine/collections/policy"
)

func TestPaymentPlansSectionIsValidatedNamingTheField(t *testing.T) {
	base := `name: p
version: 1
steps:
  - {id: notify, stage: notified, anchor: issue, offset: 0d, channels: [email], template: invoice, tone: neutral}
final_notice_deadline: 14d
escalation_default: agency
dispute_deadline: 14d
promise_grace: 3d
calendar: {}
`
	ok := base + "payment_plans: {max_instalments: 6, max_length: 180d, min_instalment_minor: 5000, require_approval: true, reminder_before: 3d, grace: 2d}\n"
	p, err := policy.Parse([]byte(ok))
	if err != nil {
		t.Fatal(err)
	}
	if pp := p.Plans(); pp.MaxInstalments != 6 || pp.MaxLength.Std() != 180*24*time.Hour || pp.MinInstalmentMinor != 5000 || !pp.RequireApproval || pp.Grace.Std() != 48*time.Hour {
		t.Fatalf("section read as %+v", pp)
	}
	if p, _ := policy.Parse([]byte(base)); p.Plans() != policy.DefaultPaymentPlans() {
		t.Fatalf("a policy without the section uses the defaults, not %+v", p.Plans())
	}
	for _, c := range []struct{ section, field string }{
		{"{max_instalments: 1, max_length: 1d, reminder_before: 1d, grace: 1d}", "payment_plans.max_instalments"},
		{"{max_instalments: 61, max_length: 1d, reminder_before: 1d, grace: 1d}", "payment_plans.max_instalments"},
		{"{max_instalments: 6, max_length: 0s, reminder_before: 1d, grace: 1d}", "payment_plans.max_length"},
		{"{max_instalments: 6, max_length: 3651d, reminder_before: 1d, grace: 1d}", "payment_plans.max_length"},
		{"{max_instalments: 6, max_length: 1d, min_instalment_minor: -1, reminder_before: 1d, grace: 1d}", "payment_plans.min_instalment_minor"},
		{"{max_instalments: 6, max_length: 1d, reminder_before: -1d, grace: 1d}", "payment_plans.reminder_before"},
		{"{max_instalments: 6, max_length: 1d, reminder_before: 1d, grace: -1d}", "payment_plans.grace"},
		{"{max_instalments: 6, max_length: 1d, reminder_before: 1d, grace: 1d, require_approval: maybe}", "payment_plans.require_approval"},
		{"{max_instalments: 6, max_length: 1d, reminder_before: 1d, grace: 1d, interest: 5}", "payment_plans.interest"},
	} {
		_, err := policy.Parse([]byte(base + "payment_plans: " + c.section + "\n"))
		if err == nil || !strings.HasPrefix(err.Error(), c.field+": ") {
			t.Errorf("%s: want an error naming %s, got %v", c.section, c.field, err)
		}
	}
}

func TestPlanPeriods(t *testing.T) {
	jan31 := time.Date(2027, 1, 31, 9, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		in   string
		want []string // the first three dates from 31 January 2027
	}{
		{"1 month", []string{"2027-01-31", "2027-02-28", "2027-03-31"}},
		{"2 Months", []string{"2027-01-31", "2027-03-31", "2027-05-31"}},
		{"2 weeks", []string{"2027-01-31", "2027-02-14", "2027-02-28"}},
		{"1 week", []string{"2027-01-31", "2027-02-07", "2027-02-14"}},
		{"10 days", []string{"2027-01-31", "2027-02-10", "2027-02-20"}},
		{"14d", []string{"2027-01-31", "2027-02-14", "2027-02-28"}},
	} {
		p, err := policy.ParsePeriod(c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		var got []string
		for n := range 3 {
			got = append(got, p.Nth(jan31, n).Format(time.DateOnly))
		}
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("%s: %v, want %v", c.in, got, c.want)
		}
	}
	for _, bad := range []string{"", "month", "0 months", "121 months", "2 fortnights", "-7d", "0s", "soon", "1.5 months"} {
		if _, err := policy.ParsePeriod(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
