package db

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"github.com/collections-engine/collections/invoice"
)

// Reports is the read side of the reports and the metrics. Every report is
// an aggregation the database computes (package reports says what each
// means and shapes the rows): the receivables reports read invoices and
// sum payments, the timeline reports group invoice_events (events.go).
// Nothing here loads the book into memory; each query returns grouped rows.
type Reports struct{ db bun.IDB }

// NewReports wraps a database or a transaction.
func NewReports(db bun.IDB) *Reports { return &Reports{db: db} }

// receivableAt is the FROM and WHERE of the invoices receivable at a
// moment, each with its balance then (columns customer_id, currency,
// due_at, balance of r): issued before it, not closed before it, not
// cancelled, and a balance above 0; with its args.
//
// The balance at a moment is the amount less the payments (refunds
// negative) received before it. It is computed as balance_minor (the
// amount less every payment: setBalance keeps it so on every write that
// moves money) plus the payments received at or after the moment, which at
// a recent moment are few: a report at today reads no payments per
// invoice. The two databases get the same sum written the way each plans
// well: PostgreSQL joins the later payments grouped by invoice (found by
// payments_received_at_idx) to the invoices not closed before the moment
// (a bitmap OR over invoices_closed_at_idx); SQLite, which would scan
// every payment to group them and every invoice for the OR, takes the open
// and the since-closed invoices as two index searches and probes
// payments_invoice_received_idx per invoice.
func (r *Reports) receivableAt(at time.Time, currency string) (string, []any) {
	cur, args := "", []any{at, at, at}
	if currency != "" {
		cur, args = ` AND inv.currency = ?`, append(args, currency)
	}
	if r.db.Dialect().Name() == dialect.PG {
		return `FROM (SELECT inv.customer_id, inv.currency, inv.due_at, inv.balance_minor + COALESCE(later.amount, 0) AS balance
	FROM invoices AS inv
	LEFT JOIN (SELECT invoice_id, SUM(amount_minor) AS amount FROM payments WHERE received_at >= ? GROUP BY invoice_id) AS later
		ON later.invoice_id = inv.id
	WHERE inv.stage <> 'cancelled' AND inv.issued_at < ? AND (inv.closed_at IS NULL OR inv.closed_at >= ?)` + cur + `) AS r
	WHERE r.balance > 0`, args
	}
	branch := func(closed string) string {
		return `SELECT inv.customer_id, inv.currency, inv.due_at, inv.balance_minor + COALESCE((SELECT SUM(p.amount_minor) FROM payments AS p
			WHERE p.invoice_id = inv.id AND p.received_at >= ?), 0) AS balance
		FROM invoices AS inv WHERE ` + closed + ` AND inv.stage <> 'cancelled' AND inv.issued_at < ?` + cur
	}
	args = []any{at, at}
	if currency != "" {
		args = append(args, currency)
	}
	args = append(append(args, at), args...)
	return `FROM (` + branch("inv.closed_at IS NULL") + `
	UNION ALL
	` + branch("inv.closed_at >= ?") + `) AS r
	WHERE r.balance > 0`, args
}

// AgingRow is the balance receivable of one customer in one currency and
// one bucket of days past due.
type AgingRow struct {
	CustomerID string `bun:"customer_id"`
	Manager    string `bun:"manager"` // the customer's account manager; "" for none
	Currency   string `bun:"currency"`
	Bucket     int    `bun:"bucket"`
	Balance    int64  `bun:"balance"`
}

// AgingRows sums the balances receivable at the moment at by customer,
// currency and bucket: an invoice is in bucket i for the first cut with
// due_at >= cuts[i] (cuts from latest to earliest), else in bucket
// len(cuts). Only buckets with a balance are returned.
func (r *Reports) AgingRows(ctx context.Context, at time.Time, cuts []time.Time, currency string) ([]AgingRow, error) {
	var bucket strings.Builder
	var args []any
	bucket.WriteString("CASE")
	for i, c := range cuts {
		fmt.Fprintf(&bucket, " WHEN r.due_at >= ? THEN %d", i)
		args = append(args, c)
	}
	fmt.Fprintf(&bucket, " ELSE %d END", len(cuts))
	// Summed by customer first, then joined to the customers for their
	// managers: the join sees one row per customer and bucket.
	from, fromArgs := r.receivableAt(at, currency)
	q := `SELECT g.customer_id, COALESCE(c.account_manager, '') AS manager, g.currency, g.bucket, g.balance
	FROM (SELECT r.customer_id, r.currency, ` + bucket.String() + ` AS bucket, SUM(r.balance) AS balance
		` + from + `
		GROUP BY 1, 2, 3) AS g
	LEFT JOIN customers AS c ON c.id = g.customer_id`
	args = append(args, fromArgs...)
	out := []AgingRow{}
	err := r.db.NewRaw(q, args...).Scan(ctx, &out)
	return out, err
}

