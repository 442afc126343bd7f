package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/policy"
)

// LoadPolicies stores the policy documents in dir (YAML or JSON, one policy
// each) as versions in the database, so invoices can name them. A version
// already stored with the same content is left alone; the same version with
// other content is an error (edit a policy by raising its version, so that
// running invoices never change silently).
func LoadPolicies(ctx context.Context, store *db.Store, dir string, log *slog.Logger) error {
	if dir == "" {
		return nil
	}
	policies, err := policy.LoadDir(dir)
	if err != nil {
		return err
	}
	stored, err := store.ListPolicies(ctx)
	if err != nil {
		return err
	}
	have := map[string]string{}
	for _, d := range stored {
		have[fmt.Sprintf("%s@%d", d.Name, d.Version)] = d.Document
	}
	for _, p := range policies {
		if b, ok := policy.Builtin(p.Name); ok && p.Version <= b.Version {
			return fmt.Errorf("%s: version %d of built-in policy %q exists; give it version %d or more, or another name", dir, p.Version, p.Name, b.Version+1)
		}
		doc, err := json.Marshal(p)
		if err != nil {
			return err
		}
		key := fmt.Sprintf("%s@%d", p.Name, p.Version)
		if existing, ok := have[key]; ok {
			if existing != string(doc) {
				return fmt.Errorf("%s: policy %s v%d differs from the stored v%d; raise its version to change it", dir, p.Name, p.Version, p.Version)
			}
			continue
		}
		now := time.Now().UTC()
		if _, err := store.InsertPolicy(ctx, &db.PolicyDocument{Name: p.Name, Version: p.Version, Document: string(doc), CreatedAt: now}); err != nil {
			return err
		}
		log.Info("policy loaded", "name", p.Name, "version", p.Version, "dir", dir)
		detail, _ := json.Marshal(map[string]any{"name": p.Name, "version": p.Version, "dir": dir})
		if err := store.InsertAuditEntry(ctx, &db.AuditEntry{ID: uuid.Must(uuid.NewV7()).String(), At: now, Actor: "policies-dir",
			ActorRole: "operator", Action: "load policy", SubjectKind: "policy", SubjectID: key, Detail: string(detail)}); err != nil {
			return err
		}
	}
	return nil
}
