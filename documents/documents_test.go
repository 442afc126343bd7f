package documents_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/documents"
	"github.com/collections-engine/collections/invoice"
)

var (
	_ documents.StatementStore = (*db.Store)(nil)
	_ documents.InvoiceStore   = (*db.Store)(nil)
)

func TestDaysPastDue(t *testing.T) {
	due := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		now  time.Time
		want int
	}{
		{due.Add(-time.Hour), 0},
		{due, 0},
		{due.Add(time.Minute), 0},
		{due.Add(24 * time.Hour), 1},
		{due.Add(24*time.Hour + time.Second), 1},
		{due.Add(30 * 24 * time.Hour), 30},
	} {
		if got := documents.DaysPastDue(due, c.now); got != c.want {
			t.Errorf("DaysPastDue(due, due%+v) = %d, want %d", c.now.Sub(due), got, c.want)
		}
	}
}

// seed writes a customer with open invoices in two currencies (more than
// a statement lists), a closed one, payments, and another customer's
// invoice.
func seed(t *testing.T, s *db.Store, now time.Time, open int) {
	t.Helper()
	ctx := context.Background()
	day := 24 * time.Hour
	for _, c := range []db.Customer{
		{ID: "cus-1", Name: "Müller & Söhne GmbH", Email: "ap@mueller.example", Timezone: "Europe/Berlin"},
		{ID: "cus-2", Name: `Other (UK) Ltd \ Co)`, Email: "ap@other.example", Timezone: "UTC"},
	} {
		c.CreatedAt, c.UpdatedAt = now, now
		if _, err := s.InsertCustomer(ctx, &c); err != nil {
			t.Fatal(err)
		}
	}
	add := func(id, number, cust, cur string, amount, balance int64, due time.Time, closed bool) {
		t.Helper()
		inv := &db.Invoice{ID: id, Number: number, CustomerID: cust, AmountMinor: amount, BalanceMinor: balance, Currency: cur,
			IssuedAt: due.Add(-30 * day), DueAt: due, Stage: invoice.StageNotified, CreatedAt: now, UpdatedAt: now}
		if closed {
			inv.ClosedAt, inv.Stage = &now, invoice.StagePaid
		}
		if _, err := s.InsertInvoice(ctx, inv); err != nil {
			t.Fatal(err)
		}
	}
	for i := range open {
		// Due from 100 days ago onwards, one a day: every aging bucket.
		add(fmt.Sprintf("inv-%03d", i), fmt.Sprintf("INV-%03d", i), "cus-1", "EUR", 10000, 10000, now.Add(time.Duration(i-100)*day), false)
	}
	add("inv-usd", "US-7", "cus-1", "USD", 250000, 250000, now.Add(10*day), false)
	add("inv-paid", "INV-PAID", "cus-1", "EUR", 5000, 0, now.Add(-20*day), true)
	add("inv-other", "OTHER-1", "cus-2", "EUR", 999, 999, now.Add(-3*day), false)
	if _, _, err := s.RecordPayment(ctx, &db.Payment{ID: "pay-1", InvoiceID: "inv-paid", Reference: "pi_paid", AmountMinor: 5000,
		Currency: "EUR", ReceivedAt: now.Add(-2 * day)}, now); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.RecordPayment(ctx, &db.Payment{ID: "pay-2", InvoiceID: "inv-usd", Reference: "wire (part)", AmountMinor: 50000,
		Currency: "USD", ReceivedAt: now.Add(-1 * day)}, now); err != nil {
		t.Fatal(err)
	}
}

// The statement is read from the database: the lists stop at their bound
// and say what they left out, the totals and the aging cover everything
// open, and the PDF opens and names the invoices.
func TestStatementFromTheDatabase(t *testing.T) {
	for _, d := range dbtest.All(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			s := db.NewStore(d.DB)
			now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
			open := documents.MaxInvoices + 12
			seed(t, s, now, open)

			st, err := documents.LoadStatement(ctx, s, "cus-1", now)
			if err != nil {
				t.Fatal(err)
			}
			if st.Customer.Name != "Müller & Söhne GmbH" || st.Seller != documents.DefaultSeller || !st.AsOf.Equal(now) {
				t.Errorf("header: %+v %q %v", st.Customer, st.Seller, st.AsOf)
			}
			// Open: the EUR ones and the USD one, oldest due first.
			if len(st.Invoices) != documents.MaxInvoices || st.MoreInvoices != open+1-documents.MaxInvoices {
				t.Fatalf("listed %d, more %d", len(st.Invoices), st.MoreInvoices)
			}
			if first := st.Invoices[0]; first.Number != "INV-000" || first.DaysPastDue != 100 || first.BalanceMinor != 10000 {
				t.Errorf("first line: %+v", first)
			}
			wantTotals := []documents.Total{{Currency: "EUR", OpenInvoices: open, BalanceMinor: int64(open) * 10000},
				{Currency: "USD", OpenInvoices: 1, BalanceMinor: 200000}}
			if fmt.Sprint(st.Totals) != fmt.Sprint(wantTotals) {
				t.Errorf("totals %+v, want %+v", st.Totals, wantTotals)
			}
			// EUR: due 100..1 days ago: 10 over 90 (100..91), 30 in each
			// of 61-90, 31-60, 1-30; the rest (due today onwards) current.
			eur := st.Aging[0]
			if eur.Over90 != 10*10000 || eur.Days61To90 != 30*10000 || eur.Days31To60 != 30*10000 || eur.Days1To30 != 30*10000 ||
				eur.CurrentMinor != int64(open-100)*10000 {
				t.Errorf("EUR aging %+v", eur)
			}
			if usd := st.Aging[1]; usd.CurrentMinor != 200000 || usd.Days1To30 != 0 {
				t.Errorf("USD aging %+v", usd)
			}
			if len(st.Payments) != 2 || st.Payments[0].Reference != "wire (part)" || st.Payments[1].InvoiceNumber != "INV-PAID" || st.MorePayments != 0 {
				t.Errorf("payments %+v (more %d)", st.Payments, st.MorePayments)
			}
			for _, inv := range st.Invoices {
				if inv.Number == "OTHER-1" || inv.Number == "INV-PAID" {
					t.Errorf("statement lists %s", inv.Number)
				}
			}

			pdf, err := st.PDF()
			if err != nil {
				t.Fatal(err)
			}
			if d.Name == "sqlite" {
				writeArtifact(t, "statement.pdf", pdf)
			}
			text := readPDFText(t, pdf)
			for _, want := range []string{"Statement of account", "INV-000", "INV-100", "US-7", fmt.Sprintf("INV-%03d", documents.MaxInvoices-2),
				"EUR 100.00", "USD 2,000.00", "wire (part)", "INV-PAID",
				fmt.Sprintf("and %d more open invoices", st.MoreInvoices), "ap@mueller.example", "page 2 of"} {
				if !showsText(text, want) {
					t.Errorf("the statement PDF does not show %q", want)
				}
			}
			// The translation to the PDF's code page keeps Latin letters.
			if !showsText(text, "M\xfcller & S\xf6hne GmbH") {
				t.Errorf("the customer's name is not shown in Windows-1252")
			}
			if showsText(text, fmt.Sprintf("INV-%03d", documents.MaxInvoices-1)) || showsText(text, "OTHER-1") {
				t.Errorf("the PDF shows an invoice the statement does not list")
			}

			if _, err := documents.LoadStatement(ctx, s, "nobody", now); !errors.Is(err, documents.ErrNotFound) {
				t.Errorf("unknown customer: %v", err)
			}
		})
	}
}

