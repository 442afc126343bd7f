// Package reports computes the collections reports from the database: aging,
// DSO, the collection effectiveness index, promise-kept rate, disputes by
// reason, amounts collected by stage and by channel, and messages sent per
// stage. Each report states its definition (Definitions), which the API
// documents and returns with the numbers.
//
// Conventions shared by every report:
//
//   - Periods are whole UTC days: from is the first day counted, to the last
//     (inclusive); as_of is a day too, meaning its end.
//   - Amounts are never added across currencies: every row names its
//     currency (the currency parameter keeps one).
//   - An invoice's balance at a moment is its amount less the payments
//     (refunds subtract) received before that moment; it is receivable then
//     when it was issued before that moment, was not closed before it, and
//     its balance is above zero. Cancelled invoices are left out of the
//     receivables reports (aging, DSO, CEI) altogether.
//   - Days past due are the calendar days (UTC) from the due date to the
//     as_of day; an invoice not yet past its due date (0 or fewer days) is
//     current.
//   - Timeline-based reports (stages, channels, messages, promises,
//     disputes) read each invoice's timeline as its workflow saved it.
package reports

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/internal/policies"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/money"
	"github.com/collections-engine/collections/policy"
)

// Report names.
const (
	Aging              = "aging"
	DSO                = "dso"
	CEI                = "cei"
	Promises           = "promises"
	Disputes           = "disputes"
	CollectedByStage   = "collected-by-stage"
	CollectedByChannel = "collected-by-channel"
	MessagesByStage    = "messages-by-stage"
)

// Names lists the reports in the order the API lists them.
var Names = []string{Aging, DSO, CEI, Promises, Disputes, CollectedByStage, CollectedByChannel, MessagesByStage}

// Definitions say what each report computes; the API docs quote them.
var Definitions = map[string]string{
	Aging: "Balance of the invoices receivable at the end of as_of, by days past due: current (not yet due), 1-30, 31-60, " +
		"61-90 and 90+ days, grouped by customer, by account manager and by currency (rows with group customer, manager, currency), one row per key and currency.",
	DSO: "Days sales outstanding by the countback method, per currency, at the end of as_of: take the receivables then " +
		"and walk back one calendar month at a time from as_of (the month ending at as_of, then the one before, ...), " +
		"subtracting each month's credit sales (amounts of the invoices issued in it) and adding its days, until a " +
		"month's sales cover what is left; that month adds its days times left ÷ its sales. Rounded to 0.1 day.",
	CEI: "Collection effectiveness index over the period from..to, per currency: (beginning receivables + credit sales " +
		"- ending total receivables) ÷ (beginning receivables + credit sales - ending current receivables) × 100, " +
		"where beginning receivables are those at the start of from, credit sales the amounts of invoices issued in the period, " +
		"ending receivables those at the end of to, and ending current receivables the part of them not yet past due. Rounded to 0.1; null when the divisor is 0.",
	Promises: "Promise-kept rate over promises resolved in the period: kept ÷ (kept + broken) × 100, rounded to 0.1 " +
		"(null with none resolved). A promise is kept when the workflow recorded it kept or the invoice was paid in full while it stood; " +
		"broken when its date passed unmet. Promises that ended otherwise (a dispute, a cancellation) count neither way.",
	Disputes: "Disputes opened in the period, by reason and currency: how many, and the invoices' balances when they were opened.",
	CollectedByStage: "Payments recorded in the period (refunds not subtracted), by the invoice's stage when each arrived " +
		"and currency. The stage is read from the timeline: the stage of the last policy step carried out (issued before any), " +
		"or disputed, promised or paused while one of those stood, escalated after escalation, agency once placed.",
	CollectedByChannel: "Payments recorded in the period, by the channel of the last message sent to the customer about that invoice " +
		"before the payment (email, sms, agency ...; internal notices to the account manager do not count), or none, and currency.",
	MessagesByStage: "Messages sent in the period (outcome sent), by stage: a policy step's message counts under the stage the step moves " +
		"the invoice to (notify → notified, remind → reminded ...); any other message (promise reminders, dispute notices) " +
		"under the invoice's stage at the time.",
}

// Params are a report's period and filter.
type Params struct {
	From, To time.Time // days: the first and last counted (00:00 UTC)
	AsOf     time.Time // a day: receivables at its end
	Currency string    // empty: every currency, row by row
}

