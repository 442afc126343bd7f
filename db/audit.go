package db

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// AuditEntry records a change of how the engine behaves: a policy, a
// webhook subscription, an API key or its role; who made it and when.
type AuditEntry struct {
	bun.BaseModel `bun:"table:audit_log"`

	ID          string    `bun:"id,pk"` // a UUIDv7: in the order they were written
	At          time.Time `bun:"at,notnull"`
	ActorKeyID  string    `bun:"actor_key_id,notnull"`
	Actor       string    `bun:"actor,notnull"`
	ActorRole   string    `bun:"actor_role,notnull"`
	Action      string    `bun:"action,notnull"`
	SubjectKind string    `bun:"subject_kind,notnull"`
	SubjectID   string    `bun:"subject_id,notnull"`
	Detail      string    `bun:"detail,notnull"` // JSON, never a secret
}

// InsertAuditEntry stores an entry.
func (s *Store) InsertAuditEntry(ctx context.Context, e *AuditEntry) error {
	_, err := s.db.NewInsert().Model(e).Exec(ctx)
	return err
}

// AuditFilter narrows ListAuditEntries; zero values match everything.
type AuditFilter struct {
	SubjectKind string
	Before      string // a cursor: the id of the last entry of the previous page
	Limit       int    // default 100
}

// ListAuditEntries lists entries, newest first.
func (s *Store) ListAuditEntries(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	var out []AuditEntry
	q := s.db.NewSelect().Model(&out).Order("id DESC")
	if f.SubjectKind != "" {
		q = q.Where("subject_kind = ?", f.SubjectKind)
	}
	if f.Before != "" {
		q = q.Where("id < ?", f.Before)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	err := q.Limit(int64(limit)).Scan(ctx)
	return out, err
}
