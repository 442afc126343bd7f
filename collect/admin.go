package collect

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/internal/keys"
	"github.com/collections-engine/collections/internal/policies"
	"github.com/collections-engine/collections/outbound"
	"github.com/collections-engine/collections/policy"
)

// How the engine behaves — its policies, who hears about events (webhook
// subscriptions), who may call it (API keys) — is changed here, and every
// change is recorded in the audit log with who made it.

// adminStore is what those changes need of the database.
type adminStore interface {
	policies.Store
	InsertPolicy(ctx context.Context, d *db.PolicyDocument) (bool, error)
	InsertAPIKey(ctx context.Context, k *db.APIKey) error
	RevokeAPIKey(ctx context.Context, idOrPrefix string, now time.Time) error
	CreateSubscription(ctx context.Context, sub *db.WebhookSubscription) error
	DeactivateSubscription(ctx context.Context, id string) error
	InsertAuditEntry(ctx context.Context, e *db.AuditEntry) error
}

// CreatePolicy stores a new version of a policy.
type CreatePolicy struct {
	Actor  Actor
	Policy policy.Policy // Version 0: the next one
}

// CreatePolicy stores the next version of a policy after its newest one (a
// document may state that number, and no other). The policy must be valid
// and within the engine's bounds (policy.Validate).
func (s *Service) CreatePolicy(ctx context.Context, cmd CreatePolicy) (policy.Policy, error) {
	p := cmd.Policy
	next := 1
	if cur, err := policies.Latest(ctx, s.Store, p.Name); err == nil {
		next = cur.Version + 1
	} else if !errors.Is(err, db.ErrNotFound) {
		return p, err
	}
	if p.Version != 0 && p.Version != next {
		return p, invalidf("version", "the next version of %q is %d (or leave version out)", p.Name, next)
	}
	p.Version = next
	if err := p.Validate(); err != nil {
		return p, PolicyError(err)
	}
	doc, err := json.Marshal(p)
	if err != nil {
		return p, err
	}
	inserted, err := s.Store.InsertPolicy(ctx, &db.PolicyDocument{Name: p.Name, Version: p.Version, Document: string(doc), CreatedAt: s.now()})
	if err != nil {
		return p, err
	}
	if !inserted {
		return p, conflictf("version", "policy %s v%d was created at the same moment; post again", p.Name, p.Version)
	}
	s.log().Info("policy created", "name", p.Name, "version", p.Version, "actor", cmd.Actor.String())
	s.audit(ctx, cmd.Actor, "create policy", "policy", fmt.Sprintf("%s@%d", p.Name, p.Version),
		map[string]any{"name": p.Name, "version": p.Version, "description": p.Description})
	return p, nil
}

// PolicyError turns a policy's parse or validation error, which starts with
// the field's path ("steps[2].template: ..."), into Invalid naming it.
func PolicyError(err error) *Error {
	field, _, _ := strings.Cut(err.Error(), ":")
	if strings.ContainsAny(field, " \"") {
		field = "body"
	}
	return &Error{Kind: Invalid, Field: field, Message: err.Error(), Err: err}
}

// keyPrefix starts every API key, so a leaked one is recognisable.
const keyPrefix = "ck_"

// NewKey makes a key for name with role: the secret, shown once, and the
// record that keeps only its hash.
func NewKey(name, role string, now time.Time) (string, *db.APIKey, error) {
	if !slices.Contains(db.Roles, role) {
		return "", nil, fmt.Errorf("role must be one of %s", strings.Join(db.Roles, ", "))
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return "", nil, err
	}
	secret := keyPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw))
	return secret, KeyRecord(secret, name, role, now), nil
}

// KeyRecord is the stored record of a given secret (for a key chosen by the
// operator, such as COLLECTIONS_API_KEY in dev).
func KeyRecord(secret, name, role string, now time.Time) *db.APIKey {
	prefix := secret
	if len(prefix) > 10 {
		prefix = prefix[:10]
	}
	return &db.APIKey{ID: uuid.Must(uuid.NewV7()).String(), Name: name, Role: role, Prefix: prefix, KeyHash: keys.Hash(secret), CreatedAt: now}
}

// CreateKey makes an API key.
type CreateKey struct {
	Actor      Actor
	Name, Role string
}

// NewAPIKey is a key just made: Secret is shown this once.
type NewAPIKey struct {
	Secret string
	Key    *db.APIKey
}

// CreateKey makes and stores an API key for who or what will use it.
func (s *Service) CreateKey(ctx context.Context, cmd CreateKey) (NewAPIKey, error) {
	name := strings.TrimSpace(cmd.Name)
	switch {
	case name == "":
		return NewAPIKey{}, invalidf("name", "is required: who or what uses the key")
	case utf8.RuneCountInString(name) > 200:
		return NewAPIKey{}, invalidf("name", "is longer than 200 characters")
	}
	secret, rec, err := NewKey(name, cmd.Role, s.now())
	if err != nil {
		return NewAPIKey{}, invalidf("role", "%v", err)
	}
	if err := s.Store.InsertAPIKey(ctx, rec); err != nil {
		return NewAPIKey{}, err
	}
	s.audit(ctx, cmd.Actor, "create key", "api_key", rec.ID, map[string]any{"name": rec.Name, "role": rec.Role, "prefix": rec.Prefix})
	return NewAPIKey{Secret: secret, Key: rec}, nil
}