func day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func (p Params) start() time.Time   { return day(p.From) }
func (p Params) end() time.Time     { return day(p.To).AddDate(0, 0, 1) }
func (p Params) asOfEnd() time.Time { return day(p.AsOf).AddDate(0, 0, 1) }
func (p Params) inPeriod(t time.Time) bool {
	return !t.Before(p.start()) && t.Before(p.end())
}

// Report is one report's rows, with its definition and parameters.
type Report struct {
	Name       string           `json:"report"`
	Definition string           `json:"definition"`
	From       string           `json:"from"`
	To         string           `json:"to"`
	AsOf       string           `json:"as_of"`
	Currency   string           `json:"currency,omitempty"`
	Columns    []string         `json:"columns"`
	Rows       []map[string]any `json:"rows"`
}

// Data is what the reports read, loaded once.
type Data struct {
	Invoices  []db.Invoice
	Customers map[string]db.Customer
	Payments  map[string][]db.Payment // by invoice, oldest first
	// Stages maps a policy's (name, version) step ids to their stages.
	Stages map[string]map[string]invoice.Stage
}

// Source is what Load reads: the whole book and the stored policies
// (*db.Store has it).
type Source interface {
	policies.Store
	AllInvoices(ctx context.Context, currency string) ([]db.Invoice, error)
	AllPayments(ctx context.Context, currency string) ([]db.Payment, error)
	AllCustomers(ctx context.Context) ([]db.Customer, error)
}

// Load reads the invoices (in p's currency when set), their payments and
// customers, and the policies they run on.
func Load(ctx context.Context, store Source, currency string) (*Data, error) {
	invs, err := store.AllInvoices(ctx, currency)
	if err != nil {
		return nil, err
	}
	pays, err := store.AllPayments(ctx, currency)
	if err != nil {
		return nil, err
	}
	custs, err := store.AllCustomers(ctx)
	if err != nil {
		return nil, err
	}
	d := &Data{Invoices: invs, Customers: map[string]db.Customer{}, Payments: map[string][]db.Payment{}, Stages: map[string]map[string]invoice.Stage{}}
	for _, c := range custs {
		d.Customers[c.ID] = c
	}
	for _, p := range pays {
		d.Payments[p.InvoiceID] = append(d.Payments[p.InvoiceID], p)
	}
	for _, inv := range invs {
		key := policyKey(inv.PolicyName, inv.PolicyVersion)
		if _, ok := d.Stages[key]; ok {
			continue
		}
		steps := map[string]invoice.Stage{}
		if p, ok := policies.Version(ctx, store, inv.PolicyName, inv.PolicyVersion); ok {
			steps = StepStages(p)
		}
		d.Stages[key] = steps
	}
	return d, nil
}

// StepStages maps a policy's step ids to the stage each moves the invoice to.
func StepStages(p policy.Policy) map[string]invoice.Stage {
	out := map[string]invoice.Stage{}
	for _, s := range p.Steps {
		if s.Stage != "" {
			out[s.ID] = s.Stage
		}
	}
	return out
}

func policyKey(name string, version int) string { return fmt.Sprintf("%s@%d", name, version) }

// Run computes the named report; ok is false for an unknown name.
func Run(name string, d *Data, p Params) (r Report, ok bool) {
	if p.Currency != "" {
		d = d.only(p.Currency)
	}
	r = Report{Name: name, Definition: Definitions[name], From: p.start().Format(time.DateOnly), To: day(p.To).Format(time.DateOnly),
		AsOf: day(p.AsOf).Format(time.DateOnly), Currency: p.Currency, Rows: []map[string]any{}}
	switch name {
	case Aging:
		r.Columns, r.Rows = d.aging(p)
	case DSO:
		r.Columns, r.Rows = d.dso(p)
	case CEI:
		r.Columns, r.Rows = d.cei(p)
	case Promises:
		r.Columns, r.Rows = d.promises(p)
	case Disputes:
		r.Columns, r.Rows = d.disputes(p)
	case CollectedByStage:
		r.Columns, r.Rows = d.collected(p, func(c collection) string { return string(c.stage) }, "stage")
	case CollectedByChannel:
		r.Columns, r.Rows = d.collected(p, func(c collection) string { return c.channel }, "channel")
	case MessagesByStage:
		r.Columns, r.Rows = d.messages(p)
	default:
		return r, false
	}
	if r.Rows == nil {
		r.Rows = []map[string]any{}
	}
	return r, true
}