// CurrencyReceivables are one currency's receivables at a moment: all of
// them, and those not yet past due.
type CurrencyReceivables struct {
	Currency string `bun:"currency"`
	Total    int64  `bun:"total"`
	Current  int64  `bun:"current_total"`
}

// Receivables sums the balances receivable at the moment at by currency;
// Current is the part due at or after currentFrom (the start of the day
// the days past due are counted to).
func (r *Reports) Receivables(ctx context.Context, at, currentFrom time.Time, currency string) (map[string]CurrencyReceivables, error) {
	from, args := r.receivableAt(at, currency)
	q := `SELECT r.currency, SUM(r.balance) AS total,
		SUM(CASE WHEN r.due_at >= ? THEN r.balance ELSE 0 END) AS current_total
	` + from + `
	GROUP BY r.currency`
	var rows []CurrencyReceivables
	if err := r.db.NewRaw(q, append([]any{currentFrom}, args...)...).Scan(ctx, &rows); err != nil {
		return nil, err
	}
	out := make(map[string]CurrencyReceivables, len(rows))
	for _, row := range rows {
		out[row.Currency] = row
	}
	return out, nil
}

// CurrencyStart is a currency the book holds and when its first invoice
// was issued.
type CurrencyStart struct {
	Currency string    `bun:"currency"`
	First    time.Time `bun:"first"`
}

// Currencies lists the currencies of the invoices (cancelled ones too), in
// order, each with its earliest issue; only currency when one is given.
// It skips from one currency to the next along invoices_currency_issued_idx
// (a recursive query: one index probe per currency), where a GROUP BY would
// read every invoice.
func (r *Reports) Currencies(ctx context.Context, currency string) ([]CurrencyStart, error) {
	q := `WITH RECURSIVE cur (currency) AS (
		SELECT MIN(currency) FROM invoices
		UNION ALL
		SELECT (SELECT MIN(i.currency) FROM invoices AS i WHERE i.currency > cur.currency) FROM cur WHERE cur.currency IS NOT NULL
	)
	SELECT cur.currency, (SELECT MIN(i.issued_at) FROM invoices AS i WHERE i.currency = cur.currency) AS first
	FROM cur WHERE cur.currency IS NOT NULL`
	var args []any
	if currency != "" {
		q, args = `SELECT currency, MIN(issued_at) AS first FROM invoices WHERE currency = ? GROUP BY currency`, []any{currency}
	}
	out := []CurrencyStart{}
	if err := r.db.NewRaw(q, args...).Scan(ctx, &out); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b CurrencyStart) int { return cmp.Compare(a.Currency, b.Currency) })
	return out, nil
}

// Sales sums the credit sales (amounts of the invoices issued, cancelled
// ones left out) by currency in consecutive periods: bounds run from the
// latest to the earliest, and period k is [bounds[k+1], bounds[k]). Each
// currency's slice has len(bounds)-1 sums.
func (r *Reports) Sales(ctx context.Context, bounds []time.Time, currency string) (map[string][]int64, error) {
	if len(bounds) < 2 {
		return map[string][]int64{}, nil
	}
	period, args := "0", []any{}
	if len(bounds) > 2 {
		var b strings.Builder
		b.WriteString("CASE")
		for k := 1; k < len(bounds)-1; k++ {
			fmt.Fprintf(&b, " WHEN issued_at >= ? THEN %d", k-1)
			args = append(args, bounds[k])
		}
		fmt.Fprintf(&b, " ELSE %d END", len(bounds)-2)
		period = b.String()
	}
	q := `SELECT currency, ` + period + ` AS k, SUM(amount_minor) AS sales FROM invoices
	WHERE stage <> 'cancelled' AND issued_at >= ? AND issued_at < ?`
	args = append(args, bounds[len(bounds)-1], bounds[0])
	if currency != "" {
		q += ` AND currency = ?`
		args = append(args, currency)
	}
	q += ` GROUP BY 1, 2`
	var rows []struct {
		Currency string `bun:"currency"`
		K        int    `bun:"k"`
		Sales    int64  `bun:"sales"`
	}
	if err := r.db.NewRaw(q, args...).Scan(ctx, &rows); err != nil {
		return nil, err
	}
	out := map[string][]int64{}
	for _, row := range rows {
		if out[row.Currency] == nil {
			out[row.Currency] = make([]int64, len(bounds)-1)
		}
		out[row.Currency][row.K] = row.Sales
	}
	return out, nil
}

