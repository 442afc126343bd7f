package desk

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/money"
)

// Weights is the worklist's priority rule as data. A row's score is the sum
// of these parts (see Score); the higher, the sooner a collector should act.
// The database ranks the whole book by it (db.Desk.Worklist, given
// Weights.Rule): every part is a whole number of tenths of a point, so SQL
// and Go add the same integers and the score shown is the score ranked by.
//
//	amount    AmountPerTenfold × log10(1 + overdue balance in major units)
//	          (the logarithm is stored with the invoice to 4 decimals,
//	          db.AmountLog, and kept current as payments arrive)
//	days      PerDayOverdue × whole days overdue (from the due time, at
//	          the moment of ranking), counted up to MaxDays
//	promises  PerBrokenPromise × broken promises, counted up to MaxBrokenPromises
//	trend     WorseningTrend when the customer pays later and later
//	stage     Stage[stage] (firmer stages are further along and riskier)
//	tasks     TaskOverdue for an open task past its due time, else TaskDue
//	          for one due within TaskDueWithin
//
// Amounts count on a log scale, so a debt ten times larger weighs as much
// as AmountPerTenfold more days overdue (20 by default): the largest and
// oldest debts come first, and age still moves small debts up. Amounts in
// different currencies are compared at face value in major units (no
// exchange rates, never summed); filter the worklist by currency to rank
// within one.
type Weights struct {
	AmountPerTenfold  float64                   `json:"amount_per_tenfold"`
	PerDayOverdue     float64                   `json:"per_day_overdue"`
	MaxDays           int                       `json:"max_days"`
	PerBrokenPromise  float64                   `json:"per_broken_promise"`
	MaxBrokenPromises int                       `json:"max_broken_promises"`
	WorseningTrend    float64                   `json:"worsening_trend"`
	Stage             map[invoice.Stage]float64 `json:"stage"`
	TaskOverdue       float64                   `json:"task_overdue"`
	TaskDue           float64                   `json:"task_due"`
	TaskDueWithin     time.Duration             `json:"-"`
}

// tenths is a weight in whole tenths of a point.
func tenths(x float64) int64 { return int64(math.Round(x * 10)) }

// Rule is the weights in the integer tenths the database ranks by.
func (w Weights) Rule() db.WorklistRule {
	r := db.WorklistRule{AmountPerTenfold: tenths(w.AmountPerTenfold), PerDay: tenths(w.PerDayOverdue), MaxDays: int64(w.MaxDays),
		PerBrokenPromise: tenths(w.PerBrokenPromise), MaxBrokenPromises: int64(w.MaxBrokenPromises),
		WorseningTrend: tenths(w.WorseningTrend), Stage: map[invoice.Stage]int64{}, TaskOverdue: tenths(w.TaskOverdue),
		TaskDue: tenths(w.TaskDue), TaskDueWithin: w.TaskDueWithin}
	for st, p := range w.Stage {
		r.Stage[st] = tenths(p)
	}
	return r
}

// DefaultWeights is the rule the worklist uses.
var DefaultWeights = Weights{
	AmountPerTenfold: 20, PerDayOverdue: 1, MaxDays: 180,
	PerBrokenPromise: 15, MaxBrokenPromises: 3,
	WorseningTrend: 15,
	Stage:          map[invoice.Stage]float64{invoice.StagePressing: 5, invoice.StageEscalated: 10},
	TaskOverdue:    25, TaskDue: 10, TaskDueWithin: 24 * time.Hour,
}

// Suggested actions.
const (
	ActionCall              = "call"               // phone the customer
	ActionSendFinalNotice   = "send_final_notice"  // more than 30 days overdue and not yet escalated
	ActionDecideEscalation  = "decide_escalation"  // escalated: management extends, places with the agency or writes off
	ActionReviewDispute     = "review_dispute"     // a dispute waits for a decision
	ActionLocateDebtor      = "locate_debtor"      // messages bounce: find a working address
	ActionManagementContact = "management_contact" // management contacts the customer
	ActionReachOut          = "reach_out"          // the customer pays later and later: ask how things are
	ActionReviewCredit      = "review_credit"      // an invoice took the customer over its credit limit
)

