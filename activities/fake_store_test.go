package activities_test

import (
	"context"
	"testing"
	"time"

	"github.com/collections-engine/collections/activities"
	"github.com/collections-engine/collections/channels"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/policy"
)

// fakeStore holds one customer and one invoice in memory and keeps the
// messages claimed in its outbox. Whatever it does not implement panics
// through the nil embedded interface: a test fails loudly if an activity
// reaches for more than the test meant.
type fakeStore struct {
	activities.Store
	inv     db.Invoice
	cust    db.Customer
	claimed []db.Message
}

func (f *fakeStore) GetInvoice(_ context.Context, id string) (*db.Invoice, error) {
	if id != f.inv.ID {
		return nil, db.ErrNotFound
	}
	inv := f.inv
	return &inv, nil
}

func (f *fakeStore) GetCustomer(_ context.Context, id string) (*db.Customer, error) {
	if id != f.cust.ID {
		return nil, db.ErrNotFound
	}
	c := f.cust
	return &c, nil
}

func (f *fakeStore) OptedOut(context.Context, string, string) (bool, error) { return false, nil }

func (f *fakeStore) ClaimMessage(_ context.Context, m *db.Message) (*db.Message, bool, error) {
	f.claimed = append(f.claimed, *m)
	return m, true, nil
}

func TestSendForAPaidInvoiceSendsNothing(t *testing.T) {
	paidAt := now.Add(-time.Hour)
	store := &fakeStore{
		cust: db.Customer{ID: "acme", Name: "Acme", Email: "ap@acme.test", Timezone: "UTC"},
		inv: db.Invoice{ID: "inv-1", Number: "INV-1", CustomerID: "acme", AmountMinor: 5000, BalanceMinor: 0, Currency: "EUR",
			IssuedAt: now, DueAt: now.AddDate(0, 0, 30), Stage: invoice.StagePaid, ClosedAt: &paidAt},
	}
	provider := &counting{sent: map[string]int{}}
	a := &activities.Activities{Store: store, Senders: channels.Senders{policy.Email: provider},
		Clock: func() time.Time { return now }}

	res, err := a.SendStepMessage(context.Background(), remind)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != invoice.MessageSkipped {
		t.Errorf("status %q, want %q", res.Status, invoice.MessageSkipped)
	}
	if n := provider.calls.Load(); n != 0 {
		t.Errorf("the provider was asked to send %d message(s) for a paid invoice", n)
	}
	if len(store.claimed) != 1 || store.claimed[0].Status != invoice.MessageSkipped {
		t.Fatalf("the outbox must record the step as skipped, got %+v", store.claimed)
	}
}
