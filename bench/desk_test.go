package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/desk"
	"github.com/collections-engine/collections/invoice"
)

// The generated book holds together as the engine's own rows would: a
// balance is the amount less the payments, a message is sent once per
// step and channel and is on the timeline, closed invoices closed in the
// past in a final stage, open ones sit in the stage their days overdue
// give, and timelines run forward in time.
func TestDeskBookIsConsistent(t *testing.T) {
	now := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	book := newDeskBook(600, 2400, 7, now)
	var rows deskRows
	for i := range book.open + book.closed {
		book.generate(i, &rows)
	}
	if len(rows.invoices) != 3000 || len(rows.statuses) != 3000 {
		t.Fatalf("%d invoices, %d statuses", len(rows.invoices), len(rows.statuses))
	}
	paid := map[string]int64{}
	for _, p := range rows.payments {
		paid[p.InvoiceID] += p.AmountMinor
	}
	sent := map[string]bool{}
	for _, m := range rows.messages {
		key := m.InvoiceID + "/" + m.Step + "/" + m.Channel
		if sent[key] {
			t.Fatalf("message %s twice", key)
		}
		sent[key] = true
	}
	stages := map[invoice.Stage]int{}
	currencies, customers := map[string]bool{}, map[string]int{}
	for i, inv := range rows.invoices {
		st := rows.statuses[i]
		stages[inv.Stage]++
		currencies[inv.Currency] = true
		customers[inv.CustomerID]++
		if inv.BalanceMinor != inv.AmountMinor-paid[inv.ID] || st.BalanceMinor != inv.BalanceMinor || st.InvoiceID != inv.ID || st.Stage != inv.Stage {
			t.Fatalf("%s: amount %d, paid %d, balance %d, status %+v", inv.Number, inv.AmountMinor, paid[inv.ID], inv.BalanceMinor, st)
		}
		if inv.BalanceMinor < 0 || inv.AmountMinor <= 0 {
			t.Fatalf("%s: amount %d, balance %d", inv.Number, inv.AmountMinor, inv.BalanceMinor)
		}
		if len(st.Timeline) == 0 || st.Timeline[0].Kind != invoice.EventStarted || !st.Timeline[0].At.Equal(inv.IssuedAt) {
			t.Fatalf("%s: timeline %+v", inv.Number, st.Timeline)
		}
		for j, e := range st.Timeline {
			if j > 0 && e.At.Before(st.Timeline[j-1].At) {
				t.Fatalf("%s: timeline goes back in time at %d: %+v", inv.Number, j, st.Timeline)
			}
			if e.Kind == invoice.EventMessage && !sent[inv.ID+"/"+e.Step+"/"+e.Channel] {
				t.Fatalf("%s: message event without its message: %+v", inv.Number, e)
			}
		}
		closed := i < book.closed
		if closed != (inv.ClosedAt != nil) || closed != inv.Stage.Closed() {
			t.Fatalf("%s (closed %v): stage %s, closed_at %v", inv.Number, closed, inv.Stage, inv.ClosedAt)
		}
		if closed {
			if !inv.ClosedAt.Before(now) || inv.ClosedAt.Before(inv.IssuedAt) {
				t.Fatalf("%s: issued %s, closed %s", inv.Number, inv.IssuedAt, inv.ClosedAt)
			}
			if inv.Stage == invoice.StagePaid && inv.BalanceMinor != 0 {
				t.Fatalf("%s: paid with balance %d", inv.Number, inv.BalanceMinor)
			}
			continue
		}
		d := desk.DaysOverdue(inv.DueAt, now)
		want := map[invoice.Stage]bool{}
		// Steps go out at 09:00: on the day a step falls due, the
		// invoice may still be in the stage before.
		for _, d := range []int{d, d - 1} {
			switch {
			case d < -7:
				want[invoice.StageNotified] = true
			case d < 1:
				want[invoice.StageReminded], want[invoice.StageNotified] = true, true
			case d < 15:
				want[invoice.StageInquired] = true
			case d < 45:
				want[invoice.StagePressing] = true
			case d < 90:
				want[invoice.StageEscalated] = true
			default:
				want[invoice.StageAgency] = true
			}
		}
		if d >= 1 {
			want[invoice.StagePromised], want[invoice.StageDisputed], want[invoice.StagePaused] = true, true, true
		}
		if !want[inv.Stage] {
			t.Fatalf("%s: %d days overdue in stage %s", inv.Number, d, inv.Stage)
		}
	}
	for _, s := range []invoice.Stage{invoice.StageNotified, invoice.StageReminded, invoice.StageInquired, invoice.StagePressing,
		invoice.StageEscalated, invoice.StageAgency, invoice.StagePromised, invoice.StageDisputed, invoice.StagePaid,
		invoice.StageCancelled, invoice.StageWrittenOff, invoice.StageCollected, invoice.StageReturned} {
		if stages[s] == 0 {
			t.Errorf("no invoice in stage %s: %v", s, stages)
		}
	}
	if len(currencies) < 4 {
		t.Errorf("currencies: %v", currencies)
	}
	for id, n := range customers {
		if n > customers["cust-00000"] {
			t.Errorf("%s has %d invoices, more than cust-00000's %d", id, n, customers["cust-00000"])
		}
	}
	var open int
	for _, tk := range rows.tasks {
		if tk.Status == db.TaskOpen {
			open++
		}
	}
	if open == 0 || len(rows.notes) == 0 {
		t.Errorf("%d open tasks, %d notes", open, len(rows.notes))
	}
	// The same seed fills the same book.
	var again deskRows
	book.generate(2999, &again)
	if a, b := again.invoices[0], rows.invoices[2999]; a.Number != b.Number || a.AmountMinor != b.AmountMinor || a.CustomerID != b.CustomerID ||
		a.Stage != b.Stage || !a.DueAt.Equal(b.DueAt) {
		t.Errorf("invoice 2999 generated twice: %+v, then %+v", b, a)
	}
}