// Task kinds created outside the workflows.
const (
	TaskPaymentTrend = "payment_trend" // the customer's payment trend turned worsening
	TaskCreditLimit  = "credit_limit"  // an invoice took the customer over its limit
)

// taskActions maps a task's kind to what the collector should do.
var taskActions = map[string]string{
	"call":               ActionCall,
	"locate_debtor":      ActionLocateDebtor,
	"management_contact": ActionManagementContact,
	"dispute_review":     ActionReviewDispute,
	"dispute_overdue":    ActionReviewDispute,
	TaskPaymentTrend:     ActionReachOut,
	TaskCreditLimit:      ActionReviewCredit,
}

// TaskAction is the suggested action for a task of a kind.
func TaskAction(kind string) string {
	if a, ok := taskActions[kind]; ok {
		return a
	}
	return ActionCall
}

// Item is one invoice offered to the worklist, with its customer, the
// customer's payment trend and the invoice's open tasks.
type Item struct {
	Invoice  db.Invoice
	Customer db.Customer
	Trend    Trend
	Tasks    []db.Task // open tasks for this invoice, for whom the list is for
	// Chase says whether the invoice itself is for this list (the customer's
	// account manager is the one asked for); else only its tasks count.
	Chase bool
}

// Part is one term of a score.
type Part struct {
	Name   string  `json:"name"` // amount, days, promises, trend, stage, tasks
	Points float64 `json:"points"`
}

// Row is one line of the worklist: an invoice to chase, its open tasks, or both.
type Row struct {
	InvoiceID      string        `json:"invoice_id"`
	Number         string        `json:"number"`
	CustomerID     string        `json:"customer_id"`
	CustomerName   string        `json:"customer_name"`
	AccountManager string        `json:"account_manager"`
	Currency       string        `json:"currency"`
	BalanceMinor   int64         `json:"-"`
	OverdueMinor   int64         `json:"-"`
	DueAt          time.Time     `json:"due_at"`
	DaysOverdue    int           `json:"days_overdue"`
	Stage          invoice.Stage `json:"stage"`
	BrokenPromises int           `json:"broken_promises"`
	Trend          Trend         `json:"payment_trend"`
	Score          float64       `json:"score"`
	ScoreTenths    int64         `json:"-"` // Score × 10, as the database ranks it
	Parts          []Part        `json:"score_parts"`
	Reason         string        `json:"reason"`
	Action         string        `json:"suggested_action"`
	Chase          bool          `json:"chase"` // the invoice itself needs chasing (not only its tasks)
	Tasks          []db.Task     `json:"-"`
	// NextTaskDue is the earliest due time of the row's tasks.
	NextTaskDue *time.Time `json:"next_task_due,omitempty"`
}

// Excluded says why an open invoice is not chased now ("" when it is):
// closed, not yet overdue, disputed and waiting for the decision, promised
// for a later date, paused by a person, on a payment plan with no
// instalment missed, or with the agency (internal
// chasing stopped). Their tasks still appear.
func Excluded(inv db.Invoice, now time.Time) string {
	st := inv.Stage
	switch {
	case inv.ClosedAt != nil || st.Closed():
		return "closed"
	case inv.BalanceMinor <= 0:
		return "nothing owed"
	case inv.DueAt.Unix() >= now.Unix():
		return "not yet due"
	case st == invoice.StageDisputed:
		return "disputed: waiting for the decision"
	case st == invoice.StagePromised && inv.Status != nil && inv.Status.Promise != nil && inv.Status.Promise.Date.Unix() > now.Unix():
		return "promised for " + inv.Status.Promise.Date.Format("2006-01-02")
	case st == invoice.StagePaused:
		return "paused"
	case st == invoice.StageOnPlan && inv.Status != nil && inv.Status.Plan.Active() && !planMissed(inv.Status.Plan):
		return "on a payment plan"
	case st == invoice.StageAgency:
		return "with the agency"
	}
	return ""
}

