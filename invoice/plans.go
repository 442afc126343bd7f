package invoice

import "time"

// StageOnPlan is the stage of an invoice whose payment plan is active: the
// policy's schedule is suspended and each instalment is chased on its own
// date. Like promised and paused, it returns to the stage it interrupted
// when the plan ends (or, broken, to the policy's next firm step).
const StageOnPlan Stage = "on_plan"

// Timeline events of a payment plan.
const (
	EventPlanProposed     = "plan_proposed"     // outside the policy's bounds (or it asks for approval): pending
	EventPlanAgreed       = "plan_agreed"       // within the bounds: active at once
	EventPlanApproved     = "plan_approved"     // a manager approved a pending plan: active
	EventPlanDeclined     = "plan_declined"     // a manager declined a pending plan
	EventPlanCancelled    = "plan_cancelled"    // cancelled by a person, or ended by a dispute
	EventInstalmentPaid   = "instalment_paid"   // payments reached an instalment's amount
	EventInstalmentMissed = "instalment_missed" // its date passed unpaid; the grace period runs
	EventPlanBroken       = "plan_broken"       // an instalment stayed unpaid past its grace
	EventPlanCompleted    = "plan_completed"    // the last instalment was paid
)

// Plan states.
const (
	PlanPending   = "pending"   // waits for a manager's approval; the schedule runs meanwhile
	PlanActive    = "active"    // the instalments replace the schedule
	PlanCompleted = "completed" // every instalment paid
	PlanBroken    = "broken"    // an instalment stayed unpaid past its grace
	PlanDeclined  = "declined"  // a manager declined it
	PlanCancelled = "cancelled" // cancelled, or ended by a dispute
)

// Instalment states.
const (
	InstalmentUpcoming = "upcoming" // not yet due, not yet paid in full
	InstalmentMissed   = "missed"   // its date passed unpaid: within its grace period
	InstalmentPaid     = "paid"     // paid in full (on time, ahead or within grace)
	InstalmentVoid     = "void"     // the plan ended before it was paid
)

// Plan is a payment plan: the balance agreed to be paid in instalments,
// each chased on its own date. It is part of the workflow's state and of
// the status the API shows; its JSON names never change once released.
type Plan struct {
	// Number counts the invoice's plans (1 for its first); message and
	// task keys carry it, so a later plan never collides with an earlier.
	Number      int          `json:"number"`
	State       string       `json:"state"`
	Instalments []Instalment `json:"instalments"`
	// TotalMinor is the balance the plan covers: the instalments' sum, the
	// balance when it was proposed. What has been paid towards the plan is
	// TotalMinor less the invoice's balance; it is allocated to the
	// instalments in date order, so paying ahead fills the next ones.
	TotalMinor int64     `json:"total_minor"`
	ProposedAt time.Time `json:"proposed_at"`
	ProposedBy string    `json:"proposed_by,omitempty"`
	// ApprovalReasons say why a manager must decide: each names the
	// policy's bound (payment_plans.max_instalments ...) the plan exceeds.
	ApprovalReasons []string   `json:"approval_reasons,omitempty"`
	AgreedAt        *time.Time `json:"agreed_at,omitempty"`
	DecidedBy       string     `json:"decided_by,omitempty"`
	EndedAt         *time.Time `json:"ended_at,omitempty"`
	// EndReason says why a plan ended other than completed.
	EndReason string `json:"end_reason,omitempty"`
}

// Instalment is one date and amount of a plan.
type Instalment struct {
	DueAt       time.Time  `json:"due_at"`
	AmountMinor int64      `json:"amount_minor"`
	PaidMinor   int64      `json:"paid_minor"`
	State       string     `json:"state"`
	PaidAt      *time.Time `json:"paid_at,omitempty"`
	// Reminded and Nudged record the reminder before its date and the
	// friendly message once it was missed.
	Reminded bool `json:"reminded"`
	Nudged   bool `json:"nudged"`
}

// Open reports whether the plan is still pending or active.
func (p *Plan) Open() bool {
	return p != nil && (p.State == PlanPending || p.State == PlanActive)
}

// Active reports whether the plan's instalments replace the schedule now.
func (p *Plan) Active() bool { return p != nil && p.State == PlanActive }

// Next is the index of the earliest instalment not paid in full, or -1.
func (p *Plan) Next() int {
	for i, in := range p.Instalments {
		if in.PaidMinor < in.AmountMinor {
			return i
		}
	}
	return -1
}

// Remaining is what is left to pay on the plan after instalment i's amount
// is paid: the amounts of the instalments after it, less what was paid ahead
// on them.
func (p *Plan) Remaining(i int) int64 {
	var left int64
	for _, in := range p.Instalments[i+1:] {
		left += in.AmountMinor - in.PaidMinor
	}
	return left
}
