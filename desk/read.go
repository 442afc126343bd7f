package desk

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/collections-engine/collections/db"
)

// The desk's read model: the worklist and the account of one customer as
// the store holds them. The JSON endpoints and the collectors' page both
// show these; each formats them in its own way.

// Query says which worklist to draw: one account manager's (everyone's when
// empty), in one currency (all when empty), the first Limit rows.
type Query struct {
	Manager  string
	Currency string
	Limit    int
}

// List is a ranked worklist.
type List struct {
	AsOf  time.Time
	Total int // rows before the limit
	Rows  []Row
	// Aging is the open book the list is drawn from (the manager's
	// customers, the currency asked for), per currency.
	Aging []Aging
}

// LoadWorklist ranks the open invoices and open tasks of the query's list
// (DefaultWeights documents the rule).
func LoadWorklist(ctx context.Context, s *db.Store, q Query, now time.Time) (List, error) {
	f := db.OpenInvoicesFilter{Manager: q.Manager, Currency: q.Currency}
	invs, err := s.OpenInvoices(ctx, f)
	if err != nil {
		return List{}, err
	}
	aging := AgingSplit(invs, now)
	tasks, err := s.OpenTasks(ctx, q.Manager)
	if err != nil {
		return List{}, err
	}
	// Tasks may belong to invoices outside the list: closed, or another
	// manager's customer (a reassigned task).
	have := map[string]bool{}
	for _, inv := range invs {
		have[inv.ID] = true
	}
	var missing []string
	byInvoice := map[string][]db.Task{}
	for _, t := range tasks {
		if !have[t.InvoiceID] && len(byInvoice[t.InvoiceID]) == 0 {
			missing = append(missing, t.InvoiceID)
		}
		byInvoice[t.InvoiceID] = append(byInvoice[t.InvoiceID], t)
	}
	more, err := s.InvoicesByID(ctx, missing)
	if err != nil {
		return List{}, err
	}
	for _, inv := range more {
		if f.Currency == "" || inv.Currency == f.Currency {
			invs = append(invs, inv)
		}
	}
	var custIDs []string
	seen := map[string]bool{}
	for _, inv := range invs {
		if !seen[inv.CustomerID] {
			seen[inv.CustomerID] = true
			custIDs = append(custIDs, inv.CustomerID)
		}
	}
	custs, err := s.CustomersByID(ctx, custIDs)
	if err != nil {
		return List{}, err
	}
	customers := map[string]db.Customer{}
	for _, c := range custs {
		customers[c.ID] = c
	}
	trends, err := Trends(ctx, s, custIDs)
	if err != nil {
		return List{}, err
	}
	items := make([]Item, 0, len(invs))
	for _, inv := range invs {
		cust := customers[inv.CustomerID]
		items = append(items, Item{Invoice: inv, Customer: cust, Trend: trends[inv.CustomerID], Tasks: byInvoice[inv.ID],
			Chase: q.Manager == "" || cust.AccountManager == q.Manager})
	}
	rows := Worklist(items, now, DefaultWeights)
	total := len(rows)
	if len(rows) > q.Limit {
		rows = rows[:q.Limit]
	}
	return List{AsOf: now.UTC(), Total: total, Rows: rows, Aging: aging}, nil
}

// Trends is the payment trend of each customer.
func Trends(ctx context.Context, s *db.Store, customerIDs []string) (map[string]Trend, error) {
	paid, err := s.PaidInvoices(ctx, customerIDs)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(paid))
	byCustomer := map[string][]db.Invoice{}
	for i, inv := range paid {
		ids[i] = inv.ID
		byCustomer[inv.CustomerID] = append(byCustomer[inv.CustomerID], inv)
	}
	payments, err := s.PaymentsFor(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := map[string]Trend{}
	for _, id := range customerIDs {
		out[id] = BehaviourOf(byCustomer[id], payments, DefaultTrendRule).Trend
	}
	return out, nil
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
