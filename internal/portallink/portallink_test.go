package portallink

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func signer(t *testing.T, keys string) *Signer {
	t.Helper()
	k, err := ParseKeys(keys)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(k, 0)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const secretA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
const secretB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

func TestSignVerifyRotateExpire(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	old := signer(t, "k1:"+secretA)
	c := Claims{Kind: KindCustomer, ID: LinkID("inv-1", "remind", "email"), CustomerID: "acme", InvoiceID: "inv-1", IssuedAt: now}
	tok := old.Sign(c)
	if again := old.Sign(c); again != tok {
		t.Fatalf("same claims signed twice differ:\n%s\n%s", tok, again)
	}
	got, err := old.Verify(tok, now.Add(time.Hour))
	if err != nil || got.CustomerID != "acme" || got.InvoiceID != "inv-1" || !got.ExpiresAt.Equal(now.Add(DefaultTTL)) {
		t.Fatalf("verify: %+v %v", got, err)
	}
	// Rotation: a new key signs, the old one still verifies.
	rotated := signer(t, "k2:"+secretB+",k1:"+secretA)
	if _, err := rotated.Verify(tok, now); err != nil {
		t.Fatalf("old link after rotation: %v", err)
	}
	if tok2 := rotated.Sign(c); !strings.HasPrefix(tok2, "k2.") {
		t.Fatalf("rotated signer signs with %q", tok2[:3])
	}
	// Retired: the old key removed, its links stop working.
	retired := signer(t, "k2:"+secretB)
	if _, err := retired.Verify(tok, now); !errors.Is(err, ErrInvalid) {
		t.Fatalf("link of a retired key: %v", err)
	}
	if _, err := old.Verify(tok, now.Add(DefaultTTL)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("expired link: %v", err)
	}
}

func TestTamperedTokensRefused(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	s := signer(t, "k1:"+secretA)
	tok := s.Sign(Claims{Kind: KindCustomer, ID: "x", CustomerID: "acme", IssuedAt: now})
	kid, rest, _ := strings.Cut(tok, ".")
	payload, sig, _ := strings.Cut(rest, ".")
	other := s.Sign(Claims{Kind: KindCustomer, ID: "x", CustomerID: "beta", IssuedAt: now})
	_, orest, _ := strings.Cut(other, ".")
	opayload, _, _ := strings.Cut(orest, ".")
	flip := []byte(sig)
	flip[3] ^= 1
	for name, bad := range map[string]string{
		"empty": "", "garbage": "hello", "two parts": kid + "." + payload,
		"unknown key":          "k9." + payload + "." + sig,
		"swapped payload":      kid + "." + opayload + "." + sig,
		"flipped signature":    kid + "." + payload + "." + string(flip),
		"signature not base64": kid + "." + payload + ".!!!",
		"huge":                 strings.Repeat("a", 5000),
		"no kind":              s.Sign(Claims{ID: "x", CustomerID: "acme", IssuedAt: now}),
		"customer without id":  s.Sign(Claims{Kind: KindCustomer, ID: "x", IssuedAt: now}),
	} {
		if _, err := s.Verify(bad, now); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestKeysChecked(t *testing.T) {
	for _, bad := range []string{"", "nosecret", "k1:short", "k1:" + secretA + ",k1:" + secretB, "a.b:" + secretA} {
		keys, err := ParseKeys(bad)
		if err == nil {
			_, err = NewSigner(keys, 0)
		}
		if err == nil {
			t.Errorf("%q accepted", bad)
		} else if strings.Contains(err.Error(), "short") && bad != "k1:short" {
			t.Errorf("%q: %v", bad, err)
		}
	}
	k, err := NewKey("dev")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := ParseKeys(k.String())
	if err != nil || string(keys[0].Secret) != string(k.Secret) {
		t.Fatalf("a new key does not read back: %v", err)
	}
}
