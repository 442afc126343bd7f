package devstack_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/uptrace/bun"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/collections-engine/collections/channels"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/internal/app"
	"github.com/collections-engine/collections/internal/devstack"
	"github.com/collections-engine/collections/internal/fakeprovider"
	"github.com/collections-engine/collections/policy"
)

const (
	fakeSendGridKey   = "SG.chaos-test-key-0123456789"
	fakeTwilioToken   = "chaostoken0123456789abcdef"
	fakeTwilioAccount = "AC0123456789abcdef0123456789abcdef"
)

// fakeProviderWorker runs a worker against the stack whose email goes
// through the real SendGrid sender and SMS through the real Twilio sender,
// both pointed at fake, with timeout per call.
func fakeProviderWorker(t *testing.T, s *devstack.Stack, fake *fakeprovider.Server, timeout time.Duration, log ...*slog.Logger) sdkworker.Worker {
	t.Helper()
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if len(log) > 0 {
		quiet = log[0]
	}
	c, err := app.DialTemporal(ctx, app.TemporalConfig{Address: s.TemporalAddr, Namespace: "default"}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	acts, err := app.NewActivities(db.NewStore(s.DB), app.MessageConfig{}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	sg, err := channels.NewSendGrid(channels.SendGridConfig{APIKey: fakeSendGridKey, FromEmail: "ar@example.com", BaseURL: fake.URL, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	tw, err := channels.NewTwilio(channels.TwilioConfig{AccountSID: fakeTwilioAccount, AuthToken: fakeTwilioToken, From: "+15005550006",
		BaseURL: fake.URL, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	acts.Senders[policy.Email], acts.Senders[policy.SMS] = sg, tw
	w, err := app.StartWorker(ctx, c, "default", acts, quiet, sdkworker.Options{WorkerStopTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// providerKey is the key the fake counts a stored message under.
func providerKey(m db.Message) string {
	if m.Channel == string(policy.SMS) {
		return fakeprovider.SMSKey(m.Recipient, m.Body)
	}
	return m.ID
}

// checkProviderCounts compares the outbox with what the fake accepted:
// every email and SMS the outbox has as sent was accepted exactly once, and
// the fake accepted nothing else. It returns the messages checked.
func checkProviderCounts(t *testing.T, s *devstack.Stack, fake *fakeprovider.Server) []db.Message {
	t.Helper()
	var msgs []db.Message
	if err := s.DB.NewSelect().Model(&msgs).Where("direction = ? AND channel IN (?)", db.Outbound, bun.In([]string{"email", "sms", "manager"})).
		Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	accepted := fake.Accepted()
	var sent []db.Message
	for _, m := range msgs {
		key := providerKey(m)
		switch m.Status {
		case db.MessageSent, db.MessageDelivered:
			if accepted[key] != 1 {
				t.Errorf("%s %s/%s: accepted %d times by the provider", m.InvoiceID, m.Step, m.Channel, accepted[key])
			}
			sent = append(sent, m)
		case db.MessageSkipped:
			if accepted[key] != 0 {
				t.Errorf("%s %s/%s: skipped, yet the provider accepted it %d times", m.InvoiceID, m.Step, m.Channel, accepted[key])
			}
		default:
			t.Errorf("%s %s/%s: %s %q", m.InvoiceID, m.Step, m.Channel, m.Status, m.Detail)
		}
		delete(accepted, key)
	}
	for key, n := range accepted {
		t.Errorf("the provider accepted %q %d times; the outbox does not know it", key, n)
	}
	return sent
}

// spacedSteps are the standard policy's steps spacedPolicy keeps.
var spacedSteps = []string{"notify", "confirm-delivery", "remind", "inquire", "escalate", "agency"}

// spacedPolicy posts the standard policy's shape with its steps gap apart
// from issue (the agency 3 gaps after escalation), so that a step held up
// for less than gap is never superseded by the next one.
func spacedPolicy(c client, name string, gap time.Duration) {
	p := c.must("GET", "/v1/policies/standard", nil, 200)
	var steps []any
	for _, st := range p["steps"].([]any) {
		st := st.(map[string]any)
		for i, id := range spacedSteps {
			if st["id"] == id {
				at := time.Duration(i) * gap
				if id == "agency" {
					at = 7 * gap
				}
				st["anchor"], st["offset"] = "issue", at.String()
				steps = append(steps, st)
			}
		}
	}
	p["steps"] = steps
	delete(p, "builtin")
	delete(p, "calendar")
	delete(p, "contact_cap")
	p["name"], p["version"] = name, 0
	p["final_notice_deadline"], p["dispute_deadline"], p["promise_grace"] = "3s", "2s", "1s"
	c.must("POST", "/v1/policies", p, 201)
}

func newSpacedInvoice(c client, number, policyName string) string {
	now := time.Now()
	return c.must("POST", "/v1/invoices", map[string]string{"number": number, "customer_id": "acme", "amount": "1000.00",
		"currency": "EUR", "issued_at": rfc3339(now), "due_at": rfc3339(now.Add(30 * 24 * time.Hour)), "policy": policyName}, 201)["id"].(string)
}

// TestProviderFaultsAreRetriedWithBackoffAndNeverDoubled runs invoices on a
// compressed policy while the providers answer each message's first two
// requests with 500 and 429: every message is sent in the end, each
// accepted exactly once, the attempts spaced by Temporal's backoff (1 s,
// then 2 s).
func TestProviderFaultsAreRetriedWithBackoffAndNeverDoubled(t *testing.T) {
	s := startStack(t, t.TempDir(), "", false, func(o *devstack.Options) { o.NoWorker = true; o.RateLimit = 10000 })
	defer s.Stop()
	fake := fakeprovider.Start()
	defer fake.Close()
	fake.Plan = func(_ string, n int) fakeprovider.Fault {
		switch n {
		case 1:
			return fakeprovider.ServerError
		case 2:
			return fakeprovider.TooManyRequests
		}
		return fakeprovider.OK
	}
	w := fakeProviderWorker(t, s, fake, 2*time.Second)
	c := client{t: t, base: s.APIURL, key: s.APIKey}
	spacedPolicy(c, "spaced", 4*time.Second)
	c.must("POST", "/v1/customers", map[string]string{"id": "acme", "name": "Acme", "email": "ap@acme.test", "phone": "+4930123456", "timezone": "UTC"}, 201)
	const invoices = 3
	for i := range invoices {
		newSpacedInvoice(c, fmt.Sprintf("PF-%d", i), "spaced")
	}
	defer func() {
		if t.Failed() {
			var msgs []db.Message
			_ = s.DB.NewSelect().Model(&msgs).Scan(context.Background())
			for _, m := range msgs {
				t.Logf("%s %s/%s %s %q", m.InvoiceID[len(m.InvoiceID)-4:], m.Step, m.Channel, m.Status, m.Detail)
			}
			t.Logf("faults %v", fake.Faults())
		}
	}()
	// notify (email), confirm-delivery (sms), remind (email), inquire and
	// escalate (email, sms): seven messages per invoice, 4 s apart, each
	// held up 3 s by the faults and the backoff.
	eventually(t, 60*time.Second, "the first five steps of every invoice", func() bool {
		n, err := s.DB.NewSelect().Model((*db.Message)(nil)).
			Where("step IN (?) AND status = ?", bun.In(spacedSteps[:5]), db.MessageSent).Count(context.Background())
		return err == nil && n >= invoices*7
	})
	w.Stop()
	if t.Failed() {
		return
	}
	sent := checkProviderCounts(t, s, fake)
	minSpan := time.Hour
	for _, m := range sent {
		key := providerKey(m)
		if n := fake.Attempts(key); n != 3 {
			t.Errorf("%s %s/%s: %d requests, want 3 (500, 429, accepted)", m.InvoiceID, m.Step, m.Channel, n)
		}
		minSpan = min(minSpan, fake.Span(key))
	}
	if minSpan < 2500*time.Millisecond {
		t.Errorf("three attempts within %s: want Temporal's backoff of 1 s then 2 s between them", minSpan)
	}
	accepted, doubled := fake.Total()
	t.Logf("%d messages sent after %v inflicted faults; %d accepted, %d doubled; shortest first-to-last attempt %s",
		len(sent), fake.Faults(), accepted, doubled, minSpan.Round(time.Millisecond))
}