// only is the data of one currency.
func (d *Data) only(currency string) *Data {
	out := *d
	out.Invoices = nil
	for _, inv := range d.Invoices {
		if inv.Currency == currency {
			out.Invoices = append(out.Invoices, inv)
		}
	}
	return &out
}

// balanceAt is the invoice's amount less the payments received before t.
func (d *Data) balanceAt(inv *db.Invoice, t time.Time) int64 {
	b := inv.AmountMinor
	for _, p := range d.Payments[inv.ID] {
		if p.ReceivedAt.Before(t) {
			b -= p.AmountMinor
		}
	}
	return b
}

// receivable is the invoice's balance at t when it is receivable then, else 0.
func (d *Data) receivable(inv *db.Invoice, t time.Time) int64 {
	if inv.Stage == invoice.StageCancelled || !inv.IssuedAt.Before(t) || (inv.ClosedAt != nil && inv.ClosedAt.Before(t)) {
		return 0
	}
	return max(0, d.balanceAt(inv, t))
}

// daysPastDue counts calendar days (UTC) from the due date to the day.
func daysPastDue(due, asOf time.Time) int {
	return int(day(asOf).Sub(day(due)).Hours() / 24)
}

func amount(minor int64, currency string) string { return money.FormatAmount(minor, currency) }

func round1(x float64) float64 { return math.Round(x*10) / 10 }

// --- aging ------------------------------------------------------------------

var buckets = []string{"current", "1_30", "31_60", "61_90", "90_plus"}

func bucket(days int) int {
	switch {
	case days <= 0:
		return 0
	case days <= 30:
		return 1
	case days <= 60:
		return 2
	case days <= 90:
		return 3
	}
	return 4
}

func (d *Data) aging(p Params) ([]string, []map[string]any) {
	type key struct{ group, key, currency string }
	sums := map[key]*[5]int64{}
	at := p.asOfEnd()
	for i := range d.Invoices {
		inv := &d.Invoices[i]
		b := d.receivable(inv, at)
		if b == 0 {
			continue
		}
		manager := d.Customers[inv.CustomerID].AccountManager
		if manager == "" {
			manager = "(none)"
		}
		k := bucket(daysPastDue(inv.DueAt, p.AsOf))
		for _, g := range []key{{"customer", inv.CustomerID, inv.Currency}, {"manager", manager, inv.Currency}, {"currency", inv.Currency, inv.Currency}} {
			if sums[g] == nil {
				sums[g] = &[5]int64{}
			}
			sums[g][k] += b
		}
	}
	keys := make([]key, 0, len(sums))
	for k := range sums {
		keys = append(keys, k)
	}
	order := map[string]int{"customer": 0, "manager": 1, "currency": 2}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(order[a.group], order[b.group]), cmp.Compare(a.key, b.key), cmp.Compare(a.currency, b.currency))
	})
	cols := append(append([]string{"group", "key", "currency"}, buckets...), "total")
	rows := make([]map[string]any, 0, len(keys))
	for _, k := range keys {
		row := map[string]any{"group": k.group, "key": k.key, "currency": k.currency}
		var total int64
		for i, name := range buckets {
			row[name] = amount(sums[k][i], k.currency)
			total += sums[k][i]
		}
		row["total"] = amount(total, k.currency)
		rows = append(rows, row)
	}
	return cols, rows
}

// --- DSO ----------------------------------------------------------------------

func (d *Data) currencies() []string {
	var out []string
	for _, inv := range d.Invoices {
		if !slices.Contains(out, inv.Currency) {
			out = append(out, inv.Currency)
		}
	}
	slices.Sort(out)
	return out
}

func (d *Data) sales(currency string, from, to time.Time) int64 {
	var s int64
	for _, inv := range d.Invoices {
		if inv.Currency == currency && inv.Stage != invoice.StageCancelled && !inv.IssuedAt.Before(from) && inv.IssuedAt.Before(to) {
			s += inv.AmountMinor
		}
	}
	return s
}

func (d *Data) receivables(currency string, t time.Time, onlyCurrent bool, asOfDay time.Time) int64 {
	var r int64
	for i := range d.Invoices {
		inv := &d.Invoices[i]
		if inv.Currency != currency || (onlyCurrent && daysPastDue(inv.DueAt, asOfDay) > 0) {
			continue
		}
		r += d.receivable(inv, t)
	}
	return r
}