// An invoice document is the customer's own invoice, or not found.
func TestInvoiceDocument(t *testing.T) {
	for _, d := range dbtest.All(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			s := db.NewStore(d.DB)
			now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
			seed(t, s, now, 1)

			if _, err := documents.LoadInvoice(ctx, s, "cus-1", "inv-other", now); !errors.Is(err, documents.ErrNotFound) {
				t.Errorf("another customer's invoice: %v", err)
			}
			if _, err := documents.InvoicePDF(ctx, s, "cus-1", "inv-nope", now); !errors.Is(err, documents.ErrNotFound) {
				t.Errorf("no such invoice: %v", err)
			}
			doc, err := documents.LoadInvoice(ctx, s, "cus-1", "inv-usd", now)
			if err != nil {
				t.Fatal(err)
			}
			if doc.Number != "US-7" || doc.BalanceMinor != 200000 || doc.Closed || doc.DaysPastDue != 0 || len(doc.Payments) != 1 {
				t.Errorf("document %+v", doc)
			}
			doc.Seller = "Acme Supplies Ltd\nbilling@acme.example, +44 20 7946 0000"
			doc.PayURL = "https://portal.example/p/abc"
			pdf, err := doc.PDF()
			if err != nil {
				t.Fatal(err)
			}
			if d.Name == "sqlite" {
				writeArtifact(t, "invoice.pdf", pdf)
			}
			text := readPDFText(t, pdf)
			for _, want := range []string{"Invoice US-7", "Acme Supplies Ltd", "billing@acme.example", "USD 2,500.00", "USD 500.00",
				"USD 2,000.00", "Pay online", "https://portal.example/p/abc", "wire (part)", "Open"} {
				if !showsText(text, want) {
					t.Errorf("the invoice PDF does not show %q", want)
				}
			}

			paid, err := documents.InvoicePDF(ctx, s, "cus-1", "inv-paid", now)
			if err != nil {
				t.Fatal(err)
			}
			if text := readPDFText(t, paid); !showsText(text, "Paid - thank you") || showsText(text, "Pay online") {
				t.Errorf("a paid invoice's PDF: %q", strings.Join(text, " | "))
			}
		})
	}
}

var (
	readPDFText   = documents.ReadPDFText
	showsText     = documents.ShowsText
	writeArtifact = documents.WriteArtifact
)

// Renderer is what a front door holds: the seller on every document, the
// invoice for its own customer.
func TestRenderer(t *testing.T) {
	d := dbtest.SQLite(t)
	s := db.NewStore(d.DB)
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	seed(t, s, now, 3)
	r := documents.Renderer{Store: s, Seller: "Acme Supplies Ltd\nar@acme-supplies.test", Clock: func() time.Time { return now }}
	ctx := context.Background()
	st, err := r.StatementPDF(ctx, "cus-1", now)
	if err != nil {
		t.Fatal(err)
	}
	if text := readPDFText(t, st); !showsText(text, "Acme Supplies Ltd") || !showsText(text, "INV-002") || showsText(text, "OTHER-1") {
		t.Errorf("statement: %q", strings.Join(text, " | "))
	}
	inv, err := r.InvoicePDF(ctx, "inv-other")
	if err != nil {
		t.Fatal(err)
	}
	if text := readPDFText(t, inv); !showsText(text, "Invoice OTHER-1") || !showsText(text, `Other (UK) Ltd \ Co)`) || !showsText(text, "ar@acme-supplies.test") {
		t.Errorf("invoice: %q", strings.Join(text, " | "))
	}
	if _, err := r.InvoicePDF(ctx, "nope"); !errors.Is(err, documents.ErrNotFound) {
		t.Errorf("unknown invoice: %v", err)
	}
}