// planMissed reports an instalment of the plan missed (within its grace):
// worth a call while the plan still stands.
func planMissed(p *invoice.Plan) bool {
	for _, in := range p.Instalments {
		if in.State == invoice.InstalmentMissed {
			return true
		}
	}
	return false
}

// brokenPromises counts the broken promises in an invoice's saved
// timeline and returns when the last one broke.
func brokenPromises(inv db.Invoice) (int, time.Time) {
	var n int
	var last time.Time
	if inv.Status == nil {
		return 0, last
	}
	for _, e := range inv.Status.Timeline {
		if e.Kind == invoice.EventPromiseBroken {
			n++
			if e.At.After(last) {
				last = e.At
			}
		}
	}
	return n, last
}

// DaysOverdue is the whole days since the due time (0 before it), counted
// in whole seconds as the database counts them from due_unix.
func DaysOverdue(due, now time.Time) int {
	d := now.Unix() - due.Unix()
	if d <= 0 {
		return 0
	}
	return int(d / 86400)
}

// Facts are what a row's score is made of: the invoice's stored facts
// (db.WorklistRow) or those derived from a loaded invoice (Score).
type Facts struct {
	Invoice  db.Invoice // for the row's identity and reasons (Status may be nil)
	Customer db.Customer
	Trend    Trend
	Tasks    []db.Task
	Chase    bool
	Days     int
	// AmountLog is db.AmountLog of the balance.
	AmountLog      int64
	BrokenPromises int
	LastBroken     time.Time
	// TaskTenths, when set, is the tasks part as the database summed it
	// (else it is summed from Tasks).
	TaskTenths *int64
}

// Score builds one row from a loaded invoice: its score parts, reason and
// suggested action.
func Score(it Item, now time.Time, w Weights) Row {
	inv := it.Invoice
	f := Facts{Invoice: inv, Customer: it.Customer, Trend: it.Trend, Tasks: it.Tasks, Chase: it.Chase && Excluded(inv, now) == "",
		AmountLog: db.AmountLog(inv.BalanceMinor, inv.Currency)}
	f.BrokenPromises, f.LastBroken = brokenPromises(inv)
	if f.Chase {
		f.Days = DaysOverdue(inv.DueAt, now)
	}
	return ScoreFacts(f, now, w)
}