// eventsIn starts a query over the invoice_events of some kinds in the
// period [from, to), in one currency when given.
func (r *Reports) eventsIn(from, to time.Time, currency string, kinds ...string) *bun.SelectQuery {
	q := r.db.NewSelect().Model((*InvoiceEvent)(nil)).
		Where("ie.kind IN (?)", bun.In(kinds)).Where("ie.at >= ?", from).Where("ie.at < ?", to)
	if currency != "" {
		q = q.Where("ie.currency = ?", currency)
	}
	return q
}

// PromiseOutcomes counts the promises resolved in [from, to): kept (the
// workflow recorded it kept, or the invoice was paid while it stood) and
// broken.
func (r *Reports) PromiseOutcomes(ctx context.Context, from, to time.Time, currency string) (kept, broken int64, err error) {
	var row struct {
		Kept   int64 `bun:"kept"`
		Broken int64 `bun:"broken"`
	}
	err = r.eventsIn(from, to, currency, invoice.EventPromiseKept, invoice.EventPaid, invoice.EventPromiseBroken).
		ColumnExpr("COALESCE(SUM(CASE WHEN ie.kind = ? THEN 0 ELSE 1 END), 0) AS kept", invoice.EventPromiseBroken).
		ColumnExpr("COALESCE(SUM(CASE WHEN ie.kind = ? THEN 1 ELSE 0 END), 0) AS broken", invoice.EventPromiseBroken).
		Where("ie.promise_open").Scan(ctx, &row)
	return row.Kept, row.Broken, err
}

// Group is one row of a grouped report: its key, currency, how many and
// how much.
type Group struct {
	Key      string `bun:"k"`
	Currency string `bun:"currency"`
	N        int64  `bun:"n"`
	Amount   int64  `bun:"amount"`
}

// DisputesOpened groups the disputes opened in [from, to) by reason and
// currency, summing the invoices' balances when each was opened (the
// amount less the payments received before it).
func (r *Reports) DisputesOpened(ctx context.Context, from, to time.Time, currency string) ([]Group, error) {
	out := []Group{}
	err := r.eventsIn(from, to, currency, invoice.EventDisputeOpened).
		Join("JOIN invoices AS inv ON inv.id = ie.invoice_id").
		ColumnExpr("ie.outcome AS k, ie.currency, COUNT(*) AS n").
		ColumnExpr(`SUM(inv.amount_minor - COALESCE((SELECT SUM(p.amount_minor) FROM payments AS p
			WHERE p.invoice_id = ie.invoice_id AND p.received_at < ie.at), 0)) AS amount`).
		Group("ie.outcome", "ie.currency").Scan(ctx, &out)
	return out, err
}

// Collected groupings.
const (
	ByStage   = "stage"
	ByChannel = "channel"
)

// collectedChannel is the channel a payment is credited to: its own when
// the payment event records one, else the channel of the last message
// sent before it. Payments made on the customer portal record "portal"
// (their reference starts with PortalPaymentPrefix, see eventChannel).
const collectedChannel = "CASE WHEN ie.channel <> '' THEN ie.channel ELSE ie.prior_channel END"

// Collected groups the payments recorded in [from, to) (refunds are not
// payment events; payments the workflow did not apply are left out) by the
// stage the invoice was in when each arrived (ByStage) or the channel it is
// credited to (ByChannel), and currency.
func (r *Reports) Collected(ctx context.Context, by string, from, to time.Time, currency string) ([]Group, error) {
	key := "ie.stage"
	if by == ByChannel {
		key = collectedChannel
	}
	out := []Group{}
	err := r.eventsIn(from, to, currency, invoice.EventPayment).Where("ie.outcome <> ?", NotApplied).
		ColumnExpr(key+" AS k").ColumnExpr("ie.currency, COUNT(*) AS n, SUM(ie.amount_minor) AS amount").
		GroupExpr("1, 2").Scan(ctx, &out)
	return out, err
}

// MessagesByStage counts the messages sent in [from, to) by the stage each
// counts under (Key; Currency is empty, Amount 0).
func (r *Reports) MessagesByStage(ctx context.Context, from, to time.Time, currency string) ([]Group, error) {
	out := []Group{}
	err := r.eventsIn(from, to, currency, invoice.EventMessage).Where("ie.outcome = ?", MessageSent).
		ColumnExpr("ie.stage AS k, COUNT(*) AS n").Group("ie.stage").Scan(ctx, &out)
	return out, err
}

// InvoicesByStage counts the invoices in each stage, for the
// collections_invoices gauge (computed when /metrics is scraped).
func (r *Reports) InvoicesByStage(ctx context.Context) (map[string]int64, error) {
	var rows []struct {
		Stage string `bun:"stage"`
		N     int64  `bun:"n"`
	}
	if err := r.db.NewSelect().Model((*Invoice)(nil)).
		ColumnExpr("stage").ColumnExpr("count(*) AS n").
		Group("stage").Scan(ctx, &rows); err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.Stage] = r.N
	}
	return out, nil
}
