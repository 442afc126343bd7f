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

// Action is what a step does when it falls due.
type Action string

const (
	// ActionMessage sends the step's template on each of its channels.
	ActionMessage Action = "message"
	// ActionConfirmDelivery checks that the invoice reached the customer: a
	// delivery event satisfies it; otherwise the step's template is sent as a
	// follow-up (or, without a template, a call task is created).
	ActionConfirmDelivery Action = "confirm_delivery"
	// ActionEscalate hands the account to management: the account manager is
	// notified with a summary of everything tried, a management-contact task
	// is created and the customer gets the step's template as a final notice
	// with a deadline (Policy.FinalNoticeDeadline).
	ActionEscalate Action = "escalate"
	// ActionAgency places the account with the collection agency; internal
	// reminders stop and the workflow waits for the agency's outcome.
	ActionAgency Action = "agency"
	// ActionTask asks a person to do something (Step.Task: call, letter,
	// visit ...): a task for the account manager, due a day later, whose
	// completion is recorded on the invoice.
	ActionTask Action = "task"
)

// Step is one scheduled action on an invoice.
type Step struct {
	// ID names the step in the outbox, the timeline and timer summaries
	// ("remind", "overdue-15"); unique within a policy.
	ID string `json:"id"`
	// Stage is the invoice's stage once this step has been carried out.
	Stage    invoice.Stage `json:"stage"`
	Action   Action        `json:"action,omitempty"` // default: message
	Anchor   Anchor        `json:"anchor"`
	Offset   Duration      `json:"offset"` // negative = before the anchor
	Channels []Channel     `json:"channels,omitempty"`
	Template string        `json:"template,omitempty"`
	Tone     Tone          `json:"tone,omitempty"`
	// Repeat sends the step again Every interval, Times more times.
	Repeat *Repeat `json:"repeat,omitempty"`
	// Task is the kind of task a task step creates (call, letter, visit ...).
	Task string `json:"task,omitempty"`
}

// Repeat repeats a step.
type Repeat struct {
	Every Duration `json:"every"`
	Times int      `json:"times"`
}

// Decision is what management decides on an escalated account, and what
// silence until the final notice's deadline means (Policy.EscalationDefault).
type Decision string

const (
	DecisionAgency   Decision = "agency"    // place with the collection agency now
	DecisionWriteOff Decision = "write_off" // stop chasing; the balance is written off
	DecisionExtend   Decision = "extend"    // give the customer until a later deadline
)

// Policy is a named, versioned schedule of steps plus the rules for what
// happens between them.
type Policy struct {
	Name        string `json:"name"`
	Version     int    `json:"version"`
	Description string `json:"description,omitempty"`
	Steps       []Step `json:"steps"`
	// FinalNoticeDeadline is how long the final notice gives the customer.
	FinalNoticeDeadline Duration `json:"final_notice_deadline"`
	// EscalationDefault is what happens when the deadline passes and
	// management has not decided: agency or write_off.
	EscalationDefault Decision `json:"escalation_default"`
	// DisputeDeadline is how long a dispute may stay open before the
	// account manager is asked to resolve it.
	DisputeDeadline Duration `json:"dispute_deadline"`
	// PromiseGrace is how long after a promised date a payment still counts
	// as the promise kept.
	PromiseGrace Duration `json:"promise_grace"`
	// Calendar says when messages may go out.
	Calendar Calendar `json:"calendar"`
	// ContactCap limits how often a customer is contacted across all of
	// their invoices; a step due while the cap is reached waits, on the record.
	ContactCap *ContactCap `json:"contact_cap,omitempty"`
	// PauseOnReply: a customer's reply holds the chase (see replies.go);
	// absent means on.
	PauseOnReply *bool `json:"pause_on_reply,omitempty"`
	// ReplyHoldDays is how many business days a reply holds the chase at
	// most (0: DefaultReplyHoldDays).
	ReplyHoldDays int `json:"reply_hold,omitempty"`
	// PaymentPlans bounds the payment plans agreed without approval
	// (absent: DefaultPaymentPlans).
	PaymentPlans *PaymentPlans `json:"payment_plans,omitempty"`
}

// ContactCap is at most Max contacts per period Per. The channels of one
// step count as one contact.
type ContactCap struct {
	Max int      `json:"max"`
	Per Duration `json:"per"`
}

// Templates lists the message templates a step may name.
var Templates = []string{"invoice", "reminder", "inquiry", "firm", "final_notice", "promise_reminder",
	"instalment_reminder", "instalment_missed", "plan_broken", "statement"}

const day = 24 * time.Hour

