// Package portallink makes and checks the links customers reach the portal
// with: signed, expiring capabilities scoped to one customer (and
// optionally one invoice), or, for the credit application form, to no
// customer at all. No password: whoever holds the link may act for the
// customer until it expires or is revoked, so a link carries only ids and
// times, never a name or an amount.
//
// A token is "<key id>.<payload>.<mac>": the payload is base64url JSON, the
// MAC is HMAC-SHA256 over the key id and the payload with the key's secret.
// Keys rotate: the first key signs, every key verifies, so a link signed
// with a retired key keeps working while that key is still listed.
// Revocation is the database's (package db, portal_revocations): this
// package answers only "is it genuine and unexpired".
package portallink

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// DefaultTTL is how long a link lasts when the setting is not given
// (PORTAL_LINK_TTL).
const DefaultTTL = 30 * 24 * time.Hour

// MinSecret is the shortest secret a key may have, in bytes.
const MinSecret = 32

// Kinds of link.
const (
	KindCustomer = "c" // a customer's portal (optionally one invoice)
	KindCredit   = "a" // the credit application form, for a prospective customer
)

// Key is one signing key: an id (carried in every token, so that the
// right key verifies it) and its secret.
type Key struct {
	ID     string
	Secret []byte
}

// Claims are what a link grants.
type Claims struct {
	Kind       string
	ID         string // the link's id, for revoking this one link
	CustomerID string // KindCustomer: whose portal
	InvoiceID  string // optional: the invoice the link was sent about
	// Channel is the channel of the message that carried the link (email,
	// sms); empty for a link the team issued by hand.
	Channel   string
	IssuedAt  time.Time // to the second
	ExpiresAt time.Time // to the second
}

// wire is the claims as the token carries them: short keys and Unix
// seconds, so that a link stays short enough for an SMS.
type wire struct {
	Kind       string `json:"k"`
	ID         string `json:"i"`
	CustomerID string `json:"c,omitempty"`
	InvoiceID  string `json:"v,omitempty"`
	Channel    string `json:"h,omitempty"`
	IssuedAt   int64  `json:"t"`
	ExpiresAt  int64  `json:"e"`
}

// macLen is how much of the HMAC-SHA256 a token carries: 128 bits.
const macLen = 16

// ErrInvalid is every reason a token is refused: malformed, unknown key,
// bad signature, or expired. Callers must not tell them apart to the
// holder (no enumeration).
var ErrInvalid = errors.New("portal link is not valid")

// Signer signs with its first key and verifies with any of them.
type Signer struct {
	keys []Key
	TTL  time.Duration // how long a link lasts (DefaultTTL when zero)
}

// NewSigner checks the keys: at least one, ids unique and without a dot,
// secrets at least MinSecret bytes.
func NewSigner(keys []Key, ttl time.Duration) (*Signer, error) {
	if len(keys) == 0 {
		return nil, errors.New("no portal link keys")
	}
	seen := map[string]bool{}
	for i, k := range keys {
		switch {
		case k.ID == "" || strings.ContainsAny(k.ID, ".:, ") || len(k.ID) > 32:
			return nil, fmt.Errorf("key %d: id %q must be 1 to 32 characters without '.', ':', ',' or spaces", i+1, k.ID)
		case seen[k.ID]:
			return nil, fmt.Errorf("key %d: id %q is listed twice", i+1, k.ID)
		case len(k.Secret) < MinSecret:
			return nil, fmt.Errorf("key %q: secret is %d bytes, at least %d are needed", k.ID, len(k.Secret), MinSecret)
		}
		seen[k.ID] = true
	}
	if ttl < 0 {
		return nil, fmt.Errorf("link lifetime %s is negative", ttl)
	}
	return &Signer{keys: keys, TTL: ttl}, nil
}

// ParseKeys reads "kid:secret,kid2:secret2" (PORTAL_LINK_KEYS): the first
// signs, all verify.
func ParseKeys(s string) ([]Key, error) {
	var keys []Key
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, secret, ok := strings.Cut(part, ":")
		if !ok {
			return nil, fmt.Errorf("%q is not kid:secret", redact(part))
		}
		keys = append(keys, Key{ID: strings.TrimSpace(id), Secret: []byte(strings.TrimSpace(secret))})
	}
	if len(keys) == 0 {
		return nil, errors.New("no keys: give kid:secret, comma-separated")
	}
	return keys, nil
}

func redact(s string) string {
	if id, _, ok := strings.Cut(s, ":"); ok {
		return id + ":…"
	}
	if len(s) > 4 {
		return s[:4] + "…"
	}
	return s
}

// NewKey makes a random key with id (for dev, which keeps it on disk).
func NewKey(id string) (Key, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return Key{}, err
	}
	return Key{ID: id, Secret: []byte(hex.EncodeToString(b))}, nil
}

// String writes a key as ParseKeys reads it.
func (k Key) String() string { return k.ID + ":" + string(k.Secret) }

