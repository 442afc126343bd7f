package collect

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/workflows"
)

// statements records the statements a bun database runs (BEGIN and
// COMMIT included), so a test can hold a hot path to its round trips.
type statements struct {
	mu   sync.Mutex
	on   bool
	list []string
}

func (s *statements) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }

func (s *statements) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.on {
		q, _, _ := strings.Cut(e.Query, " WHERE ")
		s.list = append(s.list, q)
	}
}

// during returns the statements f ran.
func (s *statements) during(f func()) []string {
	s.mu.Lock()
	s.on, s.list = true, nil
	s.mu.Unlock()
	f()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.on = false
	return s.list
}

// Creating an invoice for a customer without a credit limit reads the
// customer and the policy and inserts the row: three statements, no
// transaction and no lock on the customer. With a limit the insert is the
// checked transaction (lock, read again, open balance, insert). A number
// taken already is found by the insert.
func TestCreateInvoiceStatements(t *testing.T) {
	for _, d := range dbtest.All(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			rec := &statements{}
			d.DB.AddQueryHook(rec)
			s := &Service{Store: db.NewStore(d.DB), Workflows: &workflows.Client{Temporal: &fakeTemporal{started: map[string]int{}}},
				Log: slog.New(slog.DiscardHandler), Clock: func() time.Time { return time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC) }}
			for _, c := range []Customer{
				{ID: "C-1", Name: "One", Email: "ap@one.example", Timezone: "UTC"},
				{ID: "C-LIMIT", Name: "Limited", Email: "ap@limited.example", Timezone: "UTC", CreditLimit: "15.00", CreditCurrency: "EUR"},
			} {
				if _, err := s.CreateCustomer(ctx, CreateCustomer{Customer: c}); err != nil {
					t.Fatal(err)
				}
			}
			create := func(cmd CreateInvoice) (InvoiceResult, []string) {
				t.Helper()
				var res InvoiceResult
				var err error
				list := rec.during(func() { res, err = s.CreateInvoice(ctx, cmd) })
				if err != nil {
					t.Fatal(err)
				}
				return res, list
			}
			verbs := func(list []string) string {
				var out []string
				for _, q := range list {
					verb, _, _ := strings.Cut(q, " ")
					out = append(out, verb)
				}
				return strings.Join(out, " ")
			}

			res, list := create(invoiceCmd("INV-1"))
			if got, want := verbs(list), "SELECT SELECT INSERT"; !res.Created || got != want {
				t.Errorf("new invoice, customer without a limit: created %v by %q, want %q:\n%s", res.Created, got, want, strings.Join(list, "\n"))
			}
			res, list = create(invoiceCmd("INV-1"))
			if got, want := verbs(list), "SELECT SELECT INSERT SELECT SELECT"; res.Created || got != want {
				// The repeat then reads the stored invoice, and the customer
				// its workflow's start needs (the built-in policy is no read).
				t.Errorf("repeated number: created %v by %q, want %q:\n%s", res.Created, got, want, strings.Join(list, "\n"))
			}

			limited := invoiceCmd("INV-L1")
			limited.CustomerID = "C-LIMIT"
			res, list = create(limited)
			if got, want := verbs(list), "SELECT SELECT BEGIN UPDATE SELECT SELECT INSERT COMMIT"; !res.Created || got != want {
				t.Errorf("customer with a limit: created %v by %q, want %q:\n%s", res.Created, got, want, strings.Join(list, "\n"))
			}
			if res.Invoice.OverCreditLimit {
				t.Error("first invoice of 10.00 under a limit of 15.00 flagged")
			}
			limited.Number = "INV-L2"
			if res, _ = create(limited); !res.Invoice.OverCreditLimit {
				t.Error("second invoice of 10.00 under a limit of 15.00 not flagged")
			}
		})
	}
}
