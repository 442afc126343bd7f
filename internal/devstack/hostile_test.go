package devstack_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/collections-engine/collections/api"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/internal/devstack"
	"github.com/collections-engine/collections/internal/fakeprovider"
	"github.com/collections-engine/collections/internal/portallink"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestHostileInputAndSecretsNeverInLogs runs the product with every secret
// it knows configured and its JSON log captured at debug level, and then:
//
//   - calls every route of the OpenAPI document but the open ones with no
//     key, a wrong key and a revoked key (401 each), and every writing route
//     with a read-only key (403);
//   - sends list filters carrying SQL injection attempts (4xx or an empty
//     list, and the tables are intact afterwards);
//   - runs invoices through the real SendGrid and Twilio senders (against a
//     fake that refuses the first attempt of each message, so provider
//     errors are logged too) and a signed payment webhook;
//
// and finally searches the whole log for every secret and API key used.
func TestHostileInputAndSecretsNeverInLogs(t *testing.T) {
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	const adminKey = "ck_admin_secret_for_the_log_test_0123456789"
	const stripeSecret = "whsec_log_test_stripe_secret"
	const portalSecret = "portal_link_secret_for_the_log_test_0123456789"
	s := startStack(t, t.TempDir(), "", false, func(o *devstack.Options) {
		o.NoWorker, o.RateLimit, o.Log, o.APIKey = true, 100000, logger, adminKey
		o.Webhooks = api.WebhookConfig{PaymentsSecret: paymentsSecret, StripeSecret: stripeSecret, TwilioAuthToken: fakeTwilioToken,
			PublicBaseURL: "https://ar.example.com"}
		o.Portal.Keys = []portallink.Key{{ID: "log", Secret: []byte(portalSecret)}}
	})
	defer s.Stop()
	fake := fakeprovider.Start()
	defer fake.Close()
	fake.Plan = func(_ string, n int) fakeprovider.Fault {
		if n == 1 {
			return fakeprovider.ServerError
		}
		return fakeprovider.OK
	}
	w := fakeProviderWorker(t, s, fake, 2*time.Second, logger)
	defer w.Stop()
	ctx := context.Background()
	store := db.NewStore(s.DB)
	roSecret, ro, err := api.NewKey("reporting", db.RoleReadOnly, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	revSecret, rev, _ := api.NewKey("old", db.RoleReadWrite, time.Now())
	for _, k := range []*db.APIKey{ro, rev} {
		if err := store.InsertAPIKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.RevokeAPIKey(ctx, rev.Prefix, time.Now()); err != nil {
		t.Fatal(err)
	}
	const wrongKey = "ck_wrong_key_that_must_not_be_logged_987654321"

	c := client{t: t, base: s.APIURL, key: adminKey}
	fastPolicy(c)
	c.must("POST", "/v1/customers", map[string]string{"id": "acme", "name": "Acme", "email": "ap@acme.test", "phone": "+4930123456", "timezone": "UTC"}, 201)
	id := newInvoice(c, "HOSTILE-1")

	// Every route in the API's own document.
	doc, err := openapi3.NewLoader().LoadFromFile(filepath.Join("..", "..", "api", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	routes := 0
	paths := doc.Paths.Map()
	keys := make([]string, 0, len(paths))
	for p := range paths {
		keys = append(keys, p)
	}
	sort.Strings(keys)
	for _, p := range keys {
		if p == "/healthz" || p == "/readyz" || p == "/metrics" || p == "/openapi.yaml" || p == "/docs" || strings.HasPrefix(p, "/webhooks/") {
			continue
		}
		path := strings.NewReplacer("{id}", id, "{name}", "standard").Replace(p)
		for method := range paths[p].Operations() {
			routes++
			for _, tc := range []struct{ name, key string }{{"no key", ""}, {"a wrong key", wrongKey}, {"a revoked key", revSecret}} {
				if status, out := (client{t: t, base: s.APIURL, key: tc.key}).do(method, path, map[string]string{}); status != 401 {
					t.Errorf("%s %s with %s: %d %v, want 401", method, p, tc.name, status, out)
				}
			}
			if method != "GET" && !strings.HasPrefix(p, "/codec/") {
				if status, out := (client{t: t, base: s.APIURL, key: roSecret}).do(method, path, map[string]string{}); status != 403 {
					t.Errorf("%s %s with a read-only key: %d %v, want 403", method, p, status, out)
				}
			}
		}
	}
	if routes < 40 {
		t.Fatalf("only %d routes found in the OpenAPI document", routes)
	}

	// SQL injection attempts in every list filter.
	injections := []string{"' OR '1'='1", "1; DROP TABLE invoices; --", "x' UNION SELECT secret_hash FROM api_keys --", `\'; --`, "%' --", "\x00"}
	// The filters each list reads; the positional ones (cursor, limit,
	// overdue) may answer items, never a 5xx.
	lists := map[string][]string{
		"/v1/invoices":                    {"stage", "currency", "customer_id", "manager", "overdue", "limit", "cursor"},
		"/v1/outbox":                      {"invoice_id"},
		"/v1/invoices/" + id + "/preview": {"channel", "step"},
		"/v1/payment-events":              {"status"},
		"/v1/tasks":                       {"status", "assignee", "invoice_id"},
		"/v1/customers":                   {"cursor"},
		"/v1/webhook-deliveries":          {"status", "subscription_id", "invoice_id"},
		"/v1/worklist":                    {"manager", "currency"},
	}
	positional := map[string]bool{"cursor": true, "limit": true, "overdue": true}
	filters := 0
	for path, params := range lists {
		for _, p := range params {
			for _, inj := range injections {
				filters++
				status, out := c.do("GET", path+"?"+p+"="+url.QueryEscape(inj), nil)
				switch {
				case status >= 400 && status < 500:
				case status == 200 && positional[p]:
				case status == 200:
					for k, v := range out {
						if list, ok := v.([]any); ok && len(list) > 0 && k != "steps" {
							t.Errorf("GET %s?%s=%q: %d items in %s, want none", path, p, inj, len(list), k)
						}
					}
				default:
					t.Errorf("GET %s?%s=%q: %d %v", path, p, inj, status, out)
				}
			}
		}
	}
	if inv := c.must("GET", "/v1/invoices/"+id, nil, 200); inv["number"] != "HOSTILE-1" {
		t.Fatalf("the invoice after the injection attempts: %v", inv)
	}
	if keys, err := store.ListAPIKeys(ctx); err != nil || len(keys) != 3 {
		t.Fatalf("api keys after the injection attempts: %d %v", len(keys), err)
	}

	// The customer portal: its links are credentials, kept out of the
	// request log (and traces) like keys.
	link := c.must("POST", "/v1/portal/links", map[string]string{"customer_id": "acme"}, 201)["url"].(string)
	token := link[strings.LastIndex(link, "/")+1:]
	for _, path := range []string{"/portal/" + token, "/portal/" + token + "/statement?before=x", "/portal/" + token + "/invoices/" + id} {
		res, err := http.Get(s.APIURL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}

	// Messages through the providers, errors included, and a payment.
	eventually(t, 30*time.Second, "messages through the providers", func() bool {
		accepted, _ := fake.Total()
		return accepted >= 3
	})
	if status, out := postPayment(t, s.APIURL, map[string]string{"event_id": "evt-log", "type": "payment.succeeded", "invoice_id": id,
		"amount": "1000.00", "currency": "EUR", "reference": "ch_log"}, time.Now(), paymentsSecret); status != 200 || out["status"] != "accepted" {
		t.Fatalf("payment: %d %v", status, out)
	}
	waitClosed(t, s, id)
	w.Stop()

	out := logs.String()
	if !strings.Contains(out, `"level":"DEBUG"`) && !strings.Contains(out, "sendgrid") {
		t.Fatalf("the log capture caught nothing useful (%d bytes)", len(out))
	}
	for name, secret := range map[string]string{
		"admin API key": adminKey, "read-only API key": roSecret, "revoked API key": revSecret, "wrong API key": wrongKey,
		"payments webhook secret": paymentsSecret, "Stripe webhook secret": stripeSecret,
		"SendGrid API key": fakeSendGridKey, "Twilio auth token": fakeTwilioToken,
		"portal link key": portalSecret, "portal link": token,
	} {
		if strings.Contains(out, secret) {
			i := strings.Index(out, secret)
			t.Errorf("the %s is in the log: …%s…", name, out[max(0, i-200):min(len(out), i+len(secret)+50)])
		}
	}
	t.Logf("%d routes × 3 bad keys (+ read-only writes), %d injected filters; %d bytes of JSON log searched for 10 secrets",
		routes, filters, len(out))
}