// ScoreFacts builds one row from its facts: score parts (whole tenths of a
// point, as the database adds them), reason and suggested action.
func ScoreFacts(f Facts, now time.Time, w Weights) Row {
	inv := f.Invoice
	r := Row{InvoiceID: inv.ID, Number: inv.Number, CustomerID: inv.CustomerID, CustomerName: f.Customer.Name,
		AccountManager: f.Customer.AccountManager, Currency: inv.Currency, BalanceMinor: inv.BalanceMinor,
		DueAt: inv.DueAt.UTC(), Stage: inv.Stage, Trend: f.Trend, Chase: f.Chase,
		Tasks: slices.Clone(f.Tasks), Parts: []Part{}, BrokenPromises: f.BrokenPromises}
	if r.Trend == "" {
		r.Trend = TrendInsufficient
	}
	slices.SortFunc(r.Tasks, func(a, b db.Task) int { return cmp.Or(a.DueAt.Compare(b.DueAt), cmp.Compare(a.ID, b.ID)) })
	var reasons []string
	add := func(name string, t int64) {
		if t != 0 {
			r.Parts = append(r.Parts, Part{Name: name, Points: float64(t) / 10})
			r.ScoreTenths += t
		}
	}
	if r.Chase {
		r.OverdueMinor = inv.BalanceMinor
		r.DaysOverdue = f.Days
		add("amount", db.AmountTenths(f.AmountLog, tenths(w.AmountPerTenfold)))
		add("days", tenths(w.PerDayOverdue)*int64(min(r.DaysOverdue, w.MaxDays)))
		add("promises", tenths(w.PerBrokenPromise)*int64(min(r.BrokenPromises, w.MaxBrokenPromises)))
		if r.Trend == TrendWorsening {
			add("trend", tenths(w.WorseningTrend))
		}
		add("stage", tenths(w.Stage[inv.Stage]))
		reasons = append(reasons, fmt.Sprintf("%s is %d days overdue", money.Display(inv.BalanceMinor, inv.Currency), r.DaysOverdue))
		if n := f.BrokenPromises; n > 0 {
			if f.LastBroken.IsZero() {
				reasons = append(reasons, "promise broken")
			} else {
				reasons = append(reasons, fmt.Sprintf("promise broken on %s", f.LastBroken.UTC().Format("2006-01-02")))
			}
			if n > 1 {
				reasons[len(reasons)-1] += fmt.Sprintf(" (%d broken)", n)
			}
		}
		if r.Trend == TrendWorsening {
			reasons = append(reasons, "customer pays later and later")
		}
		if inv.Stage == invoice.StageEscalated {
			reasons = append(reasons, "escalated to management")
		}
	}
	var taskTenths int64
	for _, t := range r.Tasks {
		switch {
		case t.DueAt.Before(now):
			taskTenths += tenths(w.TaskOverdue)
			reasons = append(reasons, fmt.Sprintf("task %q overdue since %s", t.Title, t.DueAt.UTC().Format("2006-01-02 15:04")))
		case t.DueAt.Before(now.Add(w.TaskDueWithin)):
			taskTenths += tenths(w.TaskDue)
			reasons = append(reasons, fmt.Sprintf("task %q due %s", t.Title, t.DueAt.UTC().Format("2006-01-02 15:04")))
		default:
			reasons = append(reasons, fmt.Sprintf("task %q due %s", t.Title, t.DueAt.UTC().Format("2006-01-02 15:04")))
		}
	}
	if f.TaskTenths != nil {
		taskTenths = *f.TaskTenths
	}
	add("tasks", taskTenths)
	if len(r.Tasks) > 0 {
		due := r.Tasks[0].DueAt.UTC()
		r.NextTaskDue = &due
	}
	r.Score = float64(r.ScoreTenths) / 10
	r.Reason = strings.Join(reasons, "; ")
	r.Action = suggest(r)
	return r
}

// suggest picks the next action: the earliest task's, else by the
// invoice's state (escalated: management decides; a broken promise: call;
// more than 30 days overdue: final notice; otherwise call).
func suggest(r Row) string {
	switch {
	case len(r.Tasks) > 0:
		return TaskAction(r.Tasks[0].Kind)
	case r.Stage == invoice.StageEscalated:
		return ActionDecideEscalation
	case r.BrokenPromises > 0:
		return ActionCall
	case r.DaysOverdue > 30:
		return ActionSendFinalNotice
	}
	return ActionCall
}

// Worklist scores the items, drops those with nothing to do (not chased
// and without tasks) and every closed invoice, tasks and all, so that no
// one calls a customer who already paid (their leftover tasks stay in
// GET /v1/tasks), and orders the rest: score, then days overdue, then
// the earliest task due, then currency, overdue amount, number and id, so
// equal inputs always give the same order.
func Worklist(items []Item, now time.Time, w Weights) []Row {
	rows := make([]Row, 0, len(items))
	for _, it := range items {
		if Excluded(it.Invoice, now) == "closed" {
			continue
		}
		r := Score(it, now, w)
		if !r.Chase && len(r.Tasks) == 0 {
			continue
		}
		rows = append(rows, r)
	}
	slices.SortStableFunc(rows, compareRows)
	return rows
}

func compareRows(a, b Row) int {
	far := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	ta, tb := far, far
	if a.NextTaskDue != nil {
		ta = *a.NextTaskDue
	}
	if b.NextTaskDue != nil {
		tb = *b.NextTaskDue
	}
	return cmp.Or(
		cmp.Compare(b.Score, a.Score),
		cmp.Compare(b.DaysOverdue, a.DaysOverdue),
		ta.Compare(tb),
		cmp.Compare(a.Currency, b.Currency),
		cmp.Compare(b.OverdueMinor, a.OverdueMinor),
		cmp.Compare(a.Number, b.Number),
		cmp.Compare(a.InvoiceID, b.InvoiceID),
	)
}
