package activities_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/collections-engine/collections/activities"
	"github.com/collections-engine/collections/channels"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/internal/fakeprovider"
	"github.com/collections-engine/collections/policy"
)

// withFakeProviders points email at a fake SendGrid and SMS at a fake
// Twilio, both the real senders, with a short timeout; the clock is the
// returned pointer's value.
func withFakeProviders(t *testing.T, a *activities.Activities, plan func(key string, n int) fakeprovider.Fault) (*fakeprovider.Server, *time.Time) {
	t.Helper()
	fake := fakeprovider.Start()
	t.Cleanup(fake.Close)
	fake.Plan = plan
	sg, err := channels.NewSendGrid(channels.SendGridConfig{APIKey: "SG.fake-key", FromEmail: "ar@example.com", BaseURL: fake.URL, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	tw, err := channels.NewTwilio(channels.TwilioConfig{AccountSID: "AC00000000000000000000000000000000", AuthToken: "faketoken0123456789",
		From: "+15005550006", BaseURL: fake.URL, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	a.Senders = channels.Senders{policy.Email: sg, policy.SMS: tw}
	clock := now
	a.Clock = func() time.Time { return clock }
	return fake, &clock
}

// TestProviderFaultsAreRetriedAndNeverDoubled sends through the real
// SendGrid and Twilio senders to a fake that times out, answers 429 or 500
// on the first attempts: each attempt fails retryably, the next attempt
// (Temporal's backoff paces them) sends, and each provider accepted each
// message exactly once.
func TestProviderFaultsAreRetriedAndNeverDoubled(t *testing.T) {
	for _, tc := range []struct {
		fault   fakeprovider.Fault
		channel policy.Channel
		// lease: the provider's answer never came, so the outcome is
		// unknown and the next attempt waits out the claim's lease.
		lease bool
	}{
		{fakeprovider.ServerError, policy.Email, false},
		{fakeprovider.TooManyRequests, policy.Email, false},
		{fakeprovider.ServerError, policy.SMS, false},
		{fakeprovider.TooManyRequests, policy.SMS, false},
		{fakeprovider.Timeout, policy.Email, true},
		{fakeprovider.Timeout, policy.SMS, true},
	} {
		t.Run(tc.fault.String()+"/"+string(tc.channel), func(t *testing.T) {
			a, store, _ := setup(t)
			fake, clock := withFakeProviders(t, a, func(_ string, n int) fakeprovider.Fault {
				if n <= 2 {
					return tc.fault
				}
				return fakeprovider.OK
			})
			in := remind
			in.Channel = tc.channel
			ctx := context.Background()
			for attempt := 1; attempt <= 2; attempt++ {
				if tc.lease && attempt == 2 {
					*clock = clock.Add(activities.ClaimLease + time.Second)
				}
				if _, err := a.SendStepMessage(ctx, in); err == nil || channels.IsPermanent(err) {
					t.Fatalf("attempt %d against %s: %v, want a retryable error", attempt, tc.fault, err)
				}
			}
			if tc.lease {
				// Inside the new lease nothing is sent: the attempt that
				// timed out may still be running on a stuck worker.
				if _, err := a.SendStepMessage(ctx, in); err == nil {
					t.Fatal("an attempt inside the lease sent")
				}
				*clock = clock.Add(activities.ClaimLease + time.Second)
			}
			res, err := a.SendStepMessage(ctx, in)
			if err != nil || res.Status != db.MessageSent {
				t.Fatalf("after the faults: %+v %v", res, err)
			}
			for range 2 { // later retries find it sent
				if again, err := a.SendStepMessage(ctx, in); err != nil || again.MessageID != res.MessageID || again.Status != db.MessageSent {
					t.Fatalf("retry after the send: %+v %v", again, err)
				}
			}
			accepted, doubled := fake.Total()
			if accepted != 1 || doubled != 0 {
				t.Fatalf("provider accepted %d messages (%d doubled), want 1: %v", accepted, doubled, fake.Accepted())
			}
			m, err := store.GetMessage(ctx, res.MessageID)
			if err != nil || m.Status != db.MessageSent || m.ProviderMessageID == "" || m.Detail != "" {
				t.Fatalf("stored: %+v %v", m, err)
			}
		})
	}
}

// TestAPaymentWhileASendIsRetriedStopsIt: the provider refused the first
// attempt, the invoice was paid before the retry: the retry records the
// message skipped and the provider never gets it.
func TestAPaymentWhileASendIsRetriedStopsIt(t *testing.T) {
	a, store, _ := setup(t)
	fake, _ := withFakeProviders(t, a, func(_ string, n int) fakeprovider.Fault {
		if n == 1 {
			return fakeprovider.ServerError
		}
		return fakeprovider.OK
	})
	ctx := context.Background()
	if _, err := a.SendStepMessage(ctx, remind); err == nil {
		t.Fatal("the 500 was not an error")
	}
	if _, _, err := store.RecordPayment(ctx, &db.Payment{ID: "p1", InvoiceID: "inv-1", Reference: "tx", AmountMinor: 5000,
		Currency: "EUR", ReceivedAt: now}, now); err != nil {
		t.Fatal(err)
	}
	res, err := a.SendStepMessage(ctx, remind)
	if err != nil || res.Status != db.MessageSkipped || res.Detail != "invoice paid or closed" {
		t.Fatalf("retry after the payment: %+v %v", res, err)
	}
	if accepted, _ := fake.Total(); accepted != 0 {
		t.Fatalf("the provider accepted %d reminders for a paid invoice", accepted)
	}
}

// TestAcceptThenHangIsTheOneWindow documents what no client can avoid
// without an idempotency key at the provider (SendGrid's mail send and
// Twilio's Messages API have none): the provider accepted, its answer never
// came. The claim's lease holds the retry back while the first attempt could
// still be running; after it the message goes again under the same message
// id (SendGrid's custom argument message_id), so the provider has it twice.
func TestAcceptThenHangIsTheOneWindow(t *testing.T) {
	a, _, _ := setup(t)
	fake, clock := withFakeProviders(t, a, func(_ string, n int) fakeprovider.Fault {
		if n == 1 {
			return fakeprovider.AcceptThenHang
		}
		return fakeprovider.OK
	})
	ctx := context.Background()
	_, err := a.SendStepMessage(ctx, remind)
	var apiErr *channels.APIError
	if err == nil || errors.As(err, &apiErr) {
		t.Fatalf("a hung answer: %v, want a transport error", err)
	}
	if _, err := a.SendStepMessage(ctx, remind); err == nil {
		t.Fatal("the retry inside the lease sent")
	}
	if accepted, _ := fake.Total(); accepted != 1 {
		t.Fatalf("accepted %d inside the lease", accepted)
	}
	*clock = clock.Add(activities.ClaimLease + time.Second)
	res, err := a.SendStepMessage(ctx, remind)
	if err != nil || res.Status != db.MessageSent {
		t.Fatalf("after the lease: %+v %v", res, err)
	}
	acc := fake.Accepted()
	if len(acc) != 1 || acc[res.MessageID] != 2 {
		t.Fatalf("accepted %v: want the one message id twice", acc)
	}
}
