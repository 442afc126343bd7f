package policy

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The policy that took a worker to 6 GB: one step repeated a hundred
// million times, every second.
const hostileDocument = `{"name": "hostile", "version": 1, "steps": [
  {"id": "spam", "anchor": "issue", "offset": "0s", "channels": ["email"], "template": "reminder",
   "repeat": {"every": "1s", "times": 100000000}}]}`

func TestTheHostilePolicyIsRefusedNamingItsRepeat(t *testing.T) {
	_, err := Parse([]byte(hostileDocument))
	if err == nil || !strings.HasPrefix(err.Error(), "steps[0].repeat.times:") {
		t.Fatalf("got %v, want an error naming steps[0].repeat.times", err)
	}
}

func TestBoundsNameTheField(t *testing.T) {
	long := strings.Repeat("x", MaxNameLength+1)
	manySteps := func(p *Policy) {
		p.Steps = nil
		for i := 0; i <= MaxSteps; i++ {
			p.Steps = append(p.Steps, Step{ID: fmt.Sprintf("s%d", i), Anchor: AnchorDue, Offset: D(time.Duration(i) * day),
				Channels: []Channel{Email}, Template: "firm", Tone: Firm})
		}
	}
	cases := []struct {
		name  string
		edit  func(*Policy)
		field string
	}{
		{"too many steps", manySteps, "steps:"},
		{"too many repeats on one step", func(p *Policy) { p.Steps[5].Repeat = &Repeat{Every: D(day), Times: MaxOccurrences} }, "steps[5].repeat.times:"},
		{"too many repeats together", func(p *Policy) {
			p.Steps[4].Repeat = &Repeat{Every: D(time.Hour), Times: 150}
			p.Steps[5].Repeat = &Repeat{Every: D(time.Hour), Times: 150}
		}, "steps[5].repeat.times:"},
		{"repeats too close together", func(p *Policy) { p.Steps[5].Repeat = &Repeat{Every: D(time.Second), Times: 3} }, "steps[5].repeat.every:"},
		{"repeats reaching too far", func(p *Policy) { p.Steps[5].Repeat = &Repeat{Every: D(3000 * day), Times: 2} }, "steps[5].repeat:"},
		{"an offset in hours beyond the bound", func(p *Policy) { p.Steps[7].Offset = D(4000 * day) }, "steps[7].offset:"},
		{"a negative offset beyond the bound", func(p *Policy) { p.Steps[2].Offset = D(-4000 * day) }, "steps[2].offset:"},
		{"final notice deadline", func(p *Policy) { p.FinalNoticeDeadline = D(4000 * day) }, "final_notice_deadline:"},
		{"dispute deadline", func(p *Policy) { p.DisputeDeadline = D(4000 * day) }, "dispute_deadline:"},
		{"promise grace", func(p *Policy) { p.PromiseGrace = D(4000 * day) }, "promise_grace:"},
		{"contact cap period", func(p *Policy) { p.ContactCap.Per = D(4000 * day) }, "contact_cap.per:"},
		{"holidays", func(p *Policy) {
			for i := 0; i <= MaxHolidays; i++ {
				p.Calendar.Holidays = append(p.Calendar.Holidays, time.Date(2026, 1, 1+i, 0, 0, 0, 0, time.UTC).Format(time.DateOnly))
			}
		}, "calendar.holidays:"},
		{"name", func(p *Policy) { p.Name = long }, "name:"},
		{"description", func(p *Policy) { p.Description = strings.Repeat("x", MaxDescriptionLength+1) }, "description:"},
		{"step id", func(p *Policy) { p.Steps[0].ID = long }, "steps[0].id:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := Standard()
			c.edit(&p)
			err := p.Validate()
			if err == nil || !strings.HasPrefix(err.Error(), c.field) {
				t.Fatalf("got %v, want an error naming %s", err, c.field)
			}
			if err := p.CheckBounds(); err == nil || !strings.HasPrefix(err.Error(), c.field) {
				t.Fatalf("CheckBounds: got %v, want an error naming %s", err, c.field)
			}
		})
	}
}

