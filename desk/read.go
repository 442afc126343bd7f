package desk

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/invoice"
)

// The desk's read model: the worklist and the account of one customer as
// the store holds them. The JSON endpoints and the collectors' page both
// show these; each formats them in its own way.

// Query says which worklist to draw: one account manager's (everyone's when
// empty), narrowed by currency, stage, overdue bucket (db.Buckets), a
// minimum balance (minor units of Currency) and whether the invoice has open
// tasks; Limit rows after the cursor (the whole book is ranked either way).
type Query struct {
	Manager         string
	Currency        string
	Stage           invoice.Stage
	Bucket          string
	MinBalanceMinor int64
	HasTask         *bool
	// Cursor is the NextCursor of the page before ("" for the first page).
	Cursor string
	Limit  int
}

// List is one page of the ranked worklist.
type List struct {
	AsOf  time.Time
	Total int // rows of the whole list, over every page
	Rows  []Row
	// NextCursor fetches the next page; "" on the last.
	NextCursor string
	// Aging is the open book the list is drawn from (the manager's
	// customers, the currency asked for), per currency.
	Aging []Aging
}

// ErrBadCursor is the error for a cursor the server did not hand out.
var ErrBadCursor = db.ErrBadCursor

// LoadWorklist ranks the whole book in the database (DefaultWeights
// documents the rule) and builds the reasons and suggested actions of the
// page's rows. The page's scores are those the database ranked by.
func LoadWorklist(ctx context.Context, s *db.Store, q Query, now time.Time) (List, error) {
	f := db.WorklistFilter{Manager: q.Manager, Currency: q.Currency, Stage: q.Stage, Bucket: q.Bucket,
		MinBalanceMinor: q.MinBalanceMinor, HasTask: q.HasTask}
	var after *db.WorklistKey
	if q.Cursor != "" {
		k, err := db.DecodeWorklistCursor(q.Cursor)
		if err != nil {
			return List{}, err
		}
		after = &k
	}
	page, err := s.Worklist(ctx, f, DefaultWeights.Rule(), now, after, q.Limit)
	if err != nil {
		return List{}, err
	}
	l := List{AsOf: page.AsOf, Total: page.Total, Rows: make([]Row, 0, len(page.Rows))}
	if page.Next != nil {
		l.NextCursor = page.Next.Encode()
	}
	ag, err := s.Aging(ctx, db.AgingFilter{Manager: q.Manager, Currency: q.Currency}, page.AsOf)
	if err != nil {
		return List{}, err
	}
	l.Aging = agingRows(ag)
	// The page's invoices (for their timelines' broken promises) and tasks.
	ids := make([]string, len(page.Rows))
	for i, r := range page.Rows {
		ids[i] = r.InvoiceID
	}
	invs, err := s.InvoicesByID(ctx, ids)
	if err != nil {
		return List{}, err
	}
	byID := map[string]db.Invoice{}
	for _, inv := range invs {
		byID[inv.ID] = inv
	}
	tasks, err := s.OpenTasksOf(ctx, ids, q.Manager)
	if err != nil {
		return List{}, err
	}
	byInvoice := map[string][]db.Task{}
	for _, t := range tasks {
		byInvoice[t.InvoiceID] = append(byInvoice[t.InvoiceID], t)
	}
	for _, r := range page.Rows {
		inv, ok := byID[r.InvoiceID]
		if !ok { // deleted between the two reads: show what was ranked
			inv = db.Invoice{ID: r.InvoiceID, CustomerID: r.CustomerID}
		}
		// What was ranked is what is shown, whatever a write since changed.
		inv.Number, inv.Currency, inv.BalanceMinor, inv.DueAt, inv.Stage = r.Number, r.Currency, r.BalanceMinor, r.DueAt, r.Stage
		fa := Facts{Invoice: inv, Customer: db.Customer{ID: r.CustomerID, Name: r.CustomerName, AccountManager: r.AccountManager},
			Trend: Trend(r.PaymentTrend), Tasks: byInvoice[r.InvoiceID], Chase: r.Chase, Days: int(r.DaysOverdue),
			AmountLog: r.AmountLog, BrokenPromises: r.BrokenPromises, TaskTenths: &r.TaskTenths}
		_, fa.LastBroken = brokenPromises(inv)
		row := ScoreFacts(fa, page.AsOf, DefaultWeights)
		if row.ScoreTenths != r.ScoreTenths {
			return List{}, fmt.Errorf("worklist: invoice %s scored %d tenths in the database and %d here", r.InvoiceID, r.ScoreTenths, row.ScoreTenths)
		}
		l.Rows = append(l.Rows, row)
	}
	return l, nil
}

