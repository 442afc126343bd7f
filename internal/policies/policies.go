// Package policies finds policies by name: the built-in ones and the
// versions users stored in the database. A name's newest version is what
// new invoices get; an invoice keeps the exact version it started on.
package policies

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/policy"
)

// Store is where user-defined policy versions are stored (a *db.Store).
type Store interface {
	LatestPolicy(ctx context.Context, name string) (*db.PolicyDocument, error)
	ListPolicies(ctx context.Context) ([]db.PolicyDocument, error)
}

// Latest returns the newest version of a named policy, built-in or stored;
// the error wraps db.ErrNotFound when there is none.
func Latest(ctx context.Context, store Store, name string) (policy.Policy, error) {
	builtin, isBuiltin := policy.Builtin(name)
	stored, err := store.LatestPolicy(ctx, name)
	switch {
	case err == nil:
		p, perr := Decode(stored)
		if perr != nil {
			return policy.Policy{}, perr
		}
		if !isBuiltin || p.Version > builtin.Version {
			return p, nil
		}
	case !errors.Is(err, db.ErrNotFound):
		return policy.Policy{}, err
	}
	if isBuiltin {
		return builtin, nil
	}
	return policy.Policy{}, fmt.Errorf("policy %q: %w", name, db.ErrNotFound)
}

// Version returns one exact version of a policy.
func Version(ctx context.Context, store Store, name string, version int) (policy.Policy, bool) {
	if b, ok := policy.Builtin(name); ok && b.Version == version {
		return b, true
	}
	stored, err := store.ListPolicies(ctx)
	if err != nil {
		return policy.Policy{}, false
	}
	for i := range stored {
		if stored[i].Name == name && stored[i].Version == version {
			p, err := Decode(&stored[i])
			return p, err == nil
		}
	}
	return policy.Policy{}, false
}

// Decode reads a stored policy document.
func Decode(d *db.PolicyDocument) (policy.Policy, error) {
	var p policy.Policy
	if err := json.Unmarshal([]byte(d.Document), &p); err != nil {
		return p, fmt.Errorf("stored policy %s v%d: %w", d.Name, d.Version, err)
	}
	return p, nil
}

// MessageStep finds a step of p that sends a message, by id; it also lists
// the ids of all such steps, for error messages.
func MessageStep(p policy.Policy, id string) (*policy.Step, []string) {
	var found *policy.Step
	var names []string
	for i := range p.Steps {
		if p.Steps[i].Template == "" || len(p.Steps[i].Channels) == 0 {
			continue
		}
		names = append(names, p.Steps[i].ID)
		if p.Steps[i].ID == id {
			found = &p.Steps[i]
		}
	}
	return found, names
}
