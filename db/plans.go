package db

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/collections-engine/collections/invoice"
)

// PaymentPlan is an invoice's payment plan as its workflow last saved it
// (the plan itself, with its instalments, is in the invoice's status): the
// row the plan-kept report counts.
type PaymentPlan struct {
	bun.BaseModel `bun:"table:payment_plans"`

	InvoiceID   string     `bun:"invoice_id,pk"`
	Number      int        `bun:"number,pk"`
	Currency    string     `bun:"currency,notnull"`
	State       string     `bun:"state,notnull"`
	TotalMinor  int64      `bun:"total_minor,notnull"`
	Instalments int        `bun:"instalments,notnull"`
	ProposedAt  time.Time  `bun:"proposed_at,notnull"`
	AgreedAt    *time.Time `bun:"agreed_at"`
	EndedAt     *time.Time `bun:"ended_at"`
	UpdatedAt   time.Time  `bun:"updated_at,notnull"`
}

// PaymentPlans is the payment plans' repository.
type PaymentPlans struct{ db bun.IDB }

// SavePaymentPlan writes the plan of a status saved for an invoice:
// inserted the first time, brought up to date after. Idempotent.
func (r *PaymentPlans) SavePaymentPlan(ctx context.Context, st invoice.Status, now time.Time) error {
	p := st.Plan
	if p == nil {
		return nil
	}
	row := &PaymentPlan{InvoiceID: st.InvoiceID, Number: p.Number, Currency: st.Currency,
		State: p.State, TotalMinor: p.TotalMinor, Instalments: len(p.Instalments), ProposedAt: p.ProposedAt.UTC(),
		AgreedAt: p.AgreedAt, EndedAt: p.EndedAt, UpdatedAt: now}
	if _, err := r.db.NewInsert().Model(row).
		On("CONFLICT (invoice_id, number) DO UPDATE").
		Set("state = EXCLUDED.state").Set("agreed_at = EXCLUDED.agreed_at").Set("ended_at = EXCLUDED.ended_at").
		Set("updated_at = EXCLUDED.updated_at").
		Exec(ctx); err != nil {
		return fmt.Errorf("save payment plan: %w", err)
	}
	return nil
}

// ListPaymentPlans lists an invoice's plans, oldest first.
func (r *PaymentPlans) ListPaymentPlans(ctx context.Context, invoiceID string) ([]PaymentPlan, error) {
	var out []PaymentPlan
	err := r.db.NewSelect().Model(&out).Where("invoice_id = ?", invoiceID).Order("number").Scan(ctx)
	return out, err
}

// PlanOutcomes is how the plans that ended in a period ended, in one
// currency: the plan-kept report's row.
type PlanOutcomes struct {
	Currency    string `bun:"currency"`
	Kept        int64  `bun:"kept"`
	Broken      int64  `bun:"broken"`
	KeptMinor   int64  `bun:"kept_minor"`
	BrokenMinor int64  `bun:"broken_minor"`
}

// PlanOutcomes counts, per currency, the plans completed (kept) and broken
// with an end in [from, to): the database aggregates, whatever the size of
// the book. currency, when given, keeps one.
func (r *PaymentPlans) PlanOutcomes(ctx context.Context, from, to time.Time, currency string) ([]PlanOutcomes, error) {
	var out []PlanOutcomes
	q := r.db.NewSelect().TableExpr("payment_plans").
		ColumnExpr("currency").
		ColumnExpr("SUM(CASE WHEN state = ? THEN 1 ELSE 0 END) AS kept", invoice.PlanCompleted).
		ColumnExpr("SUM(CASE WHEN state = ? THEN 1 ELSE 0 END) AS broken", invoice.PlanBroken).
		ColumnExpr("SUM(CASE WHEN state = ? THEN total_minor ELSE 0 END) AS kept_minor", invoice.PlanCompleted).
		ColumnExpr("SUM(CASE WHEN state = ? THEN total_minor ELSE 0 END) AS broken_minor", invoice.PlanBroken).
		Where("state IN (?)", bun.In([]string{invoice.PlanCompleted, invoice.PlanBroken})).
		Where("ended_at >= ?", from.UTC()).Where("ended_at < ?", to.UTC()).
		GroupExpr("currency").OrderExpr("currency")
	if currency != "" {
		q = q.Where("currency = ?", currency)
	}
	err := q.Scan(ctx, &out)
	return out, err
}
