package db

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/money"
)

// The worklist over the whole book, answered by the database: every open
// invoice is scored, filtered, ordered and paged in one query. What the
// score needs and SQL cannot compute portably (a logarithm, a count of
// broken promises inside the saved status JSON) is stored on the invoice
// and kept current where it changes (see the hooks below); days overdue
// are derived at read time from due_unix, and the customer's payment trend
// is a column of customers kept current when a payment closes an invoice.

// AmountLog is log10(1 + balance in major units) × 10,000, rounded; 0 when
// nothing is owed. The worklist's amount part is a multiple of it.
func AmountLog(balanceMinor int64, currency string) int64 {
	if balanceMinor <= 0 {
		return 0
	}
	major := float64(balanceMinor) / math.Pow10(max(money.Scale(currency), 0))
	return int64(math.Round(math.Log10(1+major) * 10000))
}

// AmountTenths is the amount part, in tenths of a point, for perTenfold
// tenths of a point per tenfold of the balance: the same integer formula
// the query uses, so the score shown is the score ranked by.
func AmountTenths(amountLog, perTenfold int64) int64 { return (perTenfold*amountLog + 5000) / 10000 }

// brokenCount counts a status's broken promises.
func brokenCount(st *invoice.Status) int {
	if st == nil {
		return 0
	}
	n := 0
	for _, e := range st.Timeline {
		if e.Kind == invoice.EventPromiseBroken {
			n++
		}
	}
	return n
}

func promiseUntil(st *invoice.Status) *int64 {
	if st == nil || st.Promise == nil {
		return nil
	}
	u := st.Promise.Date.Unix()
	return &u
}

// BeforeAppendModel fills the worklist's columns of an invoice being
// inserted (or written whole) from its other fields.
func (inv *Invoice) BeforeAppendModel(_ context.Context, q bun.Query) error {
	switch q.(type) {
	case *bun.InsertQuery, *bun.UpdateQuery:
		inv.DueUnix = inv.DueAt.Unix()
		inv.AmountLog = AmountLog(inv.BalanceMinor, inv.Currency)
		inv.BrokenPromises = brokenCount(inv.Status)
		inv.PromiseUntil = promiseUntil(inv.Status)
	}
	return nil
}

// setStatusFacts adds to a status save the worklist's columns the status
// decides: the broken promises and the open promise's date.
func setStatusFacts(q *bun.UpdateQuery, st *invoice.Status) *bun.UpdateQuery {
	return q.Set("broken_promises = ?", brokenCount(st)).Set("promise_until = ?", promiseUntil(st))
}

// setAmountLog keeps amount_log current after the balance changed.
func setAmountLog(ctx context.Context, tx bun.IDB, invoiceID string, balance int64) error {
	var cur string
	if err := tx.NewSelect().Model((*Invoice)(nil)).Column("currency").Where("id = ?", invoiceID).Scan(ctx, &cur); err != nil {
		return err
	}
	_, err := tx.NewUpdate().Model((*Invoice)(nil)).Set("amount_log = ?", AmountLog(balance, cur)).Where("id = ?", invoiceID).Exec(ctx)
	return err
}

// backfillWorklist fills the worklist's columns of invoices written before
// they existed (due_unix or amount_log NULL), a batch at a time. It is
// idempotent and runs after every migration.
func backfillWorklist(ctx context.Context, db bun.IDB) error {
	for {
		var batch []Invoice
		if err := db.NewSelect().Model(&batch).Column("id", "due_at", "balance_minor", "currency", "status").
			Where("due_unix IS NULL OR amount_log IS NULL").Order("id").Limit(500).Scan(ctx); err != nil {
			return fmt.Errorf("backfill worklist: %w", err)
		}
		if len(batch) == 0 {
			return nil
		}
		err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			for _, inv := range batch {
				if _, err := tx.NewUpdate().Model((*Invoice)(nil)).Set("due_unix = ?", inv.DueAt.Unix()).
					Set("amount_log = ?", AmountLog(inv.BalanceMinor, inv.Currency)).
					Set("broken_promises = ?", brokenCount(inv.Status)).Set("promise_until = ?", promiseUntil(inv.Status)).
					Where("id = ?", inv.ID).Exec(ctx); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("backfill worklist: %w", err)
		}
	}
}

