package db

import (
	"context"

	"github.com/uptrace/bun"
)

// Policies keeps the versions of user-defined dunning policies.
type Policies struct{ db bun.IDB }

// NewPolicies wraps a database or a transaction.
func NewPolicies(db bun.IDB) *Policies { return &Policies{db: db} }

// InsertPolicy stores a new policy version; inserted is false when that
// name and version already exist.
func (r *Policies) InsertPolicy(ctx context.Context, p *PolicyDocument) (inserted bool, err error) {
	res, err := r.db.NewInsert().Model(p).On("CONFLICT (name, version) DO NOTHING").Exec(ctx)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// LatestPolicy returns the newest version of a named policy.
func (r *Policies) LatestPolicy(ctx context.Context, name string) (*PolicyDocument, error) {
	p := new(PolicyDocument)
	if err := r.db.NewSelect().Model(p).Where("name = ?", name).Order("version DESC").Limit(1).Scan(ctx); err != nil {
		return nil, notFound(err, "policy", name)
	}
	return p, nil
}

// ListPolicies returns every stored policy version, by name then version.
func (r *Policies) ListPolicies(ctx context.Context) ([]PolicyDocument, error) {
	var out []PolicyDocument
	err := r.db.NewSelect().Model(&out).Order("name", "version").Scan(ctx)
	return out, err
}
