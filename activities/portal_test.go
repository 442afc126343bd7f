package activities_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/collections-engine/collections/activities"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/internal/portallink"
	"github.com/collections-engine/collections/policy"
)

var portalURL = regexp.MustCompile(`https://portal\.test/portal/([A-Za-z0-9._-]+)`)

func portalLinks(t *testing.T) *portallink.Links {
	t.Helper()
	keys, _ := portallink.ParseKeys("k1:" + strings.Repeat("s", 32))
	s, err := portallink.NewSigner(keys, 0)
	if err != nil {
		t.Fatal(err)
	}
	return &portallink.Links{Signer: s, BaseURL: "https://portal.test/portal"}
}

// sentBody sends in with a fresh set of activities whose clock reads
// clock, and returns the stored message's body.
func sentBody(t *testing.T, in activities.SendInput, clock time.Time, override string) string {
	t.Helper()
	a, store, _ := setup(t)
	a.PaymentLink, a.Portal = override, portalLinks(t)
	a.Clock = func() time.Time { return clock }
	if res, err := a.SendStepMessage(context.Background(), in); err != nil || res.Status != db.MessageSent {
		t.Fatalf("send: %+v %v", res, err)
	}
	msgs, err := store.ListMessages(context.Background(), db.MessageFilter{InvoiceID: in.InvoiceID})
	if err != nil || len(msgs) != 1 {
		t.Fatalf("messages: %v %v", msgs, err)
	}
	return msgs[0].Body
}

// Every message links to its customer's portal, about its invoice; the link
// is the same whichever attempt (or worker, at whatever moment) renders
// the message, so a retried send never changes the body.
func TestMessagesCarryTheCustomersPortalLink(t *testing.T) {
	first := sentBody(t, remind, now, "")
	again := sentBody(t, remind, now.Add(3*time.Hour), "")
	if first != again {
		t.Fatalf("the same message rendered twice differs:\n%s\n---\n%s", first, again)
	}
	m := portalURL.FindStringSubmatch(first)
	if m == nil {
		t.Fatalf("no portal link in:\n%s", first)
	}
	c, err := portalLinks(t).Signer.Verify(m[1], now)
	if err != nil {
		t.Fatal(err)
	}
	if c.CustomerID != "acme" || c.InvoiceID != "inv-1" || c.Channel != "email" || !c.IssuedAt.Equal(remind.ScheduledAt) ||
		c.ID != portallink.LinkID("inv-1", "remind", "email") {
		t.Errorf("claims: %+v", c)
	}
	// Another step or channel is another link.
	sms := remind
	sms.Channel, sms.Template = policy.SMS, "reminder"
	if other := portalURL.FindString(sentBody(t, sms, now, "")); other == "" || other == m[0] {
		t.Errorf("the SMS carries %q", other)
	}
	// PAYMENT_LINK_TEMPLATE, when set, stays the override.
	if body := sentBody(t, remind, now, "https://pay.test/{number}"); !strings.Contains(body, "https://pay.test/INV-1") || portalURL.MatchString(body) {
		t.Errorf("with the override: %s", body)
	}
}
