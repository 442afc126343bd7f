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
//     disputes) count the events of each invoice's timeline as its workflow
//     saved it (db.InvoiceEvent rows, written with each saved status).
//
// Every number is an aggregation the database computes (db.Reports): sums
// of balances over invoices and payments, GROUP BYs over invoice events.
// Go only buckets, walks DSO's few months back, divides and formats.
package reports

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/money"
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
var Names = []string{Aging, DSO, CEI, Promises, Disputes, CollectedByStage, CollectedByChannel, MessagesByStage, PlanKept}

// Definitions say what each report computes; the API docs quote them.
var Definitions = map[string]string{
	PlanKept: planKeptDefinition,
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
	CollectedByStage: "Payments recorded in the period (refunds not subtracted; payments the workflow did not apply, to a closed invoice or " +
		"in another currency, left out), by the invoice's stage when each arrived " +
		"and currency. The stage is read from the timeline: the stage of the last policy step carried out (issued before any), " +
		"or disputed, promised or paused while one of those stood, escalated after escalation, agency once placed.",
	CollectedByChannel: "Payments recorded in the period (those not applied left out), by the payment's own channel when it records one, " +
		"else the channel of the last message sent to the customer about that invoice " +
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

// Source is what the reports read: the database's aggregations (*db.Store
// has them).
type Source interface {
	AgingRows(ctx context.Context, at time.Time, cuts []time.Time, currency string) ([]db.AgingRow, error)
	Receivables(ctx context.Context, at, currentFrom time.Time, currency string) (map[string]db.CurrencyReceivables, error)
	Currencies(ctx context.Context, currency string) ([]db.CurrencyStart, error)
	Sales(ctx context.Context, bounds []time.Time, currency string) (map[string][]int64, error)
	PromiseOutcomes(ctx context.Context, from, to time.Time, currency string) (kept, broken int64, err error)
	DisputesOpened(ctx context.Context, from, to time.Time, currency string) ([]db.Group, error)
	Collected(ctx context.Context, by string, from, to time.Time, currency string) ([]db.Group, error)
	MessagesByStage(ctx context.Context, from, to time.Time, currency string) ([]db.Group, error)
	PlanOutcomes(ctx context.Context, from, to time.Time, currency string) ([]db.PlanOutcomes, error)
}

// Run computes the named report; ok is false for an unknown name.
func Run(ctx context.Context, src Source, name string, p Params) (r Report, ok bool, err error) {
	r = Report{Name: name, Definition: Definitions[name], From: p.start().Format(time.DateOnly), To: day(p.To).Format(time.DateOnly),
		AsOf: day(p.AsOf).Format(time.DateOnly), Currency: p.Currency, Rows: []map[string]any{}}
	q := query{ctx: ctx, src: src, p: p}
	switch name {
	case Aging:
		r.Columns, r.Rows, err = q.aging()
	case DSO:
		r.Columns, r.Rows, err = q.dso()
	case CEI:
		r.Columns, r.Rows, err = q.cei()
	case Promises:
		r.Columns, r.Rows, err = q.promises()
	case Disputes:
		r.Columns, r.Rows, err = q.disputes()
	case CollectedByStage:
		r.Columns, r.Rows, err = q.collected(db.ByStage, "stage")
	case CollectedByChannel:
		r.Columns, r.Rows, err = q.collected(db.ByChannel, "channel")
	case MessagesByStage:
		r.Columns, r.Rows, err = q.messages()
	case PlanKept:
		r.Columns, r.Rows, err = q.planKept()
	default:
		return r, false, nil
	}
	if err != nil {
		return r, true, fmt.Errorf("report %s: %w", name, err)
	}
	if r.Rows == nil {
		r.Rows = []map[string]any{}
	}
	return r, true, nil
}

// query is one report being computed.
type query struct {
	ctx context.Context
	src Source
	p   Params
}

func amount(minor int64, currency string) string { return money.FormatAmount(minor, currency) }

func round1(x float64) float64 { return math.Round(x*10) / 10 }

// --- aging ------------------------------------------------------------------

var buckets = []string{"current", "1_30", "31_60", "61_90", "90_plus"}

// bucketCuts are the due dates that start each bucket but the last, as of
// a day: due on the day or later is current (0 or fewer days past due),
// due 30 days before it or later is 1-30, and so on. Days past due are
// calendar days (UTC) from the due date to the day.
func bucketCuts(asOf time.Time) []time.Time {
	d := day(asOf)
	return []time.Time{d, d.AddDate(0, 0, -30), d.AddDate(0, 0, -60), d.AddDate(0, 0, -90)}
}

func (q query) aging() ([]string, []map[string]any, error) {
	cols := append(append([]string{"group", "key", "currency"}, buckets...), "total")
	found, err := q.src.AgingRows(q.ctx, q.p.asOfEnd(), bucketCuts(q.p.AsOf), q.p.Currency)
	if err != nil {
		return cols, nil, err
	}
	type key struct{ group, key, currency string }
	sums := map[key]*[5]int64{}
	for _, f := range found {
		manager := f.Manager
		if manager == "" {
			manager = "(none)"
		}
		for _, g := range []key{{"customer", f.CustomerID, f.Currency}, {"manager", manager, f.Currency}, {"currency", f.Currency, f.Currency}} {
			if sums[g] == nil {
				sums[g] = &[5]int64{}
			}
			sums[g][f.Bucket] += f.Balance
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
	return cols, rows, nil
}

// --- DSO ----------------------------------------------------------------------

// maxMonths bounds DSO's walk back (20 years); firstMonths is how many
// months of sales the first query sums (each next one sums twice as many
// as the one before, as far as some currency's walk goes).
const (
	maxMonths   = 240
	firstMonths = 3
)

func (q query) dso() ([]string, []map[string]any, error) {
	cols := []string{"currency", "receivables", "months", "dso_days"}
	end := q.p.asOfEnd()
	currencies, err := q.src.Currencies(q.ctx, q.p.Currency)
	if err != nil {
		return cols, nil, err
	}
	recv, err := q.src.Receivables(q.ctx, end, day(q.p.AsOf), q.p.Currency)
	if err != nil {
		return cols, nil, err
	}
	// Month k is [end - (k+1) months, end - k months); its sales are read
	// for every currency at once, a few months per query (firstMonths,
	// then twice as many each time), only as far back as some currency's
	// walk goes.
	sales := map[string][]int64{}
	fetched, chunk := 0, firstMonths
	monthSales := func(cur string, k int) (int64, error) {
		for k >= fetched {
			n := min(chunk, maxMonths-fetched)
			bounds := make([]time.Time, n+1)
			for j := range bounds {
				bounds[j] = end.AddDate(0, -(fetched + j), 0)
			}
			got, err := q.src.Sales(q.ctx, bounds, q.p.Currency)
			if err != nil {
				return 0, err
			}
			for _, c := range currencies {
				s := got[c.Currency]
				if s == nil {
					s = make([]int64, n)
				}
				sales[c.Currency] = append(sales[c.Currency], s...)
			}
			fetched, chunk = fetched+n, chunk*2
		}
		return sales[cur][k], nil
	}
	var rows []map[string]any
	for _, c := range currencies {
		cur := c.Currency
		left := recv[cur].Total
		earliest := end
		if c.First.Before(earliest) {
			earliest = c.First
		}
		var days float64
		months := 0
		for k := 0; left > 0 && k < maxMonths; k++ {
			hi, lo := end.AddDate(0, -k, 0), end.AddDate(0, -k-1, 0)
			if !hi.After(earliest) {
				break // no sales left to count back through
			}
			months++
			length := hi.Sub(lo).Hours() / 24
			s, err := monthSales(cur, k)
			if err != nil {
				return cols, nil, err
			}
			if s >= left {
				days += float64(left) / float64(s) * length
				left = 0
				break
			}
			days += length
			left -= s
		}
		rows = append(rows, map[string]any{"currency": cur, "receivables": amount(recv[cur].Total, cur),
			"months": months, "dso_days": round1(days)})
	}
	return cols, rows, nil
}

// --- CEI ----------------------------------------------------------------------

func (q query) cei() ([]string, []map[string]any, error) {
	cols := []string{"currency", "beginning_receivables", "credit_sales", "ending_receivables", "ending_current_receivables", "cei"}
	currencies, err := q.src.Currencies(q.ctx, q.p.Currency)
	if err != nil {
		return cols, nil, err
	}
	begin, err := q.src.Receivables(q.ctx, q.p.start(), day(q.p.From), q.p.Currency)
	if err != nil {
		return cols, nil, err
	}
	ending, err := q.src.Receivables(q.ctx, q.p.end(), day(q.p.To), q.p.Currency)
	if err != nil {
		return cols, nil, err
	}
	sales, err := q.src.Sales(q.ctx, []time.Time{q.p.end(), q.p.start()}, q.p.Currency)
	if err != nil {
		return cols, nil, err
	}
	var rows []map[string]any
	for _, c := range currencies {
		cur := c.Currency
		b, e, ec := begin[cur].Total, ending[cur].Total, ending[cur].Current
		var s int64
		if got := sales[cur]; got != nil {
			s = got[0]
		}
		row := map[string]any{"currency": cur, "beginning_receivables": amount(b, cur), "credit_sales": amount(s, cur),
			"ending_receivables": amount(e, cur), "ending_current_receivables": amount(ec, cur), "cei": nil}
		if div := b + s - ec; div != 0 {
			row["cei"] = round1(float64(b+s-e) / float64(div) * 100)
		}
		rows = append(rows, row)
	}
	return cols, rows, nil
}

// --- timelines ------------------------------------------------------------

// sorted orders grouped rows by key, then currency (byte order, the same on
// every database).
func sorted(groups []db.Group) []db.Group {
	slices.SortFunc(groups, func(a, b db.Group) int {
		return cmp.Or(cmp.Compare(a.Key, b.Key), cmp.Compare(a.Currency, b.Currency))
	})
	return groups
}

func (q query) collected(by, col string) ([]string, []map[string]any, error) {
	cols := []string{col, "currency", "payments", "amount"}
	groups, err := q.src.Collected(q.ctx, by, q.p.start(), q.p.end(), q.p.Currency)
	if err != nil {
		return cols, nil, err
	}
	var rows []map[string]any
	for _, g := range sorted(groups) {
		rows = append(rows, map[string]any{col: g.Key, "currency": g.Currency, "payments": int(g.N), "amount": amount(g.Amount, g.Currency)})
	}
	return cols, rows, nil
}

func (q query) messages() ([]string, []map[string]any, error) {
	cols := []string{"stage", "messages"}
	groups, err := q.src.MessagesByStage(q.ctx, q.p.start(), q.p.end(), q.p.Currency)
	if err != nil {
		return cols, nil, err
	}
	var rows []map[string]any
	for _, g := range sorted(groups) {
		rows = append(rows, map[string]any{"stage": g.Key, "messages": int(g.N)})
	}
	return cols, rows, nil
}

func (q query) promises() ([]string, []map[string]any, error) {
	cols := []string{"kept", "broken", "rate"}
	kept, broken, err := q.src.PromiseOutcomes(q.ctx, q.p.start(), q.p.end(), q.p.Currency)
	if err != nil {
		return cols, nil, err
	}
	row := map[string]any{"kept": int(kept), "broken": int(broken), "rate": nil}
	if kept+broken > 0 {
		row["rate"] = round1(float64(kept) / float64(kept+broken) * 100)
	}
	return cols, []map[string]any{row}, nil
}

func (q query) disputes() ([]string, []map[string]any, error) {
	cols := []string{"reason", "currency", "disputes", "amount"}
	groups, err := q.src.DisputesOpened(q.ctx, q.p.start(), q.p.end(), q.p.Currency)
	if err != nil {
		return cols, nil, err
	}
	var rows []map[string]any
	for _, g := range sorted(groups) {
		rows = append(rows, map[string]any{"reason": g.Key, "currency": g.Currency, "disputes": int(g.N), "amount": amount(g.Amount, g.Currency)})
	}
	return cols, rows, nil
}
