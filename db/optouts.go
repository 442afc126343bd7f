package db

import (
	"context"
	"strings"

	"github.com/uptrace/bun"
)

// OptOuts keeps the addresses that must not be contacted on a channel.
type OptOuts struct{ db bun.IDB }

// NewOptOuts wraps a database or a transaction.
func NewOptOuts(db bun.IDB) *OptOuts { return &OptOuts{db: db} }

// OptOut records that an address must not be contacted on a channel.
func (r *OptOuts) OptOut(ctx context.Context, o *OptOut) error {
	o.Address = strings.ToLower(o.Address)
	_, err := r.db.NewInsert().Model(o).On("CONFLICT (channel, address) DO NOTHING").Exec(ctx)
	return err
}

// OptIn lifts an opt-out.
func (r *OptOuts) OptIn(ctx context.Context, channel, address string) error {
	_, err := r.db.NewDelete().Model((*OptOut)(nil)).Where("channel = ? AND address = ?", channel, strings.ToLower(address)).Exec(ctx)
	return err
}

// OptedOut reports whether an address has opted out of a channel.
func (r *OptOuts) OptedOut(ctx context.Context, channel, address string) (bool, error) {
	return r.db.NewSelect().Model((*OptOut)(nil)).Where("channel = ? AND address = ?", channel, strings.ToLower(address)).Exists(ctx)
}
