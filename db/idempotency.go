package db

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// IdempotencyKeys remembers POSTs under their Idempotency-Key.
type IdempotencyKeys struct{ db bun.IDB }

// NewIdempotencyKeys wraps a database or a transaction.
func NewIdempotencyKeys(db bun.IDB) *IdempotencyKeys { return &IdempotencyKeys{db: db} }

// ClaimIdempotencyKey records a request under its key. When the key is
// already there (and younger than since), the stored row comes back
// instead and claimed is false; an older one is replaced.
func (r *IdempotencyKeys) ClaimIdempotencyKey(ctx context.Context, k *IdempotencyKey, since time.Time) (stored *IdempotencyKey, claimed bool, err error) {
	err = r.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewDelete().Model((*IdempotencyKey)(nil)).
			Where("api_key_id = ? AND idem_key = ? AND created_at < ?", k.APIKeyID, k.Key, since).Exec(ctx); err != nil {
			return err
		}
		res, err := tx.NewInsert().Model(k).On("CONFLICT (api_key_id, idem_key) DO NOTHING").Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			stored, claimed = k, true
			return nil
		}
		stored = new(IdempotencyKey)
		return tx.NewSelect().Model(stored).Where("api_key_id = ? AND idem_key = ?", k.APIKeyID, k.Key).Scan(ctx)
	})
	return stored, claimed, err
}

// FinishIdempotencyKey stores the response of a claimed request.
func (r *IdempotencyKeys) FinishIdempotencyKey(ctx context.Context, apiKeyID, key string, status int, response string) error {
	_, err := r.db.NewUpdate().Model((*IdempotencyKey)(nil)).Set("status = ?", status).Set("response = ?", response).
		Where("api_key_id = ? AND idem_key = ?", apiKeyID, key).Exec(ctx)
	return err
}

// ReleaseIdempotencyKey forgets a claimed request that failed on our side,
// so that the client's retry with the same key runs again.
func (r *IdempotencyKeys) ReleaseIdempotencyKey(ctx context.Context, apiKeyID, key string) error {
	_, err := r.db.NewDelete().Model((*IdempotencyKey)(nil)).Where("api_key_id = ? AND idem_key = ?", apiKeyID, key).Exec(ctx)
	return err
}
