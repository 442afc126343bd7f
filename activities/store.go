package activities

import (
	"context"
	"time"

	"github.com/collections-engine/collections/credit"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/desk"
	"github.com/collections-engine/collections/documents"
	"github.com/collections-engine/collections/invoice"
)

// Store is everything the activities read and write: *db.Store has it, and
// a test can hand in a fake that has only what it exercises.
type Store interface {
	// Invoices and customers.
	GetInvoice(ctx context.Context, id string) (*db.Invoice, error)
	GetCustomer(ctx context.Context, id string) (*db.Customer, error)
	AdjustAmount(ctx context.Context, invoiceID string, newAmount int64, now time.Time) (balance int64, err error)
	ChangeDueDate(ctx context.Context, invoiceID string, due, now time.Time) error
	SaveStatusWithEvents(ctx context.Context, st invoice.Status, now time.Time, events db.EventsFunc) ([]db.WebhookDelivery, error)
	SavePaymentPlan(ctx context.Context, st invoice.Status, now time.Time) error

	// Payments and refunds.
	RecordPayment(ctx context.Context, p *db.Payment, now time.Time) (balance int64, duplicate bool, err error)
	RecordPaymentWithStatus(ctx context.Context, p *db.Payment, st invoice.Status, now time.Time, events db.EventsFunc) (db.PaymentSaved, error)
	RecordRefund(ctx context.Context, r invoice.Refund, now time.Time) (invoice.RefundResult, error)

	// The outbox.
	ClaimMessage(ctx context.Context, m *db.Message) (stored *db.Message, claimed bool, err error)
	ReleaseMessage(ctx context.Context, id, reason string) error
	ReclaimMessage(ctx context.Context, id string, released bool, claimedAt, now time.Time) (bool, error)
	FinishMessage(ctx context.Context, id string, o db.MessageOutcome) error
	AddMessageEvent(ctx context.Context, e *db.MessageEvent, setStatus bool) error
	ListMessagesForSteps(ctx context.Context, invoiceID string, steps []string) ([]db.Message, error)
	ClaimWithinLimit(ctx context.Context, m *db.Message, lim db.ContactLimit, now time.Time) (db.Reservation, error)
	OptedOut(ctx context.Context, channel, address string) (bool, error)

	// Tasks, and what the desk's payment-trend rule reads (desk.AfterPaid).
	desk.Store

	// The statement of account a statement email attaches.
	documents.StatementStore

	// Outbound webhooks.
	MarkDispatched(ctx context.Context, ids []string, now time.Time) error
	GetDelivery(ctx context.Context, id string) (*db.WebhookDelivery, *db.WebhookSubscription, error)
	RecordAttempt(ctx context.Context, a db.WebhookAttempt, delivered bool) error
	FailDelivery(ctx context.Context, id, reason string) error

	// Credit applications, and what the internal scorer reads.
	GetCreditApplication(ctx context.Context, id string) (*db.CreditApplication, error)
	SetCreditScore(ctx context.Context, id string, score int, reasons []string, now time.Time) error
	RequestCreditReview(ctx context.Context, id, reviewer string, due, now time.Time) error
	MarkCreditReminded(ctx context.Context, id string, now time.Time) (reminded bool, err error)
	ApplyCreditDecision(ctx context.Context, id string, d db.CreditDecision, now time.Time) (*db.CreditApplication, error)
	credit.History
}

var _ Store = (*db.Store)(nil)
