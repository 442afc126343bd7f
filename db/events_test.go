package db_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/invoice"
)

// What a saved status leaves for the reports: one row per counted event,
// with the stage (from the invoice's stored policy), the channel last used
// and whether a promise stood just before it; written once however often
// and in whatever order the statuses are saved.
func TestSavedStatusesWriteTheEventsReportsCount(t *testing.T) {
	for _, d := range dbtest.All(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			s := db.NewStore(d.DB)
			// A stored policy the built-ins do not know: its nudge step moves
			// the invoice to reminded; its call step has no stage.
			if _, err := s.InsertPolicy(ctx, &db.PolicyDocument{Name: "custom", Version: 3, CreatedAt: t0,
				Document: `{"name":"custom","version":3,"steps":[{"id":"nudge","stage":"reminded"},{"id":"call"}]}`}); err != nil {
				t.Fatal(err)
			}
			inv := seed(t, s, "E1", 10000)
			if _, err := d.DB.NewUpdate().Model((*db.Invoice)(nil)).Set("policy_name = 'custom', policy_version = 3").
				Where("id = ?", inv.ID).Exec(ctx); err != nil {
				t.Fatal(err)
			}
			at := func(h int) invoice.Event { return invoice.Event{At: t0.Add(time.Duration(h) * time.Hour)} }
			e := func(h int, kind string, f func(*invoice.Event)) invoice.Event {
				ev := at(h)
				ev.Kind = kind
				if f != nil {
					f(&ev)
				}
				return ev
			}
			long := strings.Repeat("é", 250)
			timeline := []invoice.Event{
				e(0, invoice.EventStarted, nil),
				e(1, invoice.EventMessage, func(e *invoice.Event) { e.Step, e.Channel, e.Outcome = "nudge", "sms", db.MessageSent }),
				e(2, invoice.EventMessage, func(e *invoice.Event) { e.Step, e.Channel, e.Outcome = "call:management", "manager", db.MessageSent }),
				e(3, invoice.EventMessage, func(e *invoice.Event) { e.Step, e.Channel, e.Outcome = "nudge#2", "email", db.MessageSkipped }),
				e(4, invoice.EventPromise, nil),
				e(5, invoice.EventPayment, func(e *invoice.Event) { e.AmountMinor = 3000 }),
				e(6, invoice.EventPromiseKept, nil),
				e(7, invoice.EventDisputeOpened, func(e *invoice.Event) { e.Outcome = long }),
				e(8, invoice.EventMessage, func(e *invoice.Event) { e.Step, e.Channel, e.Outcome = "dispute:notice", "email", db.MessageSent }),
				e(9, invoice.EventPayment, func(e *invoice.Event) { e.AmountMinor, e.Outcome = 500, db.NotApplied }),
				// Paid on the customer portal: its reference says so.
				e(10, invoice.EventPayment, func(e *invoice.Event) { e.AmountMinor, e.Reference = 7000, db.PortalPaymentPrefix+"0a1b" }),
				e(11, invoice.EventPaid, nil),
			}
			st := invoice.Status{InvoiceID: inv.ID, Stage: invoice.StagePaid, Currency: "EUR"}
			for _, n := range []int{6, 12, 3, 12} { // a late retry of an older status in between
				st.Timeline = timeline[:n]
				if err := s.SaveStatus(ctx, st, t0); err != nil {
					t.Fatal(err)
				}
			}
			var got []db.InvoiceEvent
			if err := d.DB.NewSelect().Model(&got).Where("invoice_id = ?", inv.ID).Order("seq").Scan(ctx); err != nil {
				t.Fatal(err)
			}
			want := []string{
				"1|message|nudge|sms|sent|reminded|none|false",
				"2|message|call:management|manager|sent|reminded|sms|false", // no stage of its own: the invoice's
				"5|payment||||promised|sms|true",
				"6|promise_kept||||promised|sms|true",
				"7|dispute_opened|||" + strings.Repeat("é", 200) + "|reminded|sms|false",
				"8|message|dispute:notice|email|sent|disputed|sms|false",
				"9|payment|||not applied|disputed|email|false",
				"10|payment||portal||disputed|email|false",
				"11|paid||||disputed|email|false",
			}
			if len(got) != len(want) {
				t.Fatalf("%d rows, want %d: %+v", len(got), len(want), got)
			}
			for i, r := range got {
				line := strings.Join([]string{strconv.Itoa(r.Seq), r.Kind, r.Step, r.Channel, r.Outcome, string(r.Stage), r.PriorChannel, strconv.FormatBool(r.PromiseOpen)}, "|")
				if line != want[i] || r.Currency != "EUR" || !r.At.Equal(timeline[r.Seq].At) || r.AmountMinor != timeline[r.Seq].AmountMinor {
					t.Errorf("row %d: %q %+v\nwant %q", i, line, r, want[i])
				}
			}
			// The payment's own channel goes before the last message's; a
			// payment not applied is not collected.
			groups, err := s.Collected(ctx, db.ByChannel, t0, t0.AddDate(0, 0, 1), "")
			if err != nil {
				t.Fatal(err)
			}
			if len(groups) != 2 || groups[0].Key == groups[1].Key {
				t.Fatalf("collected by channel: %+v", groups)
			}
			for _, g := range groups {
				if !(g.Key == "sms" && g.N == 1 && g.Amount == 3000) && !(g.Key == "portal" && g.N == 1 && g.Amount == 7000) {
					t.Errorf("collected by channel: %+v", g)
				}
			}

			// A status written before invoice_events existed (inserted with
			// the invoice here) is backfilled, once.
			other := seed(t, s, "E2", 5000)
			if _, err := d.DB.NewUpdate().Model((*db.Invoice)(nil)).Set("status = ?", &invoice.Status{InvoiceID: other.ID, Timeline: timeline[:6]}).
				Where("id = ?", other.ID).Exec(ctx); err != nil {
				t.Fatal(err)
			}
			for i, want := range []int{3, 0} { // the two sent messages and the payment, then nothing
				n, err := db.BackfillInvoiceEvents(ctx, d.DB, 1)
				if err != nil || n != want {
					t.Errorf("backfill %d wrote %d rows (%v)", i, n, err)
				}
			}
			var count int
			if err := d.DB.NewSelect().Model((*db.InvoiceEvent)(nil)).ColumnExpr("count(*)").Where("invoice_id = ?", other.ID).Scan(ctx, &count); err != nil || count != 3 {
				t.Errorf("backfilled rows: %d (%v)", count, err)
			}
			// The backfill ran as migration 20261207000021 when the database
			// was made.
			if n, err := d.DB.NewSelect().Table("bun_migrations").Where("name = ?", "20261207000021").Count(ctx); err != nil || n != 1 {
				t.Errorf("backfill migration applied %d times (%v)", n, err)
			}
		})
	}
}
