package db

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// keyUse is an API key's last use (api_keys.last_used_at).
type keyUse struct {
	bun.BaseModel `bun:"table:api_keys"`

	ID         string     `bun:"id,pk"`
	LastUsedAt *time.Time `bun:"last_used_at"`
}

// TouchAPIKey records that a key was used at now, unless a use after
// staleBefore is already recorded: a key in constant use costs one write a
// minute, not one a request.
func (s *Store) TouchAPIKey(ctx context.Context, id string, now, staleBefore time.Time) error {
	_, err := s.db.NewUpdate().Model((*keyUse)(nil)).Set("last_used_at = ?", now).
		Where("id = ? AND (last_used_at IS NULL OR last_used_at < ?)", id, staleBefore).Exec(ctx)
	return err
}

// APIKeysLastUsed maps each key that has been used to when it last was.
func (s *Store) APIKeysLastUsed(ctx context.Context) (map[string]time.Time, error) {
	var uses []keyUse
	if err := s.db.NewSelect().Model(&uses).Where("last_used_at IS NOT NULL").Scan(ctx); err != nil {
		return nil, err
	}
	out := make(map[string]time.Time, len(uses))
	for _, u := range uses {
		out[u.ID] = *u.LastUsedAt
	}
	return out, nil
}
