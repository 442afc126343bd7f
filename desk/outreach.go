package desk

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/money"
)

// PaymentHistory is what CustomerBehaviour reads: a customer's paid
// invoices and their payments.
type PaymentHistory interface {
	// RecentPaidInvoices is a customer's n most recently closed paid invoices.
	RecentPaidInvoices(ctx context.Context, customerID string, n int) ([]db.Invoice, error)
	PaymentsFor(ctx context.Context, invoiceIDs []string) (map[string][]db.Payment, error)
}

// TaskClaimer creates a task once per (invoice, key).
type TaskClaimer interface {
	ClaimTask(ctx context.Context, t *db.Task) (stored *db.Task, created bool, err error)
}

// Store is what AfterPaid reads and writes (*db.Store has it).
type Store interface {
	PaymentHistory
	TaskClaimer
	GetInvoice(ctx context.Context, id string) (*db.Invoice, error)
	GetCustomer(ctx context.Context, id string) (*db.Customer, error)
	SetPaymentTrend(ctx context.Context, customerID, trend string) error
}

// Task keys of the tasks this package creates; with the invoice they make
// the task's identity, so a retried call creates it once.
const (
	KeyPaymentTrend = "payment-trend:worsening"
	KeyCreditLimit  = "credit-limit:over"
)

// Behaviour loads a customer's paid invoices and payments and analyses them.
func CustomerBehaviour(ctx context.Context, s PaymentHistory, customerID string, rule TrendRule) (Behaviour, error) {
	paid, err := s.RecentPaidInvoices(ctx, customerID, PaidShown)
	if err != nil {
		return Behaviour{}, err
	}
	ids := make([]string, len(paid))
	for i := range paid {
		ids[i] = paid[i].ID
	}
	payments, err := s.PaymentsFor(ctx, ids)
	if err != nil {
		return Behaviour{}, err
	}
	return BehaviourOf(paid, payments, rule), nil
}

// AfterPaid runs when an invoice's paid status is saved. If paying it
// turned the customer's payment trend to worsening (it was not, without
// this invoice), the account manager gets a task to reach out: once per
// trend change, keyed on the invoice that caused it, so a retried status
// save creates nothing new. created reports a new task.
func AfterPaid(ctx context.Context, s Store, invoiceID string, rule TrendRule, now time.Time) (task *db.Task, created bool, err error) {
	inv, err := s.GetInvoice(ctx, invoiceID)
	if err != nil {
		return nil, false, err
	}
	if inv.Stage != invoice.StagePaid {
		return nil, false, nil
	}
	// The latest paid invoices are enough: the trend reads the last
	// Recent + Prior of them (PaidShown leaves room for payment dates out
	// of closing order).
	paid, err := s.RecentPaidInvoices(ctx, inv.CustomerID, PaidShown)
	if err != nil {
		return nil, false, err
	}
	ids := make([]string, len(paid))
	var others []db.Invoice
	for i := range paid {
		ids[i] = paid[i].ID
		if paid[i].ID != inv.ID {
			others = append(others, paid[i])
		}
	}
	payments, err := s.PaymentsFor(ctx, ids)
	if err != nil {
		return nil, false, err
	}
	before, after := BehaviourOf(others, payments, rule), BehaviourOf(paid, payments, rule)
	// The worklist ranks by the stored trend: keep it current.
	if err := s.SetPaymentTrend(ctx, inv.CustomerID, string(after.Trend)); err != nil {
		return nil, false, err
	}
	if !TurnedWorse(before, after) {
		return nil, false, nil
	}
	cust, err := s.GetCustomer(ctx, inv.CustomerID)
	if err != nil {
		return nil, false, err
	}
	detail := fmt.Sprintf("%s used to pay %.1f days after the due date on average; the last %d invoices took %.1f days (invoice %s the latest). "+
		"Accounts receivable is customer service: ask whether something changed and how we can help. "+
		"To move them to another policy track: PATCH /v1/customers/%s with {\"default_policy\": \"<policy>\"}.",
		cust.Name, *after.PriorMeanDaysLate, rule.Recent, *after.RecentMeanDaysLate, inv.Number, cust.ID)
	return s.ClaimTask(ctx, &db.Task{ID: uuid.Must(uuid.NewV7()).String(), InvoiceID: inv.ID, CustomerID: cust.ID,
		Key: KeyPaymentTrend, Kind: TaskPaymentTrend, Assignee: cust.AccountManager,
		Title: "Reach out to " + cust.Name + ": paying later and later", Detail: detail,
		Status: db.TaskOpen, DueAt: now.UTC(), CreatedAt: now.UTC()})
}

// FlagOverLimit creates the account manager's task for an invoice that took
// its customer over the credit limit (once per invoice). openBefore is the
// open balance in the limit's currency before the invoice.
func FlagOverLimit(ctx context.Context, s TaskClaimer, inv *db.Invoice, cust *db.Customer, openBefore int64, now time.Time) (*db.Task, bool, error) {
	if cust.CreditLimitMinor == nil {
		return nil, false, errors.New("customer has no credit limit")
	}
	detail := fmt.Sprintf("Invoice %s for %s brings the open balance of %s to %s against a credit limit of %s. "+
		"Check the customer's credit before extending more.",
		inv.Number, money.Display(inv.AmountMinor, inv.Currency), cust.Name,
		money.Display(openBefore+inv.AmountMinor, cust.CreditCurrency), money.Display(*cust.CreditLimitMinor, cust.CreditCurrency))
	return s.ClaimTask(ctx, &db.Task{ID: uuid.Must(uuid.NewV7()).String(), InvoiceID: inv.ID, CustomerID: cust.ID,
		Key: KeyCreditLimit, Kind: TaskCreditLimit, Assignee: cust.AccountManager,
		Title: cust.Name + " is over its credit limit", Detail: detail,
		Status: db.TaskOpen, DueAt: now.UTC(), CreatedAt: now.UTC()})
}