// The fill writes the book through the store (statuses by SaveStatus) on
// SQLite and, with TEST_DATABASE_URL, PostgreSQL.
func TestDeskFillWritesTheBook(t *testing.T) {
	for _, d := range dbtest.All(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			book := newDeskBook(150, 900, 3, time.Now())
			stats, err := book.fill(ctx, d.DB, d.Name, 2)
			if err != nil {
				t.Fatal(err)
			}
			count := func(q string) int64 {
				var n int64
				if err := d.DB.QueryRowContext(ctx, q).Scan(&n); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
				return n
			}
			for q, want := range map[string]int64{
				"SELECT count(*) FROM customers":                        stats.Customers,
				"SELECT count(*) FROM invoices":                         1050,
				"SELECT count(*) FROM invoices WHERE closed_at IS NULL": 150,
				"SELECT count(*) FROM invoices WHERE status IS NULL":    0,
				"SELECT count(*) FROM payments":                         stats.Payments,
				"SELECT count(*) FROM messages":                         stats.Messages,
				"SELECT count(*) FROM tasks":                            stats.Tasks,
				"SELECT count(*) FROM notes":                            stats.Notes,
				"SELECT count(DISTINCT currency) FROM invoices":         int64(len(deskCurrencies)),
				"SELECT count(*) FROM invoices i WHERE balance_minor <> amount_minor - (SELECT COALESCE(SUM(amount_minor), 0) FROM payments p WHERE p.invoice_id = i.id)": 0,
			} {
				if got := count(q); got != want && !(strings.Contains(q, "DISTINCT currency") && got >= 4) {
					t.Errorf("%s = %d, want %d", q, got, want)
				}
			}
			// The status-save path fed what the reports aggregate.
			if n := count("SELECT count(*) FROM invoice_events"); n < 1050 {
				t.Errorf("%d invoice events for 1050 invoices: the fill bypassed the status-save path", n)
			}
			if stats.Customers != 50 || stats.Invoices != 1050 || stats.Messages < 1050 {
				t.Errorf("stats: %+v", stats)
			}
			// A saved status reads back as the workflow's would.
			inv, err := db.NewStore(d.DB).GetInvoiceByNumber(ctx, fmt.Sprintf("INV-%07d", 1050))
			if err != nil {
				t.Fatal(err)
			}
			if inv.Status == nil || inv.Status.Stage != inv.Stage || len(inv.Status.Timeline) == 0 || inv.Status.AccountManager == "" {
				t.Errorf("INV-%07d: %+v", 1050, inv.Status)
			}
		})
	}
}