// closedStages are the stages invoice.Stage.Closed reports closed.
var closedStages = []invoice.Stage{invoice.StagePaid, invoice.StageCancelled, invoice.StageWrittenOff,
	invoice.StageCollected, invoice.StageReturned}

// unchasedStages are open stages whose invoices are not chased now: a
// dispute waits for its decision, a person paused it, or the agency has it
// (a promise for a later date is checked against promise_until).
var unchasedStages = []invoice.Stage{invoice.StageDisputed, invoice.StagePaused, invoice.StageAgency}

// WorklistRule is the priority rule in integer tenths of a point (desk
// turns its Weights into one), so that SQL and Go add the same integers.
type WorklistRule struct {
	AmountPerTenfold  int64 // × amount_log / 10,000, rounded (AmountTenths)
	PerDay            int64 // × days overdue, up to MaxDays
	MaxDays           int64
	PerBrokenPromise  int64 // × broken promises, up to MaxBrokenPromises
	MaxBrokenPromises int64
	WorseningTrend    int64
	Stage             map[invoice.Stage]int64
	TaskOverdue       int64 // per open task past its due time
	TaskDue           int64 // per open task due within TaskDueWithin
	TaskDueWithin     time.Duration
}

// Overdue buckets, by whole days past due (as the aging splits them).
const (
	BucketCurrent = "current" // not yet due
	Bucket1To30   = "1-30"
	Bucket31To60  = "31-60"
	Bucket61To90  = "61-90"
	BucketOver90  = "90+"
)

// Buckets lists the overdue buckets in order.
var Buckets = []string{BucketCurrent, Bucket1To30, Bucket31To60, Bucket61To90, BucketOver90}

// WorklistFilter narrows the worklist; zero values match everything.
type WorklistFilter struct {
	// Manager: the invoices of this account manager's customers are
	// chased, and the open tasks assigned to them count (on any invoice).
	// Empty: every invoice and every open task.
	Manager  string
	Currency string
	Stage    invoice.Stage
	Bucket   string // one of Buckets
	// MinBalanceMinor keeps rows whose balance is at least this (minor
	// units of Currency, which must then be set).
	MinBalanceMinor int64
	HasTask         *bool // rows with (true) or without (false) open tasks
}

// WorklistKey is the sort key of a worklist row: score, days overdue, next
// task due, currency, overdue balance, number, id. A cursor carries the
// key of the last row of a page and the moment the list was ranked at.
type WorklistKey struct {
	AsOf         int64     `json:"t"`
	ScoreTenths  int64     `json:"s"`
	DaysOverdue  int64     `json:"d"`
	NextTaskDue  time.Time `json:"n"`
	Currency     string    `json:"c"`
	OverdueMinor int64     `json:"o"`
	Number       string    `json:"u"`
	InvoiceID    string    `json:"i"`
	// Total is the first page's count, which later pages repeat rather
	// than count the book again.
	Total int `json:"c2,omitempty"`
}

// ErrBadCursor is returned for a cursor this server did not hand out.
var ErrBadCursor = errors.New("not a cursor this server gave")

// Encode is the opaque cursor for a key.
func (k WorklistKey) Encode() string {
	b, _ := json.Marshal(k)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeWorklistCursor reads a cursor Encode made.
func DecodeWorklistCursor(s string) (WorklistKey, error) {
	var k WorklistKey
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &k) != nil || k.AsOf <= 0 || k.InvoiceID == "" {
		return WorklistKey{}, ErrBadCursor
	}
	return k, nil
}

