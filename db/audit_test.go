package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
)

func TestAuditEntriesAndKeyUse(t *testing.T) {
	for _, d := range dbtest.All(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			s := db.NewStore(d.DB)
			t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
			for i, id := range []string{"0193a000-0000-7000-8000-000000000001", "0193a000-0000-7000-8000-000000000002", "0193a000-0000-7000-8000-000000000003"} {
				kind := "policy"
				if i == 1 {
					kind = "api_key"
				}
				if err := s.InsertAuditEntry(ctx, &db.AuditEntry{ID: id, At: t0.Add(time.Duration(i) * time.Minute), ActorKeyID: "k1",
					Actor: "ops", ActorRole: db.RoleAdmin, Action: "POST /v1/policies", SubjectKind: kind, SubjectID: "gentle@1", Detail: "{}"}); err != nil {
					t.Fatal(err)
				}
			}
			all, err := s.ListAuditEntries(ctx, db.AuditFilter{Limit: 2})
			if err != nil || len(all) != 2 || all[0].ID[len(all[0].ID)-1] != '3' {
				t.Fatalf("newest first, two: %+v %v", all, err)
			}
			rest, err := s.ListAuditEntries(ctx, db.AuditFilter{Before: all[1].ID})
			if err != nil || len(rest) != 1 || rest[0].ID[len(rest[0].ID)-1] != '1' {
				t.Fatalf("the next page: %+v %v", rest, err)
			}
			keys, err := s.ListAuditEntries(ctx, db.AuditFilter{SubjectKind: "api_key"})
			if err != nil || len(keys) != 1 {
				t.Fatalf("by kind: %+v %v", keys, err)
			}

			k := &db.APIKey{ID: "k1", Name: "ops", Role: db.RoleAdmin, Prefix: "ck_abc", KeyHash: "h", CreatedAt: t0}
			if err := s.InsertAPIKey(ctx, k); err != nil {
				t.Fatal(err)
			}
			if err := s.TouchAPIKey(ctx, "k1", t0, t0.Add(-time.Minute)); err != nil {
				t.Fatal(err)
			}
			// A use within the minute is not written again.
			if err := s.TouchAPIKey(ctx, "k1", t0.Add(30*time.Second), t0.Add(-30*time.Second)); err != nil {
				t.Fatal(err)
			}
			used, err := s.APIKeysLastUsed(ctx)
			if err != nil || !used["k1"].Equal(t0) {
				t.Fatalf("last used: %v %v", used, err)
			}
			if err := s.TouchAPIKey(ctx, "k1", t0.Add(2*time.Minute), t0.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			if used, _ := s.APIKeysLastUsed(ctx); !used["k1"].Equal(t0.Add(2 * time.Minute)) {
				t.Fatalf("last used after two minutes: %v", used)
			}
		})
	}
}
