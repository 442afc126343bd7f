package db_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/invoice"
)

// The portal's reads: one customer's rows only, paged by keyset, summed by
// the database; revocations by link and by customer.
func TestPortalReads(t *testing.T) {
	for _, d := range dbtest.All(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			s := db.NewStore(d.DB)
			now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
			for _, c := range []string{"acme", "beta"} {
				if _, err := s.InsertCustomer(ctx, &db.Customer{ID: c, Name: c, Email: c + "@x.test", Timezone: "UTC", CreatedAt: now, UpdatedAt: now}); err != nil {
					t.Fatal(err)
				}
			}
			add := func(id, cust string, amount int64, dueDaysAgo int, closed bool) {
				inv := &db.Invoice{ID: id, Number: "N-" + id, CustomerID: cust, AmountMinor: amount, BalanceMinor: amount, Currency: "EUR",
					IssuedAt: now.AddDate(0, 0, -dueDaysAgo-30), DueAt: now.AddDate(0, 0, -dueDaysAgo), Stage: invoice.StageIssued,
					CreatedAt: now, UpdatedAt: now}
				if closed {
					inv.ClosedAt, inv.Stage, inv.BalanceMinor = &now, invoice.StagePaid, 0
				}
				if _, err := s.InsertInvoice(ctx, inv); err != nil {
					t.Fatal(err)
				}
			}
			add("a1", "acme", 10000, -10, false) // due in 10 days: current
			add("a2", "acme", 2000, 5, false)    // 1–30
			add("a3", "acme", 3000, 45, false)   // 31–60
			add("a4", "acme", 4000, 120, false)  // over 90
			add("a5", "acme", 500, 20, true)     // paid: not open
			add("b1", "beta", 99900, 5, false)   // another customer's
			if _, _, err := s.RecordPayment(ctx, &db.Payment{ID: "p1", InvoiceID: "a2", Reference: "portal:1", AmountMinor: 500,
				Currency: "EUR", ReceivedAt: now.Add(-time.Hour)}, now); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.RecordPayment(ctx, &db.Payment{ID: "p2", InvoiceID: "b1", Reference: "bank:1", AmountMinor: 100,
				Currency: "EUR", ReceivedAt: now}, now); err != nil {
				t.Fatal(err)
			}

			aging, err := s.Aging(ctx, db.AgingFilter{CustomerID: "acme"}, now)
			if err != nil {
				t.Fatal(err)
			}
			want := db.OpenAging{Currency: "EUR", OpenMinor: 10000 + 1500 + 3000 + 4000, Current: 10000, Days1To30: 1500, Days31To60: 3000, Over90: 4000, Invoices: 4}
			if len(aging) != 1 || aging[0] != want {
				t.Fatalf("aging: %+v, want %+v", aging, want)
			}

			// Open invoices, two to a page: earliest due first, acme's only.
			var seen []string
			var after *db.PortalCursor
			for page := 0; ; page++ {
				invs, more, err := s.PortalOpenInvoices(ctx, "acme", after, 2)
				if err != nil {
					t.Fatal(err)
				}
				for _, inv := range invs {
					seen = append(seen, inv.ID)
				}
				if !more {
					break
				}
				last := invs[len(invs)-1]
				after = &db.PortalCursor{At: last.DueAt, ID: last.ID}
				if page > 5 {
					t.Fatal("paging does not end")
				}
			}
			if fmt.Sprint(seen) != "[a4 a3 a2 a1]" {
				t.Fatalf("open invoices: %v", seen)
			}

			if _, err := s.PortalInvoice(ctx, "acme", "b1"); !errors.Is(err, db.ErrNotFound) {
				t.Fatalf("another customer's invoice: %v", err)
			}
			if inv, err := s.PortalInvoice(ctx, "acme", "a2"); err != nil || inv.BalanceMinor != 1500 {
				t.Fatalf("own invoice: %+v %v", inv, err)
			}

			// The statement: 5 invoices and 1 payment, newest first, in pages of 4.
			lines, more, err := s.PortalStatement(ctx, "acme", nil, 4)
			if err != nil || !more || len(lines) != 4 {
				t.Fatalf("statement page 1: %d lines, more %v, %v", len(lines), more, err)
			}
			if lines[0].Kind != "payment" || lines[0].Reference != "portal:1" || lines[0].Number != "N-a2" || lines[0].AmountMinor != 500 {
				t.Fatalf("newest line: %+v", lines[0])
			}
			last := lines[len(lines)-1]
			rest, more, err := s.PortalStatement(ctx, "acme", &db.PortalCursor{At: last.At, ID: last.ID}, 4)
			if err != nil || more || len(rest) != 2 {
				t.Fatalf("statement page 2: %d lines, more %v, %v", len(rest), more, err)
			}
			for _, l := range append(lines, rest...) {
				if l.InvoiceID == "b1" {
					t.Fatalf("another customer's line in the statement: %+v", l)
				}
			}
			pays, more, err := s.PortalPayments(ctx, "acme", 10)
			if err != nil || more || len(pays) != 1 || pays[0].ID != "p1" {
				t.Fatalf("payments: %+v %v %v", pays, more, err)
			}

			// Revocations.
			issued := now.Add(-time.Hour)
			if r, err := s.PortalLinkRevoked(ctx, "link-1", "acme", issued); err != nil || r {
				t.Fatalf("nothing revoked yet: %v %v", r, err)
			}
			if err := s.RevokePortalLinks(ctx, &db.PortalRevocation{ID: "r1", LinkID: "link-1", RevokedBy: "key:admin", CreatedAt: now}); err != nil {
				t.Fatal(err)
			}
			before := now
			if err := s.RevokePortalLinks(ctx, &db.PortalRevocation{ID: "r2", CustomerID: "beta", RevokedBefore: &before, RevokedBy: "key:admin", CreatedAt: now}); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				link, cust string
				at         time.Time
				want       bool
			}{
				{"link-1", "acme", issued, true},
				{"link-2", "acme", issued, false},
				{"link-3", "beta", issued, true},                // issued before beta's cut-off
				{"link-4", "beta", now.Add(time.Minute), false}, // issued after it
				{"link-5", "", issued, false},
			} {
				if r, err := s.PortalLinkRevoked(ctx, c.link, c.cust, c.at); err != nil || r != c.want {
					t.Errorf("%s of %q: revoked %v, want %v (%v)", c.link, c.cust, r, c.want, err)
				}
			}
		})
	}
}