// noTaskDue stands for "no open task" in the sort key: after every real due time.
var noTaskDue = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// WorklistRow is one ranked row, with the facts its score came from.
type WorklistRow struct {
	InvoiceID      string        `bun:"id"`
	CustomerID     string        `bun:"customer_id"`
	CustomerName   string        `bun:"customer_name"`
	AccountManager string        `bun:"account_manager"`
	Number         string        `bun:"number"`
	Currency       string        `bun:"currency"`
	BalanceMinor   int64         `bun:"balance_minor"`
	DueAt          time.Time     `bun:"due_at"`
	Stage          invoice.Stage `bun:"stage"`
	AmountLog      int64         `bun:"amount_log"`
	BrokenPromises int           `bun:"broken_promises"`
	PaymentTrend   string        `bun:"payment_trend"`
	Chase          bool          `bun:"chase"`
	Tasks          int           `bun:"ntasks"`
	TaskTenths     int64         `bun:"task_pts"`
	NextTaskDue    time.Time     `bun:"next_due"` // noTaskDue when there is none
	DaysOverdue    int64         `bun:"days"`
	OverdueMinor   int64         `bun:"overdue_minor"`
	ScoreTenths    int64         `bun:"score"`
}

// Key is the row's sort key at asOf.
func (r WorklistRow) Key(asOf int64) WorklistKey {
	return WorklistKey{AsOf: asOf, ScoreTenths: r.ScoreTenths, DaysOverdue: r.DaysOverdue, NextTaskDue: r.NextTaskDue.UTC(),
		Currency: r.Currency, OverdueMinor: r.OverdueMinor, Number: r.Number, InvoiceID: r.InvoiceID}
}

// WorklistPage is one page of the ranked worklist.
type WorklistPage struct {
	AsOf time.Time
	// Total is the rows of the whole list (every page), filters applied,
	// counted with the first page (later pages carry it in the cursor).
	Total int
	Rows  []WorklistRow
	Next  *WorklistKey // the cursor's key for the next page; nil on the last
}

// bucketRange is the due_unix range [lo, hi) of an overdue bucket at now
// (0 for an open end).
func bucketRange(bucket string, now int64) (lo, hi int64, err error) {
	day := int64(86400)
	switch bucket {
	case BucketCurrent:
		return now, 0, nil
	case Bucket1To30: // overdue, days 0..30
		return now - 31*day + 1, now, nil
	case Bucket31To60:
		return now - 61*day + 1, now - 31*day + 1, nil
	case Bucket61To90:
		return now - 91*day + 1, now - 61*day + 1, nil
	case BucketOver90:
		return 0, now - 91*day + 1, nil
	}
	return 0, 0, fmt.Errorf("bucket %q: not one of %s", bucket, strings.Join(Buckets, ", "))
}

