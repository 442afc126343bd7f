package db

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/uptrace/bun"
)

// Customers keeps who owes: contact details, account manager, credit terms.
type Customers struct{ db bun.IDB }

// NewCustomers wraps a database or a transaction.
func NewCustomers(db bun.IDB) *Customers { return &Customers{db: db} }

// InsertCustomer stores a new customer. inserted is false, and nothing is
// written, when a customer with that id already exists.
func (r *Customers) InsertCustomer(ctx context.Context, c *Customer) (inserted bool, err error) {
	res, err := r.db.NewInsert().Model(c).On("CONFLICT (id) DO NOTHING").Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("insert customer: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// GetCustomer loads a customer by id.
func (r *Customers) GetCustomer(ctx context.Context, id string) (*Customer, error) {
	c := new(Customer)
	if err := r.db.NewSelect().Model(c).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "customer", id)
	}
	return c, nil
}

// ListCustomers returns customers by id, after the cursor id when given.
func (r *Customers) ListCustomers(ctx context.Context, after string, lim int) ([]Customer, error) {
	var out []Customer
	q := r.db.NewSelect().Model(&out).Order("id").Limit(limit(lim))
	if after != "" {
		q = q.Where("id > ?", after)
	}
	err := q.Scan(ctx)
	return out, err
}

// UpdateCustomer writes a customer's changed details.
func (r *Customers) UpdateCustomer(ctx context.Context, c *Customer) error {
	res, err := r.db.NewUpdate().Model(c).WherePK().ExcludeColumn("created_at").Exec(ctx)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound(sql.ErrNoRows, "customer", c.ID)
	}
	return nil
}

// CustomerByPhone finds the customer with a phone number.
func (r *Customers) CustomerByPhone(ctx context.Context, phone string) (*Customer, error) {
	c := new(Customer)
	if err := r.db.NewSelect().Model(c).Where("phone = ?", phone).Limit(1).Scan(ctx); err != nil {
		return nil, notFound(err, "customer with phone", phone)
	}
	return c, nil
}

// CustomersByEmail finds up to n customers whose address is email, compared
// without case (customers_email_idx).
func (r *Customers) CustomersByEmail(ctx context.Context, email string, n int) ([]Customer, error) {
	var out []Customer
	err := r.db.NewSelect().Model(&out).Where("LOWER(email) = LOWER(?)", email).Order("id").Limit(int64(n)).Scan(ctx)
	return out, err
}