func TestSpliceDeskReplacesOnlyItsSection(t *testing.T) {
	sec := func(body string) []byte {
		return []byte(deskBegin + "\n## Desk at real size\n\n" + body + "\n" + deskEnd + "\n")
	}
	doc := []byte("# Benchmarks\n\n## Figures\n\nold figures\n")
	once := spliceDesk(doc, sec("first"))
	if !strings.HasPrefix(string(once), string(doc)) || !strings.Contains(string(once), "first") {
		t.Fatalf("appended:\n%s", once)
	}
	twice := spliceDesk(append(once, "\n## After\n"...), sec("second"))
	if strings.Contains(string(twice), "first") || !strings.Contains(string(twice), "second") ||
		!strings.Contains(string(twice), "old figures") || !strings.HasSuffix(string(twice), "## After\n") {
		t.Fatalf("replaced:\n%s", twice)
	}
	if got := string(deskSectionOf(twice)); !strings.HasPrefix(got, deskBegin) || !strings.Contains(got, "second") || !strings.HasSuffix(got, deskEnd) {
		t.Fatalf("section: %q", got)
	}
	if got := spliceDesk(doc, nil); string(got) != string(doc) {
		t.Fatalf("no section changes nothing: %q", got)
	}
	if got := spliceDesk(nil, sec("only")); !strings.HasPrefix(string(got), deskBegin) {
		t.Fatalf("into nothing: %q", got)
	}
}

// The deep page follows next_cursor when the worklist has one, takes an
// offset when it honours one, and says so when it does neither.
func TestDeepPageFollowsTheCursorOrOffset(t *testing.T) {
	const rows = 1000
	page := func(from, n int, next string) []byte {
		var b strings.Builder
		b.WriteString(`{"rows": [`)
		for i := from; i < min(from+n, rows); i++ {
			if i > from {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"invoice_id": "inv-%d"}`, i)
		}
		fmt.Fprintf(&b, `], "next_cursor": %q}`, next)
		return []byte(b.String())
	}
	for _, tc := range []struct {
		name     string
		handler  http.HandlerFunc
		wantPath string
		wantHow  string
	}{
		{"cursor", func(w http.ResponseWriter, r *http.Request) {
			at, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Query().Get("cursor"), "c"))
			next := ""
			if at+10 < rows {
				next = fmt.Sprintf("c%d", at+10)
			}
			w.Write(page(at, 10, next))
		}, "/v1/worklist?limit=10&cursor=c50", "page 6, reached by following `next_cursor`"},
		{"offset", func(w http.ResponseWriter, r *http.Request) {
			at, _ := strconv.Atoi(r.URL.Query().Get("offset"))
			w.Write(page(at, 10, ""))
		}, "/v1/worklist?limit=10&offset=50", "page 6, by `offset`"},
		{"cursor ignored", func(w http.ResponseWriter, r *http.Request) {
			w.Write(page(0, 10, "c10"))
		}, "", "error"},
		{"neither", func(w http.ResponseWriter, r *http.Request) {
			w.Write(page(0, 10, ""))
		}, "", "not measured: this worklist answers neither `next_cursor` nor `offset`, so no page past the first can be asked for"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "Bearer k" || r.URL.Path != "/v1/worklist" || r.URL.Query().Get("limit") != "10" {
					http.Error(w, "bad request", 400)
					return
				}
				tc.handler(w, r)
			}))
			defer srv.Close()
			path, how, err := deepPath(context.Background(), deskClient{http: srv.Client(), base: srv.URL, key: "k"}, 10, 5)
			if tc.wantHow == "error" {
				if err == nil || !strings.Contains(err.Error(), "repeats invoice inv-0") {
					t.Fatalf("a cursor the API ignores: %q, %q, %v", path, how, err)
				}
				return
			}
			if err != nil || path != tc.wantPath || how != tc.wantHow {
				t.Fatalf("deepPath = %q, %q, %v; want %q, %q", path, how, err, tc.wantPath, tc.wantHow)
			}
		})
	}
}