// worklistSQL is the scored book: every open invoice with its open tasks
// (for the filter's manager) and its score. The arguments
// are returned beside it, in the order of the placeholders.
func worklistSQL(f WorklistFilter, rule WorklistRule, now time.Time) (string, []any, error) {
	n := now.Unix()
	var args []any
	var b strings.Builder
	// Open tasks per invoice: how many, the earliest due, their points.
	b.WriteString(`WITH tk AS (SELECT invoice_id, COUNT(*) AS n, MIN(due_at) AS next_due,
  SUM(CASE WHEN due_at < ? THEN ? WHEN due_at < ? THEN ? ELSE 0 END) AS pts
  FROM tasks WHERE status = 'open' AND invoice_id IS NOT NULL`)
	args = append(args, now, rule.TaskOverdue, now.Add(rule.TaskDueWithin), rule.TaskDue)
	if f.Manager != "" {
		b.WriteString(" AND assignee = ?")
		args = append(args, f.Manager)
	}
	b.WriteString(" GROUP BY invoice_id),\n")
	// Each open invoice: is it chased now, and its facts. Customers are
	// not joined here (only the page's rows are, below): the manager and a
	// worsening trend are semi-joins on the few customers that match.
	b.WriteString(`base AS (SELECT inv.id, inv.customer_id, inv.number, inv.currency,
  inv.balance_minor, inv.due_at, inv.due_unix, inv.stage, COALESCE(inv.amount_log, 0) AS amount_log, inv.broken_promises,
  CASE WHEN inv.customer_id IN (SELECT id FROM customers WHERE payment_trend = 'worsening') THEN 1 ELSE 0 END AS worsening,
  CASE WHEN `)
	if f.Manager != "" {
		b.WriteString("inv.customer_id IN (SELECT id FROM customers WHERE account_manager = ?) AND ")
		args = append(args, f.Manager)
	}
	b.WriteString(`inv.balance_minor > 0 AND inv.due_unix < ? AND inv.stage NOT IN (?)
    AND NOT (inv.stage = ? AND inv.promise_until IS NOT NULL AND inv.promise_until > ?) THEN 1 ELSE 0 END AS chase,
  COALESCE(tk.n, 0) AS ntasks, COALESCE(tk.pts, 0) AS task_pts, COALESCE(tk.next_due, ?) AS next_due
  FROM invoices AS inv LEFT JOIN tk ON tk.invoice_id = inv.id
  WHERE inv.closed_at IS NULL AND inv.stage NOT IN (?)`)
	args = append(args, n, bun.In(unchasedStages), invoice.StagePromised, n, noTaskDue, bun.In(closedStages))
	if f.Manager != "" {
		b.WriteString(" AND (inv.customer_id IN (SELECT id FROM customers WHERE account_manager = ?) OR tk.n IS NOT NULL)")
		args = append(args, f.Manager)
	}
	if f.Currency != "" {
		b.WriteString(" AND inv.currency = ?")
		args = append(args, f.Currency)
	}
	if f.Stage != "" {
		b.WriteString(" AND inv.stage = ?")
		args = append(args, f.Stage)
	}
	if f.Bucket != "" {
		lo, hi, err := bucketRange(f.Bucket, n)
		if err != nil {
			return "", nil, err
		}
		if lo != 0 {
			b.WriteString(" AND inv.due_unix >= ?")
			args = append(args, lo)
		}
		if hi != 0 {
			b.WriteString(" AND inv.due_unix < ?")
			args = append(args, hi)
		}
	}
	if f.MinBalanceMinor > 0 {
		b.WriteString(" AND inv.balance_minor >= ?")
		args = append(args, f.MinBalanceMinor)
	}
	if f.HasTask != nil {
		if *f.HasTask {
			b.WriteString(" AND tk.n > 0")
		} else {
			b.WriteString(" AND tk.n IS NULL")
		}
	}
	b.WriteString("),\n")
	// Days overdue (chased rows only), capped for the score.
	b.WriteString(`aged AS (SELECT base.*, CASE WHEN chase = 1 THEN (? - due_unix) / 86400 ELSE 0 END AS days,
  CASE WHEN chase = 1 THEN balance_minor ELSE 0 END AS overdue_minor FROM base WHERE chase = 1 OR ntasks > 0),
`)
	args = append(args, n)
	// The score, in tenths: the same integers desk adds for the rows shown.
	b.WriteString(`scored AS (SELECT aged.*, task_pts + CASE WHEN chase = 1 THEN
    (? * amount_log + 5000) / 10000
    + ? * (CASE WHEN days < ? THEN days ELSE ? END)
    + ? * (CASE WHEN broken_promises < ? THEN broken_promises ELSE ? END)
    + CASE WHEN worsening = 1 THEN ? ELSE 0 END
    + CASE stage`)
	args = append(args, rule.AmountPerTenfold, rule.PerDay, rule.MaxDays, rule.MaxDays,
		rule.PerBrokenPromise, rule.MaxBrokenPromises, rule.MaxBrokenPromises, rule.WorseningTrend)
	stages := make([]string, 0, len(rule.Stage))
	for st := range rule.Stage {
		stages = append(stages, string(st))
	}
	slices.Sort(stages)
	for _, st := range stages {
		b.WriteString(" WHEN ? THEN ?")
		args = append(args, st, rule.Stage[invoice.Stage(st)])
	}
	b.WriteString(" ELSE 0 END\n  ELSE 0 END AS score FROM aged)\n")
	return b.String(), args, nil
}

