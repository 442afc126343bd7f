package devstack_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/collections-engine/collections/api"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/internal/devstack"
)

func TestEveryRouteButHealthWantsAValidKeyAndReadOnlyKeysOnlyRead(t *testing.T) {
	s := startStack(t, t.TempDir(), "", false, func(o *devstack.Options) { o.RateLimit = 1000 })
	defer s.Stop()
	store := db.NewStore(s.DB)
	ctx := context.Background()
	roSecret, ro, err := api.NewKey("reporting", db.RoleReadOnly, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := store.InsertAPIKey(ctx, ro); err != nil {
		t.Fatal(err)
	}
	revSecret, rev, _ := api.NewKey("old", db.RoleReadWrite, time.Now())
	if err := store.InsertAPIKey(ctx, rev); err != nil {
		t.Fatal(err)
	}
	if err := store.RevokeAPIKey(ctx, rev.Prefix, time.Now()); err != nil {
		t.Fatal(err)
	}
	body := map[string]string{"id": "acme", "name": "Acme", "email": "ap@acme.test", "timezone": "UTC"}
	for _, tc := range []struct {
		name, key string
		status    int
	}{
		{"no key", "", 401}, {"a wrong key", "ck_nope", 401}, {"a revoked key", revSecret, 401},
		{"a read-only key writing", roSecret, 403},
	} {
		status, out := client{t: t, base: s.APIURL, key: tc.key}.do("POST", "/v1/customers", body)
		if status != tc.status || out["error"] == nil {
			t.Fatalf("%s: %d %v", tc.name, status, out)
		}
	}
	client{t: t, base: s.APIURL, key: roSecret}.must("GET", "/v1/invoices", nil, 200)
	client{t: t, base: s.APIURL}.must("GET", "/healthz", nil, 200)
	client{t: t, base: s.APIURL}.must("GET", "/readyz", nil, 200)
	client{t: t, base: s.APIURL, key: s.APIKey}.must("POST", "/v1/customers", body, 201)
}

func TestIdempotencyKeysReplayTheFirstAnswer(t *testing.T) {
	s := startStack(t, t.TempDir(), "", false)
	defer s.Stop()
	c := client{t: t, base: s.APIURL, key: s.APIKey, headers: map[string]string{"Idempotency-Key": "k-1"}}
	body := map[string]string{"id": "acme", "name": "Acme", "email": "ap@acme.test", "timezone": "UTC"}
	first := c.must("POST", "/v1/customers", body, 201)
	again := c.must("POST", "/v1/customers", body, 201) // replayed: 201 again, not 200
	if first["created_at"] != again["created_at"] {
		t.Fatalf("replay differs: %v vs %v", first, again)
	}
	other := map[string]string{"id": "beta", "name": "Beta", "email": "ap@beta.test", "timezone": "UTC"}
	status, out := c.do("POST", "/v1/customers", other)
	if e, _ := out["error"].(map[string]any); status != 422 || e == nil || e["field"] != "Idempotency-Key" {
		t.Fatalf("same key, other body: %d %v", status, out)
	}
	// A client error is remembered too; the key does not open a second try.
	bad := client{t: t, base: s.APIURL, key: s.APIKey, headers: map[string]string{"Idempotency-Key": "k-2"}}
	bad.must("POST", "/v1/customers", map[string]string{"id": "x"}, 400)
	bad.must("POST", "/v1/customers", map[string]string{"id": "x"}, 400)
}

func TestRateLimitAnswers429WithRetryAfter(t *testing.T) {
	s := startStack(t, t.TempDir(), "", false, func(o *devstack.Options) { o.RateLimit = 2 })
	defer s.Stop()
	limited := 0
	for range 20 {
		req, _ := http.NewRequest("GET", s.APIURL+"/v1/invoices", nil)
		req.Header.Set("Authorization", "Bearer "+s.APIKey)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode == 429 {
			limited++
			if res.Header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		}
	}
	if limited == 0 {
		t.Fatal("20 requests at once with a limit of 2 a second were never limited")
	}
	if !strings.HasPrefix(s.APIKey, "ck_") {
		t.Fatalf("dev key %q", s.APIKey)
	}
}
