package activities_test

import (
	"context"
	"sync"
	"sync/atomic"
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

// counting is a provider that counts what it is asked to send, by our
// message id, and can be slow.
type counting struct {
	mu    sync.Mutex
	sent  map[string]int
	calls atomic.Int32
	delay time.Duration
}

func (c *counting) Provider() string { return "counting" }

func (c *counting) Send(ctx context.Context, m channels.Message) (string, error) {
	c.calls.Add(1)
	time.Sleep(c.delay)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent[m.ID]++
	return "prov-" + m.ID, nil
}

var now = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func setup(t *testing.T) (*activities.Activities, *db.Store, *counting) {
	t.Helper()
	store := db.NewStore(dbtest.SQLite(t).DB)
	ctx := context.Background()
	if _, err := store.InsertCustomer(ctx, &db.Customer{ID: "acme", Name: "Acme", Email: "ap@acme.test", Phone: "+4930123456",
		Timezone: "Europe/Berlin", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.InsertInvoice(ctx, &db.Invoice{ID: "inv-1", Number: "INV-1", CustomerID: "acme", AmountMinor: 5000, BalanceMinor: 5000,
		Currency: "EUR", IssuedAt: now, DueAt: now.AddDate(0, 0, 30), Stage: invoice.StageIssued, PolicyName: "standard", PolicyVersion: 1,
		WorkflowID: "invoice:inv-1", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	tmpl, err := templates.Load("")
	if err != nil {
		t.Fatal(err)
	}
	c := &counting{sent: map[string]int{}}
	a := &activities.Activities{Store: store, Senders: channels.Senders{policy.Email: c, policy.SMS: c}, Templates: tmpl,
		PaymentLink: "https://pay.test/{number}", Sender: "AR", Clock: func() time.Time { return now }}
	return a, store, c
}

var remind = activities.SendInput{InvoiceID: "inv-1", Step: "remind", Template: "reminder", Tone: policy.Friendly, Channel: policy.Email, ScheduledAt: now}

func TestARetriedSendNeverSendsTwice(t *testing.T) {
	a, _, c := setup(t)
	for range 3 {
		res, err := a.SendStepMessage(context.Background(), remind)
		if err != nil || res.Status != db.MessageSent {
			t.Fatalf("send: %+v %v", res, err)
		}
	}
	if c.calls.Load() != 1 {
		t.Fatalf("provider called %d times, want 1", c.calls.Load())
	}
}

func TestRacingAttemptsSendOnce(t *testing.T) {
	a, _, c := setup(t)
	c.delay = 50 * time.Millisecond
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = a.SendStepMessage(context.Background(), remind) // losers get a retryable error
		}()
	}
	wg.Wait()
	if c.calls.Load() != 1 {
		t.Fatalf("provider called %d times by 8 racing attempts, want 1", c.calls.Load())
	}
}

func TestACrashAfterTheProviderAcceptedResendsUnderTheSameID(t *testing.T) {
	// The documented window: a claim left pending by an attempt that died
	// after the provider accepted and before the outcome was written.
	a, store, c := setup(t)
	stale := now.Add(-activities.ClaimLease - time.Second)
	if _, _, err := store.ClaimMessage(context.Background(), &db.Message{ID: "m-crashed", InvoiceID: "inv-1", CustomerID: "acme",
		Step: "remind", Channel: "email", Direction: db.Outbound, Recipient: "ap@acme.test", Subject: "s", Body: "b",
		Status: db.MessagePending, ScheduledAt: stale, CreatedAt: stale}); err != nil {
		t.Fatal(err)
	}
	res, err := a.SendStepMessage(context.Background(), remind)
	if err != nil || res.Status != db.MessageSent || res.MessageID != "m-crashed" {
		t.Fatalf("resend: %+v %v", res, err)
	}
	if c.sent["m-crashed"] != 1 || c.calls.Load() != 1 {
		t.Fatalf("resent %v", c.sent)
	}
	// A claim still inside its lease is another attempt at work: no send.
	fresh := remind
	fresh.Step = "inquire"
	if _, _, err := store.ClaimMessage(context.Background(), &db.Message{ID: "m-busy", InvoiceID: "inv-1", CustomerID: "acme",
		Step: "inquire", Channel: "email", Direction: db.Outbound, Status: db.MessagePending, ScheduledAt: now, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.SendStepMessage(context.Background(), fresh); err == nil {
		t.Fatal("a claim inside its lease must make the attempt retry, not send")
	}
	if c.calls.Load() != 1 {
		t.Fatalf("provider called %d times", c.calls.Load())
	}
}

func TestAPaidInvoiceGetsNothing(t *testing.T) {
	a, store, c := setup(t)
	if _, _, err := store.RecordPayment(context.Background(), &db.Payment{ID: "p1", InvoiceID: "inv-1", Reference: "tx", AmountMinor: 5000,
		Currency: "EUR", ReceivedAt: now}, now); err != nil {
		t.Fatal(err)
	}
	res, err := a.SendStepMessage(context.Background(), remind)
	if err != nil || res.Status != db.MessageSkipped || res.Detail != "invoice paid or closed" {
		t.Fatalf("send after payment: %+v %v", res, err)
	}
	if c.calls.Load() != 0 {
		t.Fatal("the provider was called for a paid invoice")
	}
}

func TestAnOptedOutAddressGetsNothing(t *testing.T) {
	a, store, c := setup(t)
	if err := store.OptOut(context.Background(), &db.OptOut{Channel: "email", Address: "AP@acme.test", Reason: "unsubscribe", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	res, err := a.SendStepMessage(context.Background(), remind)
	if err != nil || res.Status != db.MessageSkipped || c.calls.Load() != 0 {
		t.Fatalf("opted-out send: %+v %v, calls %d", res, err, c.calls.Load())
	}
}