const worklistColumns = "id, customer_id, number, currency, balance_minor, due_at, stage, " +
	"amount_log, broken_promises, chase, ntasks, task_pts, next_due, days, overdue_minor, score"

// worklistOrder is the ranking: highest score first, then the longest
// overdue, the earliest task due, currency, the largest overdue balance,
// number and id, so equal inputs always give the same order.
const worklistOrder = "score DESC, days DESC, next_due ASC, currency ASC, overdue_minor DESC, number ASC, id ASC"

// Worklist ranks the whole book at now (or at the cursor's moment, after
// its row) and returns up to limit rows and the total.
func (r *Desk) Worklist(ctx context.Context, f WorklistFilter, rule WorklistRule, now time.Time, after *WorklistKey, lim int) (WorklistPage, error) {
	if after != nil {
		now = time.Unix(after.AsOf, 0)
	}
	now = now.UTC().Truncate(time.Second)
	if lim <= 0 {
		lim = 100
	}
	with, args, err := worklistSQL(f, rule, now)
	if err != nil {
		return WorklistPage{}, err
	}
	page := WorklistPage{AsOf: now}
	if after != nil && after.Total > 0 {
		page.Total = after.Total // counted on the first page, at the same moment
	} else if err := r.db.NewRaw(with+"SELECT COUNT(*) FROM scored", args...).Scan(ctx, &page.Total); err != nil {
		return WorklistPage{}, fmt.Errorf("worklist count: %w", err)
	}
	q := with + "SELECT " + worklistColumns + " FROM scored"
	if after != nil {
		q += ` WHERE score < ? OR (score = ? AND (days < ? OR (days = ? AND (next_due > ? OR (next_due = ? AND (currency > ?
  OR (currency = ? AND (overdue_minor < ? OR (overdue_minor = ? AND (number > ? OR (number = ? AND id > ?)))))))))))`
		k := after
		args = append(args, k.ScoreTenths, k.ScoreTenths, k.DaysOverdue, k.DaysOverdue, k.NextTaskDue, k.NextTaskDue,
			k.Currency, k.Currency, k.OverdueMinor, k.OverdueMinor, k.Number, k.Number, k.InvoiceID)
	}
	q += " ORDER BY " + worklistOrder + " LIMIT ?"
	args = append(args, lim+1)
	// The page's rows, with their customers.
	q = with + "SELECT page.*, c.name AS customer_name, c.account_manager, COALESCE(c.payment_trend, 'insufficient') AS payment_trend " +
		"FROM (" + strings.TrimPrefix(q, with) + ") AS page JOIN customers AS c ON c.id = page.customer_id ORDER BY " + worklistOrder
	if err := r.db.NewRaw(q, args...).Scan(ctx, &page.Rows); err != nil {
		return WorklistPage{}, fmt.Errorf("worklist: %w", err)
	}
	if len(page.Rows) > lim {
		page.Rows = page.Rows[:lim]
		k := page.Rows[lim-1].Key(now.Unix())
		k.Total = page.Total
		page.Next = &k
	}
	return page, nil
}

// OpenAging is one currency's open balance split by days past due.
type OpenAging struct {
	Currency   string `bun:"currency"`
	OpenMinor  int64  `bun:"open_minor"`
	Current    int64  `bun:"current_minor"`
	Days1To30  int64  `bun:"d1_30"`
	Days31To60 int64  `bun:"d31_60"`
	Days61To90 int64  `bun:"d61_90"`
	Over90     int64  `bun:"over_90"`
	Invoices   int64  `bun:"invoices"` // how many open invoices
}

// AgingFilter picks the open book to split: one account manager's
// customers, one customer, one currency (zero values: all).
type AgingFilter struct {
	Manager    string
	CustomerID string
	Currency   string
}

