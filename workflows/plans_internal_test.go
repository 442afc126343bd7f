package workflows

import (
	"testing"
	"time"

	"github.com/collections-engine/collections/invoice"
)

// The Web UI's current details name the next instalment of an active plan.
func TestPlanDetailsNameTheNextInstalment(t *testing.T) {
	due := time.Date(2027, 2, 15, 9, 0, 0, 0, time.UTC)
	w := &run{in: InvoiceInput{Currency: "EUR"}, loc: time.UTC}
	if got := w.planDetails(); got != "" {
		t.Fatalf("no plan: %q", got)
	}
	w.s.Plan = &invoice.Plan{State: invoice.PlanPending}
	if got := w.planDetails(); got != "  \n**Plan:** pending approval" {
		t.Fatalf("pending: %q", got)
	}
	w.s.Plan = &invoice.Plan{State: invoice.PlanActive, Instalments: []invoice.Instalment{
		{AmountMinor: 25000, PaidMinor: 25000}, {AmountMinor: 25000, PaidMinor: 5000, DueAt: due}, {AmountMinor: 50000}}}
	if got := w.planDetails(); got != "  \n**Plan:** instalment 2 of 3, EUR 200.00 due 2027-02-15" {
		t.Fatalf("active: %q", got)
	}
}