// RevokeKey revokes an API key.
type RevokeKey struct {
	Actor Actor
	ID    string // the key's id or prefix
}

// RevokeKey revokes an active key: it is refused from now on.
func (s *Service) RevokeKey(ctx context.Context, cmd RevokeKey) error {
	err := s.Store.RevokeAPIKey(ctx, cmd.ID, s.now())
	if errors.Is(err, db.ErrNotFound) {
		return notFoundf("no active API key %q", cmd.ID)
	}
	if err != nil {
		return err
	}
	s.audit(ctx, cmd.Actor, "revoke key", "api_key", cmd.ID, nil)
	return nil
}

// CreateSubscription subscribes a receiver to events.
type CreateSubscription struct {
	Actor       Actor
	URL         string
	Events      []string
	Description string
}

// CreateSubscription stores a webhook subscription with a new signing
// secret. Its URL must be one deliveries may reach (outbound.Allowed: https
// to a public address, unless OUTBOUND_ALLOW_HOSTS allows more).
func (s *Service) CreateSubscription(ctx context.Context, cmd CreateSubscription) (*db.WebhookSubscription, error) {
	allowed, err := outbound.AllowedFromEnv()
	if err != nil {
		return nil, err
	}
	if err := allowed.CheckURL(ctx, cmd.URL); err != nil {
		return nil, invalidf("url", "%v", err)
	}
	u, err := url.Parse(strings.TrimSpace(cmd.URL))
	switch {
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		return nil, invalidf("url", "must be an absolute http(s) URL")
	case u.User != nil:
		return nil, invalidf("url", "must not carry credentials; deliveries are signed instead")
	case len(cmd.Events) == 0:
		return nil, invalidf("events", "name at least one of %s", strings.Join(outbound.Types, ", "))
	case len(cmd.Description) > 500:
		return nil, invalidf("description", "is longer than 500 characters")
	}
	for i, e := range cmd.Events {
		if !slices.Contains(outbound.Types, e) {
			return nil, invalidf(fmt.Sprintf("events[%d]", i), "%q is not one of %s", e, strings.Join(outbound.Types, ", "))
		}
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret) // never fails (crypto/rand)
	sub := &db.WebhookSubscription{ID: uuid.Must(uuid.NewV7()).String(), URL: u.String(),
		Events: strings.Join(slices.Compact(slices.Sorted(slices.Values(cmd.Events))), ","),
		Secret: "whsec_" + hex.EncodeToString(secret), Description: strings.TrimSpace(cmd.Description), Active: true, CreatedAt: s.now()}
	if err := s.Store.CreateSubscription(ctx, sub); err != nil {
		return nil, err
	}
	s.audit(ctx, cmd.Actor, "create subscription", "webhook_subscription", sub.ID,
		map[string]any{"url": sub.URL, "events": sub.Events, "description": sub.Description})
	return sub, nil
}

// DeleteSubscription stops a subscription.
type DeleteSubscription struct {
	Actor Actor
	ID    string
}

// DeleteSubscription stops a subscription: nothing new is queued for it and
// its pending deliveries stop; past deliveries stay listable.
func (s *Service) DeleteSubscription(ctx context.Context, cmd DeleteSubscription) error {
	err := s.Store.DeactivateSubscription(ctx, cmd.ID)
	if errors.Is(err, db.ErrNotFound) {
		return notFoundf("webhook subscription %q not found", cmd.ID)
	}
	if err != nil {
		return err
	}
	s.audit(ctx, cmd.Actor, "delete subscription", "webhook_subscription", cmd.ID, nil)
	return nil
}

// audit records a change of how the engine behaves. The change is made:
// a failure here is logged loudly and does not turn it into an error.
func (s *Service) audit(ctx context.Context, actor Actor, action, kind, subject string, detail map[string]any) {
	enc, _ := json.Marshal(detail)
	role := actor.Role
	if role == "" {
		role = string(actor.Kind)
	}
	e := &db.AuditEntry{ID: uuid.Must(uuid.NewV7()).String(), At: s.now(), ActorKeyID: actor.KeyID, Actor: actor.Name,
		ActorRole: role, Action: action, SubjectKind: kind, SubjectID: subject, Detail: string(enc)}
	if err := s.Store.InsertAuditEntry(context.WithoutCancel(ctx), e); err != nil {
		s.log().Error("audit entry not recorded", "action", action, "subject", subject, "actor", actor.String(), "error", err)
	}
}
