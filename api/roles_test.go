package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
)

type roleEnv struct {
	t    *testing.T
	srv  *Server
	keys map[string]string // role -> secret
}

func newRoleEnv(t *testing.T) *roleEnv {
	t.Helper()
	store := db.NewStore(dbtest.SQLite(t).DB)
	env := &roleEnv{t: t, srv: &Server{Store: store, Log: slog.New(slog.DiscardHandler), RateLimit: 100000}, keys: map[string]string{}}
	for _, role := range Roles {
		secret, rec, err := NewKey(role+" key", role, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := store.InsertAPIKey(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
		env.keys[role] = secret
	}
	return env
}

func (env *roleEnv) do(h http.Handler, method, path, role, body string) (int, map[string]any) {
	env.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+env.keys[role])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out
}

var routeParam = regexp.MustCompile(`:[a-z_]+`)

// Every registered route, with every role: a role below the route's gets a
// 403 that names both roles (never a 401 or a 500); a role at or above it
// gets past the check. The handlers run on an empty database and without
// Temporal, so what they answer then is theirs (a 4xx for the empty body,
// or a failure to reach Temporal); only the role check is asserted.
func TestEveryRouteWithEveryRole(t *testing.T) {
	env := newRoleEnv(t)
	e := env.srv.Handler()
	checked := 0
	for _, r := range e.Routes() {
		if !slices.Contains(httpMethods, r.Method) || isOpen(r.Path) || isPage(r.Path) || r.Path == "/" || strings.HasSuffix(r.Path, "*") {
			continue
		}
		need := requiredRole(r.Method, r.Path, r.Path)
		path := routeParam.ReplaceAllString(r.Path, "x")
		for _, role := range Roles {
			status, out := env.do(e, r.Method, path, role, "{}")
			if allows(role, need) {
				if status == http.StatusForbidden || status == http.StatusUnauthorized {
					t.Errorf("%s %s with a %s key (needs %s): %d %v", r.Method, r.Path, role, need, status, out)
				}
				continue
			}
			checked++
			msg, _ := out["error"].(map[string]any)["message"].(string)
			if status != http.StatusForbidden || !strings.Contains(msg, need) && role != db.RoleReadOnly {
				t.Errorf("%s %s with a %s key (needs %s): %d %v, want 403 naming the role", r.Method, r.Path, role, need, status, out)
			}
		}
	}
	t.Logf("%d refusals checked", checked)
	if checked < 20 {
		t.Fatalf("only %d refusals checked: are the routes registered?", checked)
	}
}

// A read-write key (the day's work) cannot change how the engine behaves.
func TestReadWriteKeysDoNotChangePoliciesSubscriptionsOrKeys(t *testing.T) {
	env := newRoleEnv(t)
	h := env.srv.Handler()
	for _, c := range []struct{ method, path string }{
		{"POST", "/v1/policies"},
		{"POST", "/v1/webhook-subscriptions"}, {"GET", "/v1/webhook-subscriptions"}, {"DELETE", "/v1/webhook-subscriptions/x"},
		{"GET", "/v1/keys"}, {"POST", "/v1/keys"}, {"DELETE", "/v1/keys/x"}, {"GET", "/v1/audit"},
		{"POST", "/v1/invoices/x/escalation/decision"},
	} {
		if status, out := env.do(h, c.method, c.path, db.RoleReadWrite, "{}"); status != http.StatusForbidden {
			t.Errorf("%s %s with a read-write key: %d %v, want 403", c.method, c.path, status, out)
		}
	}
	// Reading policies is a read.
	if status, out := env.do(h, "GET", "/v1/policies", db.RoleReadOnly, ""); status != http.StatusOK {
		t.Errorf("GET /v1/policies with a read-only key: %d %v", status, out)
	}
}

// Admins list keys (never a secret), create and revoke them; each change is
// in the audit log with who made it.
func TestKeysAndTheAuditLog(t *testing.T) {
	env := newRoleEnv(t)
	h := env.srv.Handler()
	status, created := env.do(h, "POST", "/v1/keys", db.RoleAdmin, `{"name": "billing", "role": "read-write"}`)
	secret, _ := created["key"].(string)
	if status != http.StatusCreated || !strings.HasPrefix(secret, "ck_") || created["role"] != "read-write" {
		t.Fatalf("create: %d %v", status, created)
	}
	if status, out := env.do(h, "POST", "/v1/keys", db.RoleAdmin, `{"name": "x", "role": "owner"}`); status != http.StatusBadRequest || out["error"].(map[string]any)["field"] != "role" {
		t.Fatalf("a role that does not exist: %d %v", status, out)
	}
	// The new key works, and its use is noted.
	env.keys["billing"] = secret
	if status, _ := env.do(h, "GET", "/v1/invoices", "billing", ""); status != http.StatusOK {
		t.Fatalf("the new key: %d", status)
	}
	status, list := env.do(h, "GET", "/v1/keys", db.RoleAdmin, "")
	raw, _ := json.Marshal(list)
	if status != http.StatusOK || strings.Contains(string(raw), secret) || strings.Contains(string(raw), "key_hash") {
		t.Fatalf("list: %d %s", status, raw)
	}
	var billing map[string]any
	for _, k := range list["keys"].([]any) {
		if k.(map[string]any)["name"] == "billing" {
			billing = k.(map[string]any)
		}
	}
	if billing == nil || billing["last_used_at"] == nil || billing["prefix"] != secret[:10] {
		t.Fatalf("the billing key in the list: %v", billing)
	}
	if status, _ := env.do(h, "DELETE", "/v1/keys/"+created["id"].(string), db.RoleAdmin, ""); status != http.StatusNoContent {
		t.Fatalf("revoke: %d", status)
	}
	if status, _ := env.do(h, "GET", "/v1/invoices", "billing", ""); status != http.StatusUnauthorized {
		t.Fatalf("a revoked key: %d", status)
	}
	if status, _ := env.do(h, "DELETE", "/v1/keys/"+created["id"].(string), db.RoleAdmin, ""); status != http.StatusNotFound {
		t.Fatalf("revoking twice: %d", status)
	}
	// A policy too: the audit log has all three changes, newest first,
	// with the admin key's name and never the secret.
	policy := `{"name": "gentle", "version": 1, "steps": [{"id": "notify", "stage": "notified", "anchor": "issue", "offset": "0d", "channels": ["email"], "template": "invoice"}]}`
	if status, out := env.do(h, "POST", "/v1/policies", db.RoleAdmin, policy); status != http.StatusCreated {
		t.Fatalf("policy: %d %v", status, out)
	}
	status, audit := env.do(h, "GET", "/v1/audit", db.RoleAdmin, "")
	raw, _ = json.Marshal(audit)
	if status != http.StatusOK || strings.Contains(string(raw), secret) {
		t.Fatalf("audit: %d %s", status, raw)
	}
	var got []string
	for _, e := range audit["entries"].([]any) {
		m := e.(map[string]any)
		got = append(got, m["action"].(string)+" "+m["subject_id"].(string)+" by "+m["actor"].(string))
	}
	want := []string{"create policy gentle@1 by admin key", "revoke key " + created["id"].(string) + " by admin key",
		"create key " + created["id"].(string) + " by admin key"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit entries:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