func (d *Data) dso(p Params) ([]string, []map[string]any) {
	cols := []string{"currency", "receivables", "months", "dso_days"}
	var rows []map[string]any
	end := p.asOfEnd()
	for _, cur := range d.currencies() {
		left := d.receivables(cur, end, false, p.AsOf)
		earliest := end
		for _, inv := range d.Invoices {
			if inv.Currency == cur && inv.IssuedAt.Before(earliest) {
				earliest = inv.IssuedAt
			}
		}
		var days float64
		months := 0
		for k := 0; left > 0 && k < 240; k++ {
			hi, lo := end.AddDate(0, -k, 0), end.AddDate(0, -k-1, 0)
			if hi.Before(earliest) || hi.Equal(earliest) {
				break // no sales left to count back through
			}
			months++
			length := hi.Sub(lo).Hours() / 24
			s := d.sales(cur, lo, hi)
			if s >= left {
				days += float64(left) / float64(s) * length
				left = 0
				break
			}
			days += length
			left -= s
		}
		rows = append(rows, map[string]any{"currency": cur, "receivables": amount(d.receivables(cur, end, false, p.AsOf), cur),
			"months": months, "dso_days": round1(days)})
	}
	return cols, rows
}

// --- CEI ----------------------------------------------------------------------

func (d *Data) cei(p Params) ([]string, []map[string]any) {
	cols := []string{"currency", "beginning_receivables", "credit_sales", "ending_receivables", "ending_current_receivables", "cei"}
	var rows []map[string]any
	for _, cur := range d.currencies() {
		begin := d.receivables(cur, p.start(), false, p.From)
		sales := d.sales(cur, p.start(), p.end())
		endTotal := d.receivables(cur, p.end(), false, p.To)
		endCurrent := d.receivables(cur, p.end(), true, p.To)
		row := map[string]any{"currency": cur, "beginning_receivables": amount(begin, cur), "credit_sales": amount(sales, cur),
			"ending_receivables": amount(endTotal, cur), "ending_current_receivables": amount(endCurrent, cur), "cei": nil}
		if div := begin + sales - endCurrent; div != 0 {
			row["cei"] = round1(float64(begin+sales-endTotal) / float64(div) * 100)
		}
		rows = append(rows, row)
	}
	return cols, rows
}

// --- timelines ------------------------------------------------------------

func baseStep(key string) string {
	key, _, _ = strings.Cut(key, "#")
	key, _, _ = strings.Cut(key, ":")
	return key
}

// walker follows an invoice's timeline, keeping its stage as the workflow
// had it.
type walker struct {
	steps    map[string]invoice.Stage
	reached  invoice.Stage // the collection stage reached
	promise  bool
	paused   bool
	disputed bool
}

func (w *walker) stage() invoice.Stage {
	switch {
	case w.disputed:
		return invoice.StageDisputed
	case w.promise:
		return invoice.StagePromised
	case w.paused:
		return invoice.StagePaused
	}
	return w.reached
}

// messageStage is the stage a message counts under.
func (w *walker) messageStage(step string) invoice.Stage {
	if s, ok := w.steps[baseStep(step)]; ok {
		return s
	}
	return w.stage()
}

// step applies an event after it is reported.
func (w *walker) step(e invoice.Event) {
	switch e.Kind {
	case invoice.EventMessage, invoice.EventTask, invoice.EventDeliveryConfirmed:
		// A policy step was carried out: the invoice reached its stage (a
		// bounce reported later changes nothing).
		if s, ok := w.steps[baseStep(e.Step)]; ok && e.Outcome != "bounced" {
			w.reached = s
		}
	case invoice.EventEscalated:
		w.reached = invoice.StageEscalated
	case invoice.EventAgencyPlaced:
		w.reached = invoice.StageAgency
	case invoice.EventDisputeOpened:
		w.disputed, w.promise = true, false
	case invoice.EventDisputeResolved:
		w.disputed = false
	case invoice.EventPromise:
		w.promise = true
	case invoice.EventPromiseKept, invoice.EventPromiseBroken, invoice.EventPaid, invoice.EventCancelled, invoice.EventWrittenOff:
		w.promise = false
	case invoice.EventPaused:
		w.paused = true
	case invoice.EventResumed:
		w.paused = false
	}
}

func (d *Data) timeline(inv *db.Invoice) ([]invoice.Event, *walker) {
	w := &walker{steps: d.Stages[policyKey(inv.PolicyName, inv.PolicyVersion)], reached: invoice.StageIssued}
	if inv.Status == nil {
		return nil, w
	}
	return inv.Status.Timeline, w
}