// Standard is the default policy: the seed documents' six stages of credit
// collection, relative to the invoice's issue date I and due date D.
//
//	I       notify            the invoice itself: amount, due date, how to pay
//	I + 3d  confirm-delivery  did it arrive? if not: a follow-up by SMS, or a call task
//	D - 7d  remind            friendly reminder, well before it is due
//	D + 1d  inquire           the day after it falls overdue: what is wrong? can we help?
//	D + 15d overdue-15        firmer
//	D + 30d overdue-30        firmer still, never threatening
//	D + 45d escalate          management steps in; final notice with a 14-day deadline
//	D + 90d agency            placed with the collection agency (earlier if the
//	                          final deadline passes and management stays silent)
//
// Messages go out on weekdays between 09:00 and 17:00 in the customer's time
// zone, spread over the first two hours of the window, and a customer is
// contacted at most once a day across all of their invoices.
func Standard() Policy {
	return Policy{
		Name: "standard", Version: 1,
		Description: "The six stages of credit collection, from the invoice to the agency.",
		Steps: []Step{
			{ID: "notify", Stage: invoice.StageNotified, Anchor: AnchorIssue, Offset: 0, Channels: []Channel{Email}, Template: "invoice", Tone: Neutral},
			{ID: "confirm-delivery", Action: ActionConfirmDelivery, Anchor: AnchorIssue, Offset: D(3 * day), Channels: []Channel{SMS}, Template: "invoice", Tone: Neutral},
			{ID: "remind", Stage: invoice.StageReminded, Anchor: AnchorDue, Offset: D(-7 * day), Channels: []Channel{Email}, Template: "reminder", Tone: Friendly},
			{ID: "inquire", Stage: invoice.StageInquired, Anchor: AnchorDue, Offset: D(1 * day), Channels: []Channel{Email, SMS}, Template: "inquiry", Tone: Neutral},
			{ID: "overdue-15", Stage: invoice.StagePressing, Anchor: AnchorDue, Offset: D(15 * day), Channels: []Channel{Email, SMS}, Template: "firm", Tone: Firm},
			{ID: "overdue-30", Stage: invoice.StagePressing, Anchor: AnchorDue, Offset: D(30 * day), Channels: []Channel{Email, SMS}, Template: "firm", Tone: Firm},
			{ID: "escalate", Stage: invoice.StageEscalated, Action: ActionEscalate, Anchor: AnchorDue, Offset: D(45 * day), Channels: []Channel{Email, SMS}, Template: "final_notice", Tone: Final},
			{ID: "agency", Stage: invoice.StageAgency, Action: ActionAgency, Anchor: AnchorDue, Offset: D(90 * day)},
		},
		FinalNoticeDeadline: D(14 * day),
		EscalationDefault:   DecisionAgency,
		DisputeDeadline:     D(14 * day),
		PromiseGrace:        D(3 * day),
		Calendar: Calendar{WindowStart: "09:00", WindowEnd: "17:00",
			Days: []string{"mon", "tue", "wed", "thu", "fri"}, Spread: D(2 * time.Hour)},
		ContactCap: &ContactCap{Max: 1, Per: D(day)},
	}
}

