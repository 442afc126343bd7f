package api

import (
	"net/http"
	"testing"

	"github.com/collections-engine/collections/db"
)

func TestSubscriptionsGoOnlyWhereTheyShould(t *testing.T) {
	env := newRoleEnv(t)
	h := env.srv.Handler()
	for _, u := range []string{"http://127.0.0.1:9000/hook", "http://169.254.169.254/", "https://localhost/hook", "https://10.0.0.1/"} {
		status, out := env.do(h, "POST", "/v1/webhook-subscriptions", db.RoleAdmin, `{"url": "`+u+`", "events": ["payment.recorded"]}`)
		if status != http.StatusBadRequest || out["error"].(map[string]any)["field"] != "url" {
			t.Errorf("%s: %d %v, want 400 naming url", u, status, out)
		}
	}
	t.Setenv("OUTBOUND_ALLOW_HOSTS", "127.0.0.1")
	if status, out := env.do(h, "POST", "/v1/webhook-subscriptions", db.RoleAdmin, `{"url": "http://127.0.0.1:9000/hook", "events": ["payment.recorded"]}`); status != http.StatusCreated {
		t.Errorf("an allowed receiver: %d %v", status, out)
	}
}

func TestInvoiceDatesWithinTenYears(t *testing.T) {
	env := newRoleEnv(t)
	h := env.srv.Handler()
	for field, body := range map[string]string{
		"issued_at": `{"number": "INV-1", "customer_id": "acme", "amount": "10.00", "currency": "EUR", "issued_at": "2062-01-01T00:00:00Z", "due_at": "2062-02-01T00:00:00Z"}`,
		"due_at":    `{"number": "INV-1", "customer_id": "acme", "amount": "10.00", "currency": "EUR", "issued_at": "2026-12-01T00:00:00Z", "due_at": "9999-01-01T00:00:00Z"}`,
	} {
		status, out := env.do(h, "POST", "/v1/invoices", db.RoleReadWrite, body)
		if status != http.StatusBadRequest || out["error"].(map[string]any)["field"] != field {
			t.Errorf("%s: %d %v, want 400 naming it", field, status, out)
		}
	}
}

// The policy that took a worker to 6 GB is refused, naming its repeat.
func TestTheHostilePolicyIsRefused(t *testing.T) {
	env := newRoleEnv(t)
	h := env.srv.Handler()
	hostile := `{"name": "hostile", "version": 1, "steps": [{"id": "spam", "anchor": "issue", "offset": "0s",
		"channels": ["email"], "template": "reminder", "repeat": {"every": "1s", "times": 100000000}}]}`
	status, out := env.do(h, "POST", "/v1/policies", db.RoleAdmin, hostile)
	if status != http.StatusBadRequest || out["error"].(map[string]any)["field"] != "steps[0].repeat.times" {
		t.Fatalf("%d %v, want 400 naming steps[0].repeat.times", status, out)
	}
	// And a read-write key may not post policies at all.
	if status, _ := env.do(h, "POST", "/v1/policies", db.RoleReadWrite, hostile); status != http.StatusForbidden {
		t.Fatalf("a read-write key: %d, want 403", status)
	}
}