type collection struct {
	stage    invoice.Stage
	channel  string
	currency string
	amount   int64
}

// collections are the payments recorded in the period, each with the stage
// and the channel it is credited to.
func (d *Data) collections(p Params) []collection {
	var out []collection
	for i := range d.Invoices {
		inv := &d.Invoices[i]
		events, w := d.timeline(inv)
		channel := "none"
		for _, e := range events {
			if e.Kind == invoice.EventPayment && p.inPeriod(e.At) {
				out = append(out, collection{stage: w.stage(), channel: channel, currency: inv.Currency, amount: e.AmountMinor})
			}
			if e.Kind == invoice.EventMessage && e.Outcome == db.MessageSent && e.Channel != "manager" {
				channel = e.Channel
			}
			if e.Kind == invoice.EventAgencyPlaced {
				channel = "agency"
			}
			w.step(e)
		}
	}
	return out
}

func (d *Data) collected(p Params, by func(collection) string, col string) ([]string, []map[string]any) {
	type key struct{ by, currency string }
	sums, counts := map[key]int64{}, map[key]int{}
	for _, c := range d.collections(p) {
		k := key{by(c), c.currency}
		sums[k] += c.amount
		counts[k]++
	}
	keys := make([]key, 0, len(sums))
	for k := range sums {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int { return cmp.Or(cmp.Compare(a.by, b.by), cmp.Compare(a.currency, b.currency)) })
	var rows []map[string]any
	for _, k := range keys {
		rows = append(rows, map[string]any{col: k.by, "currency": k.currency, "payments": counts[k], "amount": amount(sums[k], k.currency)})
	}
	return []string{col, "currency", "payments", "amount"}, rows
}

func (d *Data) messages(p Params) ([]string, []map[string]any) {
	counts := map[invoice.Stage]int{}
	for i := range d.Invoices {
		events, w := d.timeline(&d.Invoices[i])
		for _, e := range events {
			if e.Kind == invoice.EventMessage && e.Outcome == db.MessageSent && p.inPeriod(e.At) {
				counts[w.messageStage(e.Step)]++
			}
			w.step(e)
		}
	}
	stages := make([]invoice.Stage, 0, len(counts))
	for s := range counts {
		stages = append(stages, s)
	}
	slices.Sort(stages)
	var rows []map[string]any
	for _, s := range stages {
		rows = append(rows, map[string]any{"stage": string(s), "messages": counts[s]})
	}
	return []string{"stage", "messages"}, rows
}

func (d *Data) promises(p Params) ([]string, []map[string]any) {
	kept, broken := 0, 0
	for i := range d.Invoices {
		events, _ := d.timeline(&d.Invoices[i])
		open := false
		for _, e := range events {
			switch e.Kind {
			case invoice.EventPromise:
				open = true
			case invoice.EventPromiseKept, invoice.EventPaid:
				if open && p.inPeriod(e.At) {
					kept++
				}
				open = false
			case invoice.EventPromiseBroken:
				if open && p.inPeriod(e.At) {
					broken++
				}
				open = false
			case invoice.EventDisputeOpened, invoice.EventCancelled, invoice.EventWrittenOff:
				open = false
			}
		}
	}
	row := map[string]any{"kept": kept, "broken": broken, "rate": nil}
	if kept+broken > 0 {
		row["rate"] = round1(float64(kept) / float64(kept+broken) * 100)
	}
	return []string{"kept", "broken", "rate"}, []map[string]any{row}
}

func (d *Data) disputes(p Params) ([]string, []map[string]any) {
	type key struct{ reason, currency string }
	sums, counts := map[key]int64{}, map[key]int{}
	for i := range d.Invoices {
		inv := &d.Invoices[i]
		events, _ := d.timeline(inv)
		for _, e := range events {
			if e.Kind == invoice.EventDisputeOpened && p.inPeriod(e.At) {
				k := key{e.Outcome, inv.Currency}
				counts[k]++
				sums[k] += d.balanceAt(inv, e.At)
			}
		}
	}
	keys := make([]key, 0, len(sums))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.reason, b.reason), cmp.Compare(a.currency, b.currency))
	})
	var rows []map[string]any
	for _, k := range keys {
		rows = append(rows, map[string]any{"reason": k.reason, "currency": k.currency, "disputes": counts[k], "amount": amount(sums[k], k.currency)})
	}
	return []string{"reason", "currency", "disputes", "amount"}, rows
}
