package db

import (
	"context"
	"database/sql"
	"time"

	"github.com/uptrace/bun"
)

// APIKeys keeps the keys to the HTTP API (only their hashes).
type APIKeys struct{ db bun.IDB }

// NewAPIKeys wraps a database or a transaction.
func NewAPIKeys(db bun.IDB) *APIKeys { return &APIKeys{db: db} }

// InsertAPIKey stores a new API key.
func (r *APIKeys) InsertAPIKey(ctx context.Context, k *APIKey) error {
	_, err := r.db.NewInsert().Model(k).Exec(ctx)
	return err
}

// APIKeyByHash finds an unrevoked key by the SHA-256 of its secret.
func (r *APIKeys) APIKeyByHash(ctx context.Context, hash string) (*APIKey, error) {
	k := new(APIKey)
	if err := r.db.NewSelect().Model(k).Where("key_hash = ? AND revoked_at IS NULL", hash).Scan(ctx); err != nil {
		return nil, notFound(err, "api key", "")
	}
	return k, nil
}

// APIKeyByID finds an unrevoked key by its id (the collectors' page
// session names the key it was opened with).
func (r *APIKeys) APIKeyByID(ctx context.Context, id string) (*APIKey, error) {
	k := new(APIKey)
	if err := r.db.NewSelect().Model(k).Where("id = ? AND revoked_at IS NULL", id).Scan(ctx); err != nil {
		return nil, notFound(err, "api key", id)
	}
	return k, nil
}

// ListAPIKeys lists every key, newest first.
func (r *APIKeys) ListAPIKeys(ctx context.Context) ([]APIKey, error) {
	var out []APIKey
	err := r.db.NewSelect().Model(&out).Order("created_at DESC", "id").Scan(ctx)
	return out, err
}

// RevokeAPIKey revokes a key by id or prefix.
func (r *APIKeys) RevokeAPIKey(ctx context.Context, idOrPrefix string, now time.Time) error {
	res, err := r.db.NewUpdate().Model((*APIKey)(nil)).Set("revoked_at = ?", now).
		Where("(id = ? OR prefix = ?) AND revoked_at IS NULL", idOrPrefix, idOrPrefix).Exec(ctx)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound(sql.ErrNoRows, "active api key", idOrPrefix)
	}
	return nil
}
