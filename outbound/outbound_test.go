package outbound_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/outbound"
	"github.com/collections-engine/collections/webhooks"
)

var t0 = time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)

func TestEventsNameWhatSubscribersHearAbout(t *testing.T) {
	bal := func(n int64) *int64 { return &n }
	st := invoice.Status{InvoiceID: "inv-1", Stage: invoice.StagePaid, AmountMinor: 25000, BalanceMinor: 0, Currency: "EUR",
		Timeline: []invoice.Event{
			{At: t0, Kind: invoice.EventStarted},
			{At: t0.Add(time.Hour), Kind: invoice.EventMessage, Step: "notify"},
			{At: t0.Add(2 * time.Hour), Kind: invoice.EventPayment, Reference: "x", AmountMinor: 100, Outcome: "not applied"},
			{At: t0.Add(3 * time.Hour), Kind: invoice.EventDisputeOpened, Outcome: "wrong_amount"},
			{At: t0.Add(4 * time.Hour), Kind: invoice.EventPayment, Reference: "ch_1", AmountMinor: 25000, BalanceMinor: bal(0)},
			{At: t0.Add(4 * time.Hour), Kind: invoice.EventPaid, BalanceMinor: bal(0)},
		}}
	prev := &db.Invoice{ID: "inv-1", Number: "INV-1", CustomerID: "acme", Stage: invoice.StageNotified, EventsPublished: 1}
	evs := outbound.Events(prev, st)
	var got []string
	for _, e := range evs {
		got = append(got, e.ID+" "+e.Type)
	}
	want := []string{"inv-1:3 dispute.opened", "inv-1:4 payment.recorded", "inv-1:stage:6:paid invoice.stage_changed"}
	if len(got) != len(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("events %v, want %v", got, want)
		}
	}
	var p outbound.Payload
	if err := json.Unmarshal(evs[1].Payload, &p); err != nil {
		t.Fatal(err)
	}
	if p.Type != "payment.recorded" || p.Data.Amount != "250.00" || p.Data.Balance != "0.00" || p.Data.Reference != "ch_1" ||
		p.Data.InvoiceNumber != "INV-1" || p.Data.CustomerID != "acme" || !p.CreatedAt.Equal(t0.Add(4*time.Hour)) {
		t.Fatalf("payload %+v", p)
	}
	var stage outbound.Payload
	_ = json.Unmarshal(evs[2].Payload, &stage)
	if stage.Data.PreviousStage != "notified" || stage.Data.Stage != "paid" {
		t.Fatalf("stage change %+v", stage.Data)
	}
	// Saved again with nothing new: nothing to say.
	prev.EventsPublished, prev.Stage = len(st.Timeline), st.Stage
	if again := outbound.Events(prev, st); len(again) != 0 {
		t.Fatalf("nothing new, yet %d events", len(again))
	}
}

func TestSendSignsTheBodyAndReportsTheAnswer(t *testing.T) {
	const secret = "whsec_test"
	var status = http.StatusInternalServerError
	var verified error
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		verified = webhooks.VerifyHMAC([]byte(secret), r.Header.Get(outbound.TimestampHeader), body,
			r.Header.Get(outbound.SignatureHeader), time.Now(), webhooks.DefaultTolerance)
		if r.Header.Get(outbound.EventHeader) != "payment.recorded" || r.Header.Get(outbound.DeliveryHeader) != "d-1" {
			t.Errorf("headers %v", r.Header)
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	d := &db.WebhookDelivery{ID: "d-1", EventType: "payment.recorded", Payload: `{"id":"inv-1:4"}`}
	sub := &db.WebhookSubscription{URL: srv.URL, Secret: secret, Active: true}
	a := outbound.Send(context.Background(), srv.Client(), d, sub, time.Now())
	if a.Delivered() || a.StatusCode != 500 || a.Err == nil || verified != nil {
		t.Fatalf("refused: %+v, signature %v", a, verified)
	}
	status = http.StatusNoContent
	if a := outbound.Send(context.Background(), srv.Client(), d, sub, time.Now()); !a.Delivered() || verified != nil {
		t.Fatalf("accepted: %+v, signature %v", a, verified)
	}
	sub.Secret = "another"
	outbound.Send(context.Background(), srv.Client(), d, sub, time.Now())
	if verified == nil {
		t.Fatal("a delivery signed with another secret verified")
	}
	srv.Close()
	if a := outbound.Send(context.Background(), http.DefaultClient, d, &db.WebhookSubscription{URL: srv.URL, Secret: secret}, time.Now()); a.Delivered() || a.Err == nil || a.StatusCode != 0 {
		t.Fatalf("unreachable: %+v", a)
	}
}

func TestPlanEventsReachSubscribers(t *testing.T) {
	bal := func(n int64) *int64 { return &n }
	st := invoice.Status{InvoiceID: "inv-1", Stage: invoice.StageOnPlan, AmountMinor: 100000, BalanceMinor: 75000, Currency: "EUR",
		Timeline: []invoice.Event{
			{At: t0, Kind: invoice.EventStarted},
			{At: t0.Add(time.Hour), Kind: invoice.EventPlanProposed, AmountMinor: 100000, Detail: "needs approval"},
			{At: t0.Add(2 * time.Hour), Kind: invoice.EventPlanApproved, AmountMinor: 100000},
			{At: t0.Add(3 * time.Hour), Kind: invoice.EventPayment, Reference: "tx", AmountMinor: 25000, BalanceMinor: bal(75000)},
			{At: t0.Add(3 * time.Hour), Kind: invoice.EventInstalmentPaid, AmountMinor: 25000, BalanceMinor: bal(75000), Detail: "instalment 1 of 4", Outcome: "on time"},
			{At: t0.Add(4 * time.Hour), Kind: invoice.EventInstalmentMissed, AmountMinor: 25000, Detail: "instalment 2 of 4"},
			{At: t0.Add(5 * time.Hour), Kind: invoice.EventPlanBroken, AmountMinor: 25000},
			{At: t0.Add(6 * time.Hour), Kind: invoice.EventPlanAgreed},
			{At: t0.Add(7 * time.Hour), Kind: invoice.EventPlanCancelled},
			{At: t0.Add(8 * time.Hour), Kind: invoice.EventPlanDeclined},
			{At: t0.Add(9 * time.Hour), Kind: invoice.EventPlanCompleted},
		}}
	prev := &db.Invoice{ID: "inv-1", Number: "INV-1", CustomerID: "acme", Stage: invoice.StageOnPlan, EventsPublished: 1}
	var got []string
	var paid outbound.Payload
	for _, e := range outbound.Events(prev, st) {
		got = append(got, e.Type)
		if e.Type == outbound.InstalmentPaid {
			_ = json.Unmarshal(e.Payload, &paid)
		}
	}
	want := "plan.proposed plan.approved payment.recorded plan.instalment_paid plan.instalment_missed plan.broken plan.agreed plan.cancelled plan.declined plan.completed"
	if strings.Join(got, " ") != want {
		t.Fatalf("events %v, want %s", got, want)
	}
	if paid.Data.Amount != "250.00" || paid.Data.Balance != "750.00" || paid.Data.Detail != "instalment 1 of 4" || paid.Data.Outcome != "on time" {
		t.Fatalf("instalment paid: %+v", paid.Data)
	}
	for _, typ := range strings.Fields(want) {
		if !slices.Contains(outbound.Types, typ) {
			t.Errorf("%s is not a type a subscription can name", typ)
		}
	}
}
