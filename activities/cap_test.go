package activities_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/collections-engine/collections/activities"
	"github.com/collections-engine/collections/channels"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/policy"
	"github.com/collections-engine/collections/templates"
)

// TestTheContactCapLetsExactlyItsContactsThroughAtTheProvider: one
// customer's invoices all fall due in the same second and are sent by
// several workers, each with its own database handle; the provider sees
// exactly the cap's number of contacts, and every other step is deferred on
// the record. Counted where the provider sees them, not in the outbox.
func TestTheContactCapLetsExactlyItsContactsThroughAtTheProvider(t *testing.T) {
	const invoices, workers = 10, 4
	tmpl, err := templates.Load("")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dbtest.All(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			seedStore := db.NewStore(d.DB)
			if _, err := seedStore.InsertCustomer(ctx, &db.Customer{ID: "acme", Name: "Acme", Email: "ap@acme.test", Phone: "+4930123456",
				Timezone: "Europe/Berlin", CreatedAt: now, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
			for i := range invoices {
				id := fmt.Sprintf("inv-%d", i)
				if _, err := seedStore.InsertInvoice(ctx, &db.Invoice{ID: id, Number: "N-" + id, CustomerID: "acme", AmountMinor: 5000, BalanceMinor: 5000,
					Currency: "EUR", IssuedAt: now, DueAt: now, Stage: invoice.StageIssued, PolicyName: "standard", PolicyVersion: 1,
					WorkflowID: "invoice:" + id, CreatedAt: now, UpdatedAt: now}); err != nil {
					t.Fatal(err)
				}
			}
			provider := &counting{sent: map[string]int{}, delay: 20 * time.Millisecond}
			var acts []*activities.Activities
			for _, h := range dbtest.Handles(t, d, workers) {
				acts = append(acts, &activities.Activities{Store: db.NewStore(h), Senders: channels.Senders{policy.Email: provider, policy.SMS: provider},
					Templates: tmpl, PaymentLink: "https://pay.test/{number}", Sender: "AR", Clock: func() time.Time { return now }})
			}
			const max = 2
			var wg sync.WaitGroup
			start := make(chan struct{})
			results := make([]activities.SendResult, invoices)
			errs := make([]error, invoices)
			for i := range invoices {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					results[i], errs[i] = acts[i%workers].SendStepMessage(ctx, activities.SendInput{InvoiceID: fmt.Sprintf("inv-%d", i),
						Step: "inquire", Template: "inquiry", Tone: policy.Friendly, Channel: policy.Email, ScheduledAt: now,
						Cap: activities.ContactCap{Max: max, Per: time.Hour}})
				}()
			}
			close(start)
			wg.Wait()
			deferred := 0
			for i := range invoices {
				if errs[i] != nil {
					t.Fatalf("invoice %d: %v", i, errs[i])
				}
				if results[i].Status == activities.StatusDeferred {
					deferred++
				}
			}
			if got := provider.calls.Load(); got != max || deferred != invoices-max {
				t.Fatalf("a cap of %d let the provider receive %d messages (%d deferred) for %d invoices due at once", max, got, deferred, invoices)
			}
		})
	}
}

// TestTheInvoiceItselfIsNeverHeldBackButCounts: the bill goes out when it
// is issued whatever the cap, and counts as a contact for the reminders.
func TestTheInvoiceItselfIsNeverHeldBackButCounts(t *testing.T) {
	a, store, c := setup(t)
	ctx := context.Background()
	if _, err := store.InsertInvoice(ctx, &db.Invoice{ID: "inv-2", Number: "INV-2", CustomerID: "acme", AmountMinor: 5000, BalanceMinor: 5000,
		Currency: "EUR", IssuedAt: now, DueAt: now.AddDate(0, 0, 30), Stage: invoice.StageIssued, PolicyName: "standard", PolicyVersion: 1,
		WorkflowID: "invoice:inv-2", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	capped := activities.ContactCap{Max: 1, Per: 24 * time.Hour}
	for _, id := range []string{"inv-1", "inv-2"} {
		res, err := a.SendStepMessage(ctx, activities.SendInput{InvoiceID: id, Step: "notify", Template: activities.InvoiceTemplate,
			Tone: policy.Friendly, Channel: policy.Email, ScheduledAt: now, Cap: capped})
		if err != nil || res.Status != db.MessageSent {
			t.Fatalf("the invoice %s must go out whatever the cap: %+v %v", id, res, err)
		}
	}
	in := remind
	in.Cap = capped
	res, err := a.SendStepMessage(ctx, in)
	if err != nil || res.Status != activities.StatusDeferred {
		t.Fatalf("the invoices count as contacts, so the reminder waits: %+v %v", res, err)
	}
	if c.calls.Load() != 2 {
		t.Fatalf("provider called %d times, want the two invoices only", c.calls.Load())
	}
}
