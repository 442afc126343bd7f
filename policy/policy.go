// Package policy is the dunning policy as data: which message goes out when,
// on which channel, in which tone. The workflow executes a policy; it does not
// contain one. Everything here is pure and deterministic, so the workflow may
// call it directly.
package policy

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/collections-engine/collections/invoice"
)

// Anchor is the date a step's offset is measured from.
type Anchor string

const (
	AnchorIssue Anchor = "issue" // the invoice's issue date
	AnchorDue   Anchor = "due"   // the invoice's due date
)

// Channel is how a message reaches the customer.
type Channel string

const (
	Email Channel = "email"
	SMS   Channel = "sms"
)

// Tone says how firm a message is. It selects the wording of a template.
type Tone string

const (
	Friendly Tone = "friendly"
	Neutral  Tone = "neutral"
	Firm     Tone = "firm"
	Final    Tone = "final"
)

// Step is one scheduled contact with the customer.
type Step struct {
	// ID names the step in the outbox, the timeline and timer summaries
	// ("remind", "overdue-15"); unique within a policy.
	ID string `json:"id"`
	// Stage is the invoice's stage once this step has been carried out.
	Stage    invoice.Stage `json:"stage"`
	Anchor   Anchor        `json:"anchor"`
	Offset   Duration      `json:"offset"` // negative = before the anchor
	Channels []Channel     `json:"channels"`
	Template string        `json:"template"`
	Tone     Tone          `json:"tone"`
}

// Policy is a named, versioned list of steps.
type Policy struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
	Steps   []Step `json:"steps"`
}

// Templates lists the message templates a step may name.
var Templates = []string{"invoice", "reminder", "inquiry", "firm", "final_notice"}

const day = 24 * time.Hour

// Standard is the default policy: the seed documents' stages of credit
// collection, relative to the invoice's issue date I and due date D.
//
//	I       notify          the invoice itself
//	D - 7d  remind          friendly reminder, well before it is due
//	D + 1d  inquire         the day after it falls overdue: what is wrong?
//	D + 15d overdue-15      firmer
//	D + 30d overdue-30      firmer still, never threatening
//	D + 45d final-notice    final notice with a deadline
//
// Delivery confirmation (I + 3d), management escalation and the agency
// hand-off are added by the lifecycle issue.
func Standard() Policy {
	return Policy{Name: "standard", Version: 1, Steps: []Step{
		{ID: "notify", Stage: invoice.StageNotified, Anchor: AnchorIssue, Offset: 0, Channels: []Channel{Email}, Template: "invoice", Tone: Neutral},
		{ID: "remind", Stage: invoice.StageReminded, Anchor: AnchorDue, Offset: D(-7 * day), Channels: []Channel{Email}, Template: "reminder", Tone: Friendly},
		{ID: "inquire", Stage: invoice.StageInquired, Anchor: AnchorDue, Offset: D(1 * day), Channels: []Channel{Email, SMS}, Template: "inquiry", Tone: Neutral},
		{ID: "overdue-15", Stage: invoice.StagePressing, Anchor: AnchorDue, Offset: D(15 * day), Channels: []Channel{Email, SMS}, Template: "firm", Tone: Firm},
		{ID: "overdue-30", Stage: invoice.StagePressing, Anchor: AnchorDue, Offset: D(30 * day), Channels: []Channel{Email, SMS}, Template: "firm", Tone: Firm},
		{ID: "final-notice", Stage: invoice.StageFinalNotice, Anchor: AnchorDue, Offset: D(45 * day), Channels: []Channel{Email, SMS}, Template: "final_notice", Tone: Final},
	}}
}

// Demo is Standard compressed into seconds after the issue date, so a whole
// lifecycle can be watched in the UI in about a minute.
func Demo() Policy {
	p := Standard()
	p.Name = "demo"
	for i := range p.Steps {
		p.Steps[i].Anchor = AnchorIssue
		p.Steps[i].Offset = D(time.Duration(i*10) * time.Second)
	}
	return p
}

// Builtin returns a built-in policy by name.
func Builtin(name string) (Policy, bool) {
	switch name {
	case "standard":
		return Standard(), true
	case "demo":
		return Demo(), true
	}
	return Policy{}, false
}

// Validate reports the first problem with a policy, naming the step and field.
func (p Policy) Validate() error {
	if strings.TrimSpace(p.Name) == "" {
		return errors.New("name: must not be empty")
	}
	if p.Version < 1 {
		return errors.New("version: must be 1 or more")
	}
	if len(p.Steps) == 0 {
		return errors.New("steps: a policy needs at least one step")
	}
	seen := map[string]bool{}
	for i, s := range p.Steps {
		at := fmt.Sprintf("steps[%d]", i)
		if s.ID == "" {
			return fmt.Errorf("%s.id: must not be empty", at)
		}
		if seen[s.ID] {
			return fmt.Errorf("%s.id: %q is used twice", at, s.ID)
		}
		seen[s.ID] = true
		if s.Anchor != AnchorIssue && s.Anchor != AnchorDue {
			return fmt.Errorf("%s.anchor: must be %q or %q, not %q", at, AnchorIssue, AnchorDue, s.Anchor)
		}
		if len(s.Channels) == 0 {
			return fmt.Errorf("%s.channels: at least one channel", at)
		}
		for _, c := range s.Channels {
			if c != Email && c != SMS {
				return fmt.Errorf("%s.channels: unknown channel %q (email, sms)", at, c)
			}
		}
		if !knownTemplate(s.Template) {
			return fmt.Errorf("%s.template: unknown template %q (%s)", at, s.Template, strings.Join(Templates, ", "))
		}
		if s.Stage == "" {
			return fmt.Errorf("%s.stage: must not be empty", at)
		}
	}
	// Steps must be listed in the order they fall: by offset within each
	// anchor, and steps measured from the issue date before those measured
	// from the due date (Schedule keeps that order for any payment terms).
	last := map[Anchor]time.Duration{}
	seenDue := false
	for i, s := range p.Steps {
		off := s.Offset.Std()
		if s.Anchor == AnchorIssue && seenDue {
			return fmt.Errorf("steps[%d].anchor: step %q is measured from the issue date but follows a step measured from the due date; list issue-date steps first", i, s.ID)
		}
		if prev, ok := last[s.Anchor]; ok && off < prev {
			return fmt.Errorf("steps[%d].offset: step %q falls before step %q; list steps in the order they happen", i, s.ID, p.Steps[i-1].ID)
		}
		last[s.Anchor] = off
		seenDue = seenDue || s.Anchor == AnchorDue
	}
	return nil
}

func knownTemplate(name string) bool {
	for _, t := range Templates {
		if t == name {
			return true
		}
	}
	return false
}

// Planned is a step with the moment it falls due for one invoice.
type Planned struct {
	Step Step
	At   time.Time
}

// Schedule returns when each step falls due for an invoice issued and due at
// the given times, in step order. Later steps never fall before earlier ones:
// a step that would (an invoice due very soon after issue) is moved to the
// earlier step's time.
func (p Policy) Schedule(issued, due time.Time) []Planned {
	out := make([]Planned, 0, len(p.Steps))
	for _, s := range p.Steps {
		base := due
		if s.Anchor == AnchorIssue {
			base = issued
		}
		at := base.Add(s.Offset.Std())
		if n := len(out); n > 0 && at.Before(out[n-1].At) {
			at = out[n-1].At
		}
		out = append(out, Planned{Step: s, At: at})
	}
	return out
}