func TestAPolicyAtItsBoundsIsAccepted(t *testing.T) {
	p := Standard()
	p.Steps[5].Repeat = &Repeat{Every: D(MinRepeatEvery), Times: MaxOccurrences - len(p.Steps)}
	p.Steps[7].Offset = D(MaxSpan)
	p.FinalNoticeDeadline = D(MaxSpan)
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if n := p.Occurrences(); n != MaxOccurrences {
		t.Fatalf("Occurrences() = %d, want %d", n, MaxOccurrences)
	}
}

// Next walks the same occurrences as Schedule, in the same order, at the
// same times, including those Schedule moves up to an earlier step's time.
func TestNextWalksTheSchedule(t *testing.T) {
	issued := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	policies := map[string]Policy{"standard": Standard(), "demo": Demo(), "gentle": gentle()}
	rep := Standard()
	rep.Steps[3].Repeat = &Repeat{Every: D(10 * day), Times: 4} // inquire's repeats overtake overdue-15 and -30
	rep.Steps[5].Repeat = &Repeat{Every: D(5 * day), Times: 2}
	policies["repeats"] = rep
	backwards := Standard()
	backwards.Steps[1].Repeat = &Repeat{Every: D(20 * day), Times: 3} // issue-date repeats beyond early due-date steps
	policies["issue repeats past the due date"] = backwards
	for name, p := range policies {
		for _, terms := range []int{0, 1, 5, 30, 90} {
			due := issued.AddDate(0, 0, terms)
			want := p.Schedule(issued, due)
			var got []Planned
			for o, ok := p.Next(issued, due, ""); ok; o, ok = p.Next(issued, due, o.Key) {
				got = append(got, o)
				if len(got) > len(want) {
					break
				}
			}
			if len(got) != len(want) {
				t.Fatalf("%s, %d days: %d occurrences, want %d", name, terms, len(got), len(want))
			}
			for i := range want {
				if got[i].Key != want[i].Key || !got[i].At.Equal(want[i].At) || got[i].Step.ID != want[i].Step.ID {
					t.Fatalf("%s, %d days, #%d: got %s at %s, want %s at %s", name, terms, i, got[i].Key, got[i].At, want[i].Key, want[i].At)
				}
			}
		}
	}
	if _, ok := Standard().Next(issued, issued, "no-such-step"); ok {
		t.Fatal("an unknown key must end the walk")
	}
	if _, ok := rep.Next(issued, issued, "overdue-30#9"); ok {
		t.Fatal("a repeat beyond the step's times must end the walk")
	}
}

// The schedule maths of a policy that slipped past validation costs what
// one step costs: budget, 16 allocations for the next occurrence
// after the hundred-millionth repeat (Schedule would build 100,000,001).
func TestNextCostsNothingOnAHostilePolicy(t *testing.T) {
	p := Policy{Name: "hostile", Version: 1, Steps: []Step{
		{ID: "notify", Anchor: AnchorIssue, Channels: []Channel{Email}, Template: "invoice"},
		{ID: "spam", Anchor: AnchorIssue, Channels: []Channel{Email}, Template: "reminder",
			Repeat: &Repeat{Every: D(time.Second), Times: 100_000_000}},
		{ID: "agency", Anchor: AnchorDue, Offset: D(90 * day), Action: ActionAgency},
	}}
	if err := p.CheckBounds(); err == nil {
		t.Fatal("the hostile policy is within bounds?")
	}
	issued := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	due := issued.AddDate(0, 0, 30)
	var o Planned
	allocs := testing.AllocsPerRun(100, func() {
		o, _ = p.Next(issued, due, "spam#50000000")
	})
	if allocs > 16 {
		t.Fatalf("Next allocated %.0f times a call; budget 16", allocs)
	}
	if o.Key != "spam#50000001" || !o.At.Equal(issued.Add(50_000_000*time.Second)) {
		t.Fatalf("got %s at %s", o.Key, o.At)
	}
	last, ok := p.Next(issued, due, "spam#100000001")
	if !ok || last.Key != "agency" || !last.At.Equal(issued.Add(100_000_000*time.Second)) {
		t.Fatalf("after the last repeat: %s at %s (%v)", last.Key, last.At, ok)
	}
	if n := p.Occurrences(); n != MaxOccurrences+1 {
		t.Fatalf("Occurrences() = %d", n)
	}
}
