package db

import (
	"context"

	"github.com/uptrace/bun"
)

// Notes keeps people's records of calls, letters and other correspondence.
type Notes struct{ db bun.IDB }

// NewNotes wraps a database or a transaction.
func NewNotes(db bun.IDB) *Notes { return &Notes{db: db} }

// InsertNote stores a note.
func (r *Notes) InsertNote(ctx context.Context, n *Note) error {
	_, err := r.db.NewInsert().Model(n).Exec(ctx)
	return err
}

// ListNotes returns a customer's notes (or one invoice's), newest first.
func (r *Notes) ListNotes(ctx context.Context, customerID, invoiceID string) ([]Note, error) {
	var out []Note
	q := r.db.NewSelect().Model(&out).Order("created_at DESC", "id DESC").Limit(500)
	if invoiceID != "" {
		q = q.Where("invoice_id = ?", invoiceID)
	} else {
		q = q.Where("customer_id = ?", customerID)
	}
	err := q.Scan(ctx)
	return out, err
}
