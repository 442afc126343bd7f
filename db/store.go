package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// ErrNotFound is returned when a row does not exist.
var ErrNotFound = errors.New("not found")

// Store is every repository of the engine in one value: it embeds one
// repository per aggregate (each in its own file), so store.GetInvoice(...)
// and store.Invoices.GetInvoice(...) are the same call. Consumers should
// declare the few methods they need as an interface of their own; *Store
// satisfies all of them. It works on a *bun.DB or inside a bun.Tx alike:
// NewStore(tx) gives repositories that all write in that transaction.
type Store struct {
	db bun.IDB

	Invoices
	Customers
	Payments
	Messages
	OptOuts
	Tasks
	Notes
	Policies
	APIKeys
	IdempotencyKeys
	WebhookEvents
	CreditApplications
	Subscriptions
	PaymentPlans
	// Portal is the customer portal's revoked links and reads.
	Portal
	// The read side: the collectors' page, the reports and the metrics.
	Desk
	Reports
	Statements
}

// NewStore wraps a database or a transaction.
func NewStore(db bun.IDB) *Store {
	return &Store{
		db:                 db,
		Invoices:           Invoices{db: db},
		Customers:          Customers{db: db},
		Payments:           Payments{db: db},
		Messages:           Messages{db: db},
		OptOuts:            OptOuts{db: db},
		Tasks:              Tasks{db: db},
		Notes:              Notes{db: db},
		Policies:           Policies{db: db},
		APIKeys:            APIKeys{db: db},
		IdempotencyKeys:    IdempotencyKeys{db: db},
		WebhookEvents:      WebhookEvents{db: db},
		CreditApplications: CreditApplications{db: db},
		Subscriptions:      Subscriptions{db: db},
		PaymentPlans:       PaymentPlans{db: db},
		Portal:             Portal{db: db},
		Desk:               Desk{db: db},
		Reports:            Reports{db: db},
		Statements:         Statements{db: db},
	}
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.db.NewRaw("SELECT 1").Scan(ctx, &one)
}

func notFound(err error, what, id string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s %q: %w", what, id, ErrNotFound)
	}
	return err
}

func limit(n int) int64 {
	if n <= 0 || n > 500 {
		return 100
	}
	return int64(n)
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }
