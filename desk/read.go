package desk

import (
	"context"
	"fmt"
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
func agingRows(rows []db.OpenAging) []Aging {
	out := make([]Aging, 0, len(rows))
	for _, a := range rows {
		out = append(out, Aging{Currency: a.Currency, OpenMinor: a.OpenMinor, Current: a.Current, Days1To30: a.Days1To30,
			Days31To60: a.Days31To60, Days61To90: a.Days61To90, Over90: a.Over90})
	}
	return out
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

// AccountItems is how many rows of each list an account page shows unless
// asked for another number (AccountQuery.Limit, up to MaxAccountItems).
const AccountItems = 20

// MaxAccountItems is the most rows of one list an account page shows.
const MaxAccountItems = 100

// PaidShown is how many of the latest paid invoices the payment behaviour
// is drawn from (the trend needs DefaultTrendRule.Recent + Prior of them).
const PaidShown = 50

// AccountQuery asks for one page of each of the account's lists: the
// cursors are the Next ones of the page before ("" for the first page).
type AccountQuery struct {
	Limit                                      int
	Invoices, Payments, Messages, Notes, Tasks string
}

// AccountNext are the cursors of the next page of each list ("" at the end).
type AccountNext struct {
	Invoices string `json:"invoices,omitempty"`
	Payments string `json:"payments,omitempty"`
	Messages string `json:"messages,omitempty"`
	Notes    string `json:"notes,omitempty"`
	Tasks    string `json:"tasks,omitempty"`
}

// Account is one customer's account, its lists a page at a time. Aging,
// credit and the counts are over the whole account (SQL aggregates).
type Account struct {
	Customer db.Customer
	AsOf     time.Time
	// Invoices are a page of the customer's invoices with their saved
	// statuses (the collectors' page shows their timelines): the open ones
	// first, oldest due first, then the closed ones, latest due first.
	Invoices []db.Invoice
	Aging    []Aging
	Credit   *Credit      // nil when the customer has no credit limit
	Open     []db.Invoice // the open invoices of the page, oldest due first
	// Promises and Disputes are those of the page's invoices.
	Promises []PromiseRecord
	Disputes []DisputeRecord
	Payments []PaymentRecord // a page, newest first
	// Behaviour is how the customer pays, by DefaultTrendRule, over the
	// latest PaidShown paid invoices.
	Behaviour Behaviour
	OpenTasks []db.Task    // a page, soonest due first
	Messages  []db.Message // a page, newest first
	// Attachments are the files of the page's inbound messages (customers'
	// replies), without their content, by message id.
	Attachments map[string][]db.Attachment
	Notes       []db.Note // a page, newest first
	Counts      db.AccountCounts
	Next        AccountNext
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

// LoadAccount reads the first page of a customer's account.
func LoadAccount(ctx context.Context, s *db.Store, cust *db.Customer, now time.Time) (Account, error) {
	return LoadAccountPage(ctx, s, cust, AccountQuery{}, now)
}

// LoadAccountPage reads one page of each of a customer's lists, and the
// aging, credit and counts of the whole account. A bad cursor is a
// *FieldError naming it.
func LoadAccountPage(ctx context.Context, s *db.Store, cust *db.Customer, q AccountQuery, now time.Time) (Account, error) {
	lim := q.Limit
	if lim <= 0 {
		lim = AccountItems
	}
	if lim > MaxAccountItems {
		return Account{}, &FieldError{Field: "limit", Message: fmt.Sprintf("must be a whole number from 1 to %d", MaxAccountItems)}
	}
	var keys [5]*db.PageKey
	for i, c := range []struct{ field, cursor string }{{"invoices_cursor", q.Invoices}, {"payments_cursor", q.Payments},
		{"messages_cursor", q.Messages}, {"notes_cursor", q.Notes}, {"tasks_cursor", q.Tasks}} {
		k, err := db.DecodePageKey(c.cursor)
		if err != nil {
			return Account{}, &FieldError{Field: c.field, Message: err.Error()}
		}
		keys[i] = k
	}
	enc := func(k *db.PageKey) string {
		if k == nil {
			return ""
		}
		return k.Encode()
	}
	a := Account{Customer: *cust, AsOf: now.UTC().Truncate(time.Second)}
	var next *db.PageKey
	var err error
	if a.Invoices, next, err = s.AccountInvoices(ctx, cust.ID, keys[0], lim); err != nil {
		return Account{}, err
	}
	a.Next.Invoices = enc(next)
	a.Open, a.Promises, a.Disputes = OpenInvoices(a.Invoices), Promises(a.Invoices), Disputes(a.Invoices)
	ag, err := s.Aging(ctx, db.AgingFilter{CustomerID: cust.ID}, a.AsOf)
	if err != nil {
		return Account{}, err
	}
	a.Aging = agingRows(ag)
	if cust.CreditLimitMinor != nil {
		cr := Credit{LimitMinor: *cust.CreditLimitMinor, Currency: cust.CreditCurrency, OtherCurrencies: []string{}}
		for _, g := range a.Aging {
			if g.Currency == cust.CreditCurrency {
				cr.UsedMinor = g.OpenMinor
			} else {
				cr.OtherCurrencies = append(cr.OtherCurrencies, g.Currency)
			}
		}
		cr.AvailableMinor = cr.LimitMinor - cr.UsedMinor
		cr.OverLimit = cr.UsedMinor > cr.LimitMinor
		a.Credit = &cr
	}
	pays, next, err := s.AccountPayments(ctx, cust.ID, keys[1], lim)
	if err != nil {
		return Account{}, err
	}
	a.Next.Payments = enc(next)
	for _, p := range pays {
		kind := db.PaymentKindPayment
		if p.AmountMinor < 0 {
			kind = db.PaymentKindRefund
		}
		a.Payments = append(a.Payments, PaymentRecord{InvoiceID: p.InvoiceID, Number: p.Number, Kind: kind,
			AmountMinor: p.AmountMinor, Currency: p.Currency, Reference: p.Reference, ReceivedAt: p.ReceivedAt})
	}
	paid, err := s.RecentPaidInvoices(ctx, cust.ID, PaidShown)
	if err != nil {
		return Account{}, err
	}
	ids := make([]string, len(paid))
	for i := range paid {
		ids[i] = paid[i].ID
	}
	paidPayments, err := s.PaymentsFor(ctx, ids)
	if err != nil {
		return Account{}, err
	}
	a.Behaviour = BehaviourOf(paid, paidPayments, DefaultTrendRule)
	if a.OpenTasks, next, err = s.AccountTasks(ctx, cust.ID, keys[4], lim); err != nil {
		return Account{}, err
	}
	a.Next.Tasks = enc(next)
	if a.Messages, next, err = s.AccountMessages(ctx, cust.ID, keys[2], lim); err != nil {
		return Account{}, err
	}
	a.Next.Messages = enc(next)
	var replies []string
	for _, m := range a.Messages {
		if m.Direction == db.Inbound {
			replies = append(replies, m.ID)
		}
	}
	atts, err := s.ListAttachments(ctx, replies)
	if err != nil {
		return Account{}, err
	}
	a.Attachments = map[string][]db.Attachment{}
	for _, at := range atts {
		a.Attachments[at.MessageID] = append(a.Attachments[at.MessageID], at)
	}
	if a.Notes, next, err = s.AccountNotes(ctx, cust.ID, keys[3], lim); err != nil {
		return Account{}, err
	}
	a.Next.Notes = enc(next)
	if a.Counts, err = s.CountAccount(ctx, cust.ID); err != nil {
		return Account{}, err
	}
	return a, nil
}