func (s *Signer) ttl() time.Duration {
	if s.TTL > 0 {
		return s.TTL
	}
	return DefaultTTL
}

// Lifetime is how long a link lasts.
func (s *Signer) Lifetime() time.Duration { return s.ttl() }

// KeyIDs lists the keys' ids, the signing key first.
func (s *Signer) KeyIDs() []string {
	ids := make([]string, len(s.keys))
	for i, k := range s.keys {
		ids[i] = k.ID
	}
	return ids
}

// Sign makes the token for c; a zero ExpiresAt becomes IssuedAt plus the
// lifetime. The same claims and keys always make the same token, so a
// retried activity renders the same link.
func (s *Signer) Sign(c Claims) string {
	if c.ExpiresAt.IsZero() {
		c.ExpiresAt = c.IssuedAt.Add(s.ttl())
	}
	raw, err := json.Marshal(wire{Kind: c.Kind, ID: c.ID, CustomerID: c.CustomerID, InvoiceID: c.InvoiceID, Channel: c.Channel,
		IssuedAt: c.IssuedAt.Unix(), ExpiresAt: c.ExpiresAt.Unix()})
	if err != nil {
		panic(err) // strings and times only
	}
	k := s.keys[0]
	payload := base64.RawURLEncoding.EncodeToString(raw)
	return k.ID + "." + payload + "." + base64.RawURLEncoding.EncodeToString(mac(k, payload))
}

func mac(k Key, payload string) []byte {
	m := hmac.New(sha256.New, k.Secret)
	m.Write([]byte("collections portal link\x00" + k.ID + "\x00" + payload))
	return m.Sum(nil)[:macLen]
}

// Verify checks the signature (in constant time) and the expiry, and
// returns the claims; any failure is ErrInvalid.
func (s *Signer) Verify(token string, now time.Time) (Claims, error) {
	if len(token) > 2048 {
		return Claims{}, ErrInvalid
	}
	kid, rest, ok1 := strings.Cut(token, ".")
	payload, sig64, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 {
		return Claims{}, ErrInvalid
	}
	sig, err := base64.RawURLEncoding.DecodeString(sig64)
	if err != nil {
		return Claims{}, ErrInvalid
	}
	var key *Key
	for i := range s.keys {
		if hmac.Equal([]byte(s.keys[i].ID), []byte(kid)) {
			key = &s.keys[i]
		}
	}
	if key == nil || !hmac.Equal(sig, mac(*key, payload)) {
		return Claims{}, ErrInvalid
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return Claims{}, ErrInvalid
	}
	var w wire
	if err := json.Unmarshal(raw, &w); err != nil || w.ID == "" || w.ExpiresAt == 0 {
		return Claims{}, ErrInvalid
	}
	c := Claims{Kind: w.Kind, ID: w.ID, CustomerID: w.CustomerID, InvoiceID: w.InvoiceID, Channel: w.Channel,
		IssuedAt: time.Unix(w.IssuedAt, 0).UTC(), ExpiresAt: time.Unix(w.ExpiresAt, 0).UTC()}
	switch {
	case c.Kind == KindCustomer && c.CustomerID != "":
	case c.Kind == KindCredit:
	default:
		return Claims{}, ErrInvalid
	}
	if !now.Before(c.ExpiresAt) {
		return Claims{}, ErrInvalid
	}
	return c, nil
}

// LinkID derives a link's id from what makes it unique (for a message: the
// invoice, the step and the channel), so that the same message always
// carries the same link.
func LinkID(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:12])
}

// RandomID is a fresh link id (links the team creates by hand).
func RandomID() string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// Links signs links and knows where the portal is served.
type Links struct {
	Signer *Signer
	// BaseURL is the portal's public address (PORTAL_BASE_URL), e.g.
	// https://pay.example.com/portal.
	BaseURL string
}

// URL is the address of the customer portal page a token opens.
func (l *Links) URL(token string) string {
	return strings.TrimRight(l.BaseURL, "/") + "/" + token
}

// CreditURL is the address of the credit application form a token opens.
func (l *Links) CreditURL(token string) string {
	return strings.TrimRight(l.BaseURL, "/") + "/apply/" + token
}

// ForMessage is the link a message carries: the customer's portal, about
// the message's invoice, identified by (invoice, step, channel) and issued
// at the message's scheduled time, so that every attempt to send the same
// message renders the same link.
func (l *Links) ForMessage(customerID, invoiceID, step, channel string, scheduledAt time.Time) string {
	return l.URL(l.Signer.Sign(Claims{Kind: KindCustomer, ID: LinkID(invoiceID, step, channel), CustomerID: customerID,
		InvoiceID: invoiceID, Channel: channel, IssuedAt: scheduledAt}))
}

// Tag is a MAC of data for purpose under the signing key (anti-forgery
// tokens of the portal's forms).
func (s *Signer) Tag(purpose, data string) string {
	m := hmac.New(sha256.New, s.keys[0].Secret)
	m.Write([]byte("collections portal " + purpose + "\x00" + data))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