// agingRows converts the database's aging split.
func agingRows(rows []db.AgingRow) []Aging {
	out := make([]Aging, 0, len(rows))
	for _, a := range rows {
		out = append(out, Aging{Currency: a.Currency, OpenMinor: a.OpenMinor, Current: a.Current, Days1To30: a.Days1To30,
			Days31To60: a.Days31To60, Days61To90: a.Days61To90, Over90: a.Over90})
	}
	return out
}

// Trends is the stored payment trend of each customer.
func Trends(ctx context.Context, s *db.Store, customerIDs []string) (map[string]Trend, error) {
	stored, err := s.PaymentTrends(ctx, customerIDs)
	if err != nil {
		return nil, err
	}
	out := map[string]Trend{}
	for _, id := range customerIDs {
		out[id] = Trend(cmp.Or(stored[id], string(TrendInsufficient)))
	}
	return out, nil
}

// BackfillTrends stores the payment trend of every customer with paid
// invoices and none stored yet (customers from before the column). It is
// idempotent; the composition root runs it after migrating.
func BackfillTrends(ctx context.Context, s *db.Store) error {
	after := ""
	for {
		ids, err := s.CustomersWithoutTrend(ctx, after, 200)
		if err != nil || len(ids) == 0 {
			return err
		}
		for _, id := range ids {
			b, err := CustomerBehaviour(ctx, s, id, DefaultTrendRule)
			if err != nil {
				return err
			}
			if err := s.SetPaymentTrend(ctx, id, string(b.Trend)); err != nil {
				return err
			}
		}
		after = ids[len(ids)-1]
	}
}

// AccountItems is how many communications and notes an account shows.
const AccountItems = 20

// Account is everything about one customer's account.
type Account struct {
	Customer db.Customer
	AsOf     time.Time
	// Invoices are all the customer's invoices, open and closed, with their
	// saved statuses (the collectors' page shows their timelines).
	Invoices []db.Invoice
	Aging    []Aging
	Credit   *Credit      // nil when the customer has no credit limit
	Open     []db.Invoice // the open invoices, oldest due first
	Promises []PromiseRecord
	Disputes []DisputeRecord
	Payments []PaymentRecord // newest first
	// Behaviour is how the customer pays, by DefaultTrendRule.
	Behaviour Behaviour
	OpenTasks []db.Task
	Messages  []db.Message // the latest AccountItems
	Notes     []db.Note    // the latest AccountItems
}

// PaymentRecord is a payment or refund on one of the customer's invoices.
type PaymentRecord struct {
	InvoiceID   string
	Number      string
	Kind        string // db.PaymentKindPayment or db.PaymentKindRefund
	AmountMinor int64  // negative for a refund
	Currency    string
	Reference   string
	ReceivedAt  time.Time
}

// LoadAccount reads a customer's account.
func LoadAccount(ctx context.Context, s *db.Store, cust *db.Customer, now time.Time) (Account, error) {
	invs, err := s.CustomerInvoices(ctx, cust.ID)
	if err != nil {
		return Account{}, err
	}
	ids := make([]string, len(invs))
	number := map[string]string{}
	for i, inv := range invs {
		ids[i] = inv.ID
		number[inv.ID] = inv.Number
	}
	payments, err := s.PaymentsFor(ctx, ids)
	if err != nil {
		return Account{}, err
	}
	a := Account{Customer: *cust, AsOf: now.UTC(), Invoices: invs, Aging: AgingSplit(invs, now), Open: OpenInvoices(invs),
		Promises: Promises(invs), Disputes: Disputes(invs), Behaviour: BehaviourOf(invs, payments, DefaultTrendRule)}
	if cr, ok := CreditUsage(*cust, invs); ok {
		a.Credit = &cr
	}
	for _, inv := range invs {
		for _, p := range payments[inv.ID] {
			kind := db.PaymentKindPayment
			if p.AmountMinor < 0 {
				kind = db.PaymentKindRefund
			}
			a.Payments = append(a.Payments, PaymentRecord{InvoiceID: p.InvoiceID, Number: number[p.InvoiceID], Kind: kind,
				AmountMinor: p.AmountMinor, Currency: p.Currency, Reference: p.Reference, ReceivedAt: p.ReceivedAt})
		}
	}
	slices.SortStableFunc(a.Payments, func(a, b PaymentRecord) int {
		return cmp.Or(b.ReceivedAt.Compare(a.ReceivedAt), cmp.Compare(a.Number, b.Number), cmp.Compare(a.Reference, b.Reference))
	})
	if a.OpenTasks, err = s.CustomerTasks(ctx, cust.ID, db.TaskOpen); err != nil {
		return Account{}, err
	}
	if a.Messages, err = s.CustomerMessages(ctx, cust.ID, AccountItems); err != nil {
		return Account{}, err
	}
	notes, err := s.ListNotes(ctx, cust.ID, "")
	if err != nil {
		return Account{}, err
	}
	a.Notes = notes[:min(len(notes), AccountItems)]
	return a, nil
}