// Demo is Standard compressed to about two minutes after the issue date,
// with no send window, so a whole lifecycle can be watched in the Web UI.
func Demo() Policy {
	p := Standard()
	p.Name = "demo"
	p.Description = "Standard compressed to about two minutes, for demos and tests."
	offsets := []time.Duration{0, 5, 10, 20, 30, 40, 50, 100}
	for i := range p.Steps {
		p.Steps[i].Anchor = AnchorIssue
		p.Steps[i].Offset = D(offsets[i] * time.Second)
	}
	p.FinalNoticeDeadline = D(30 * time.Second)
	p.DisputeDeadline = D(30 * time.Second)
	p.PromiseGrace = D(5 * time.Second)
	p.Calendar = Calendar{}
	p.ContactCap = nil
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

// StepStages maps the policy's step ids to the stage each moves the invoice
// to (steps without a stage are left out): what the reports count a step's
// message under.
func (p Policy) StepStages() map[string]invoice.Stage {
	out := map[string]invoice.Stage{}
	for _, s := range p.Steps {
		if s.Stage != "" {
			out[s.ID] = s.Stage
		}
	}
	return out
}

// ActionOf returns the step's action, message when unset.
func (s Step) ActionOf() Action {
	if s.Action == "" {
		return ActionMessage
	}
	return s.Action
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
	if err := p.CheckBounds(); err != nil {
		return err
	}
	seen := map[string]bool{}
	escalateAt, agencyAt := -1, -1
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
		for _, c := range s.Channels {
			if c != Email && c != SMS {
				return fmt.Errorf("%s.channels: unknown channel %q (email, sms)", at, c)
			}
		}
		if s.Template != "" && !knownTemplate(s.Template) {
			return fmt.Errorf("%s.template: unknown template %q (%s)", at, s.Template, strings.Join(Templates, ", "))
		}
		if s.Repeat != nil && (s.Repeat.Times < 1 || s.Repeat.Every.Std() <= 0) {
			return fmt.Errorf("%s.repeat: every must be positive and times at least 1", at)
		}
		switch s.ActionOf() {
		case ActionMessage, ActionEscalate:
			if len(s.Channels) == 0 {
				return fmt.Errorf("%s.channels: a %s step needs at least one channel", at, s.ActionOf())
			}
			if s.Template == "" {
				return fmt.Errorf("%s.template: a %s step needs a template", at, s.ActionOf())
			}
			if s.ActionOf() == ActionEscalate {
				if escalateAt >= 0 {
					return fmt.Errorf("%s.action: only one escalate step", at)
				}
				escalateAt = i
			}
		case ActionConfirmDelivery:
			if s.Template != "" && len(s.Channels) == 0 {
				return fmt.Errorf("%s.channels: a follow-up template needs a channel", at)
			}
		case ActionTask:
			if strings.TrimSpace(s.Task) == "" {
				return fmt.Errorf("%s.task: a task step names its task (call, letter, visit ...)", at)
			}
		case ActionAgency:
			if agencyAt >= 0 {
				return fmt.Errorf("%s.action: only one agency step", at)
			}
			agencyAt = i
		default:
			return fmt.Errorf("%s.action: unknown action %q (message, confirm_delivery, escalate, agency, task)", at, s.Action)
		}
	}
	if escalateAt >= 0 && agencyAt >= 0 && escalateAt > agencyAt {
		return fmt.Errorf("steps[%d].action: escalation must come before the agency step", escalateAt)
	}
	if agencyAt >= 0 && agencyAt != len(p.Steps)-1 {
		return fmt.Errorf("steps[%d].action: the agency step must be the last step", agencyAt)
	}
	if escalateAt >= 0 {
		if p.FinalNoticeDeadline.Std() <= 0 {
			return errors.New("final_notice_deadline: an escalate step needs a positive deadline")
		}
		if p.EscalationDefault != DecisionAgency && p.EscalationDefault != DecisionWriteOff {
			return fmt.Errorf("escalation_default: must be %q or %q", DecisionAgency, DecisionWriteOff)
		}
	}
	if p.DisputeDeadline.Std() < 0 || p.PromiseGrace.Std() < 0 {
		return errors.New("dispute_deadline, promise_grace: must not be negative")
	}
	if err := p.validateReplyHold(); err != nil {
		return err
	}
	if c := p.ContactCap; c != nil && (c.Max < 1 || c.Per.Std() <= 0) {
		return errors.New("contact_cap: max must be at least 1 and per positive")
	}
	if pp := p.PaymentPlans; pp != nil {
		if err := pp.validate(); err != nil {
			return err
		}
	}
	if err := p.Calendar.Validate(); err != nil {
		return fmt.Errorf("calendar.%w", err)
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

// Planned is a step with the moment it falls due for one invoice. Key names
// this occurrence ("overdue-30", "overdue-30#2" for its first repeat): the
// outbox keys messages by it.
type Planned struct {
	Step Step
	Key  string
	At   time.Time
}

// Schedule returns when each step (and each repeat) falls due for an invoice
// issued and due at the given times, in order. A step never falls before the
// one listed ahead of it: one that would (an invoice due very soon after
// issue) is moved to the earlier step's time. The calendar is not applied
// here; see Calendar.Next.
//
// Schedule builds the whole list, which for a policy within its bounds
// (CheckBounds) holds at most MaxOccurrences entries. The workflow walks it
// with Next instead, which builds nothing, whatever the policy asks for.
func (p Policy) Schedule(issued, due time.Time) []Planned {
	out := make([]Planned, 0, len(p.Steps))
	add := func(s Step, key string, at time.Time) {
		if n := len(out); n > 0 && at.Before(out[n-1].At) {
			at = out[n-1].At
		}
		out = append(out, Planned{Step: s, Key: key, At: at})
	}
	for _, s := range p.Steps {
		base := due
		if s.Anchor == AnchorIssue {
			base = issued
		}
		at := base.Add(s.Offset.Std())
		add(s, s.ID, at)
		if s.Repeat != nil {
			for n := 1; n <= s.Repeat.Times; n++ {
				add(s, fmt.Sprintf("%s#%d", s.ID, n+1), at.Add(time.Duration(n)*s.Repeat.Every.Std()))
			}
		}
	}
	return out
}