// Aging splits the open balances per currency (sorted by currency) by
// whole days past due at now: current (not yet due), 1–30, 31–60, 61–90,
// over 90. One GROUP BY; currencies are never added together.
func (r *Desk) Aging(ctx context.Context, f AgingFilter, now time.Time) ([]OpenAging, error) {
	n := now.UTC().Truncate(time.Second).Unix()
	day := int64(86400)
	q := r.db.NewSelect().TableExpr("invoices AS inv").ColumnExpr("inv.currency").
		ColumnExpr("COALESCE(SUM(inv.balance_minor), 0) AS open_minor").
		ColumnExpr("COALESCE(SUM(CASE WHEN inv.due_unix >= ? THEN inv.balance_minor ELSE 0 END), 0) AS current_minor", n).
		ColumnExpr("COALESCE(SUM(CASE WHEN inv.due_unix < ? AND inv.due_unix > ? THEN inv.balance_minor ELSE 0 END), 0) AS d1_30", n, n-31*day).
		ColumnExpr("COALESCE(SUM(CASE WHEN inv.due_unix <= ? AND inv.due_unix > ? THEN inv.balance_minor ELSE 0 END), 0) AS d31_60", n-31*day, n-61*day).
		ColumnExpr("COALESCE(SUM(CASE WHEN inv.due_unix <= ? AND inv.due_unix > ? THEN inv.balance_minor ELSE 0 END), 0) AS d61_90", n-61*day, n-91*day).
		ColumnExpr("COALESCE(SUM(CASE WHEN inv.due_unix <= ? THEN inv.balance_minor ELSE 0 END), 0) AS over_90", n-91*day).
		ColumnExpr("COUNT(*) AS invoices").
		Where("inv.closed_at IS NULL").Where("inv.stage NOT IN (?)", bun.In(closedStages)).
		GroupExpr("inv.currency").OrderExpr("inv.currency")
	if f.Manager != "" {
		q = q.Where("inv.customer_id IN (?)", r.db.NewSelect().Model((*Customer)(nil)).Column("id").Where("account_manager = ?", f.Manager))
	}
	if f.CustomerID != "" {
		q = q.Where("inv.customer_id = ?", f.CustomerID)
	}
	if f.Currency != "" {
		q = q.Where("inv.currency = ?", f.Currency)
	}
	var out []OpenAging
	err := q.Scan(ctx, &out)
	return out, err
}

// SetPaymentTrend stores a customer's payment trend (the worklist reads it).
func (r *Desk) SetPaymentTrend(ctx context.Context, customerID, trend string) error {
	_, err := r.db.NewUpdate().Model((*Customer)(nil)).Set("payment_trend = ?", trend).Where("id = ?", customerID).Exec(ctx)
	return err
}

// CustomersWithoutTrend lists up to n customers, after the id after, that
// have paid invoices and no stored payment trend (to backfill).
func (r *Desk) CustomersWithoutTrend(ctx context.Context, after string, n int) ([]string, error) {
	var out []string
	err := r.db.NewSelect().Model((*Customer)(nil)).Column("id").Where("payment_trend IS NULL").Where("id > ?", after).
		Where("EXISTS (SELECT 1 FROM invoices AS inv WHERE inv.customer_id = customer.id AND inv.stage = ?)", invoice.StagePaid).
		Order("id").Limit(int64(n)).Scan(ctx, &out)
	return out, err
}

// OpenTasksOf returns the open tasks of the given invoices, for one
// assignee when given, soonest due first (the worklist page's rows).
func (r *Desk) OpenTasksOf(ctx context.Context, invoiceIDs []string, assignee string) ([]Task, error) {
	var out []Task
	if len(invoiceIDs) == 0 {
		return out, nil
	}
	q := r.db.NewSelect().Model(&out).Where("status = ?", TaskOpen).Where("invoice_id IN (?)", bun.In(invoiceIDs)).Order("due_at", "id")
	if assignee != "" {
		q = q.Where("assignee = ?", assignee)
	}
	err := q.Scan(ctx)
	return out, err
}
