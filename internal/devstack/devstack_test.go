package devstack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/collections-engine/collections/channels"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/internal/app"
	"github.com/collections-engine/collections/internal/devserver"
	"github.com/collections-engine/collections/internal/devstack"
	"github.com/collections-engine/collections/internal/fakeprovider"
)

// These tests run the whole product as `collections dev` does, on free ports
// in a temporary directory, and drive it through its real HTTP API.

func startStack(t *testing.T, dataDir, databaseURL string, withUI bool, configure ...func(*devstack.Options)) *devstack.Stack {
	t.Helper()
	port := func() string {
		p, err := devserver.FreePort("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("127.0.0.1:%d", p)
	}
	o := devstack.Options{DataDir: dataDir, TemporalAddr: port(), Config: app.Config{HTTPAddr: port(), DatabaseURL: databaseURL,
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}}
	if withUI {
		o.UIAddr = port()
	}
	for _, f := range configure {
		f(&o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := devstack.Start(ctx, o)
	if err != nil {
		t.Fatalf("start dev stack: %v", err)
	}
	return s
}

type client struct {
	t    *testing.T
	base string
	key  string // the API key sent as a bearer token
	// headers are sent with every request (e.g. Idempotency-Key).
	headers map[string]string
}

func (c client) do(method, path string, body any) (int, map[string]any) {
	c.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		r = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, c.base+path, r)
	req.Header.Set("Content-Type", "application/json")
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode == http.StatusNoContent && len(raw) == 0 {
		return res.StatusCode, nil
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		c.t.Fatalf("%s %s: %d, not JSON: %s", method, path, res.StatusCode, raw)
	}
	return res.StatusCode, out
}

func (c client) must(method, path string, body any, want int) map[string]any {
	c.t.Helper()
	status, out := c.do(method, path, body)
	if status != want {
		c.t.Fatalf("%s %s: status %d, want %d: %v", method, path, status, want, out)
	}
	return out
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func messages(c client, invoiceID string) []map[string]any {
	out := c.must("GET", "/v1/outbox?invoice_id="+invoiceID, nil, 200)
	var list []map[string]any
	for _, m := range out["messages"].([]any) {
		list = append(list, m.(map[string]any))
	}
	return list
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func TestInvoiceFromAPIToPaid(t *testing.T) {
	databaseURL := ""
	if os.Getenv(dbtest.EnvPostgres) != "" {
		databaseURL = dbtest.Postgres(t).DSN // the same path against PostgreSQL
	}
	s := startStack(t, t.TempDir(), databaseURL, true)
	defer s.Stop()
	c := client{t: t, base: s.APIURL, key: s.APIKey}

	c.must("GET", "/healthz", nil, 200)
	ready := c.must("GET", "/readyz", nil, 200)
	if ready["ready"] != true {
		t.Fatalf("readyz: %v", ready)
	}
	res, err := http.Get(s.UIURL + "/")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("web UI: %v %v", res, err)
	}
	res.Body.Close()

	// The standard policy with its send window removed, so the test does
	// not depend on the hour it runs at; posted as a user policy.
	std := c.must("GET", "/v1/policies/standard", nil, 200)
	delete(std, "calendar")
	delete(std, "builtin")
	std["name"], std["version"] = "anytime", 0
	created := c.must("POST", "/v1/policies", std, 201)
	if created["version"] != float64(1) {
		t.Fatalf("new policy: %v", created)
	}
	c.must("POST", "/v1/customers", map[string]string{"id": "acme", "name": "Acme GmbH", "email": "ap@acme.test",
		"phone": "+4930123456", "timezone": "Europe/Berlin", "account_manager": "mia@ar.test", "default_policy": "anytime"}, 201)
	now := time.Now()
	invReq := map[string]string{"number": "INV-1001", "customer_id": "acme", "amount": "1250.00", "currency": "EUR",
		"issued_at": rfc3339(now.Add(-10 * 24 * time.Hour)), "due_at": rfc3339(now.Add(3 * 24 * time.Hour))}
	inv := c.must("POST", "/v1/invoices", invReq, 201)
	id := inv["id"].(string)
	if inv["workflow_id"] != "invoice:"+id || inv["balance"] != "1250.00" || inv["policy"].(map[string]any)["name"] != "anytime" {
		t.Fatalf("created invoice: %v", inv)
	}
	// The same number again: the same invoice, no second workflow.
	again := c.must("POST", "/v1/invoices", invReq, 200)
	if again["id"] != id {
		t.Fatalf("second post returned %v, want id %s", again["id"], id)
	}

	// Issued ten days ago and due in three: the notice and the delivery
	// check are long past and the friendly reminder (due - 7 days) is due,
	// so the reminder alone goes out at once, through the dev outbox.
	eventually(t, 30*time.Second, "the reminder in the outbox", func() bool {
		for _, m := range messages(c, id) {
			if m["step"] == "remind" && m["status"] == "sent" {
				return true
			}
		}
		return false
	})
	got := c.must("GET", "/v1/invoices/"+id, nil, 200)
	if got["stage"] != "reminded" || got["status_source"] != "workflow" || got["next_action"] == nil {
		t.Fatalf("invoice after the reminder: %v", got)
	}

	pay := c.must("POST", "/v1/invoices/"+id+"/payments", map[string]string{"amount": "250.00", "currency": "EUR", "reference": "tx-1"}, 201)
	if pay["balance"] != "1000.00" {
		t.Fatalf("partial payment: %v", pay)
	}
	pay = c.must("POST", "/v1/invoices/"+id+"/payments", map[string]string{"amount": "1000.00", "currency": "EUR", "reference": "tx-2"}, 201)
	if pay["balance"] != "0.00" || pay["stage"] != "paid" {
		t.Fatalf("final payment: %v", pay)
	}

	ctx := context.Background()
	eventually(t, 30*time.Second, "the workflow to complete", func() bool {
		d, err := s.Client.DescribeWorkflowExecution(ctx, "invoice:"+id, "")
		return err == nil && d.GetWorkflowExecutionInfo().GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_COMPLETED
	})
	final := c.must("GET", "/v1/invoices/"+id, nil, 200)
	if final["stage"] != "paid" || final["balance"] != "0.00" || final["closed_at"] == nil {
		t.Fatalf("paid invoice: %v", final)
	}
	kinds := []string{}
	for _, e := range final["timeline"].([]any) {
		kinds = append(kinds, e.(map[string]any)["kind"].(string))
	}
	if strings.Join(kinds, ",") != "started,superseded,superseded,message,payment,payment,paid" {
		t.Fatalf("timeline: %v", kinds)
	}
	c.must("POST", "/v1/invoices/"+id+"/payments", map[string]string{"amount": "1.00", "currency": "EUR", "reference": "tx-3"}, 409)
	if n := len(messages(c, id)); n != 1 {
		t.Fatalf("messages after payment: %d, want only the reminder", n)
	}

	// The Web UI's view: summary and typed search attributes.
	d, err := s.Client.DescribeWorkflowExecution(ctx, "invoice:"+id, "")
	if err != nil {
		t.Fatal(err)
	}
	if sum := d.GetExecutionConfig().GetUserMetadata().GetSummary(); sum == nil || !strings.Contains(string(sum.GetData()), "INV-1001") {
		t.Fatalf("static summary: %v", sum)
	}
	eventually(t, 30*time.Second, "search attributes to find the paid invoice", func() bool {
		list, err := s.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: `InvoiceStage = "paid" AND CustomerId = "acme" AND AmountDueMinor = 0 AND AccountManager = "mia@ar.test" AND PolicyName = "anytime"`})
		return err == nil && len(list.GetExecutions()) == 1
	})
	// A collector finds the invoice in the Web UI by its number alone.
	list, err := s.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: `InvoiceNumber = "INV-1001"`})
	if err != nil {
		t.Fatal(err)
	}
	if ex := list.GetExecutions(); len(ex) != 1 || ex[0].GetExecution().GetWorkflowId() != "invoice:"+id {
		t.Fatalf(`InvoiceNumber = "INV-1001" lists %v, want the workflow invoice:%s`, ex, id)
	}
	if list, err = s.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: `InvoiceNumber = "INV-1002"`}); err != nil || len(list.GetExecutions()) != 0 {
		t.Fatalf(`InvoiceNumber = "INV-1002" (no such invoice) lists %v, %v`, list.GetExecutions(), err)
	}
}

func TestBadInputIsA4xxNamingTheField(t *testing.T) {
	s := startStack(t, t.TempDir(), "", false)
	defer s.Stop()
	c := client{t: t, base: s.APIURL, key: s.APIKey}
	c.must("POST", "/v1/customers", map[string]string{"id": "acme", "name": "Acme", "email": "ap@acme.test", "timezone": "UTC"}, 201)
	good := func(change map[string]any) map[string]any {
		b := map[string]any{"number": "INV-9", "customer_id": "acme", "amount": "10.00", "currency": "EUR",
			"issued_at": "2026-11-01T00:00:00Z", "due_at": "2026-12-01T00:00:00Z"}
		for k, v := range change {
			if v == nil {
				delete(b, k)
			} else {
				b[k] = v
			}
		}
		return b
	}
	cases := []struct {
		name, path string
		body       any
		status     int
		field      string
	}{
		{"missing customer name", "/v1/customers", map[string]string{"id": "x", "email": "a@b.test", "timezone": "UTC"}, 400, "name"},
		{"bad email", "/v1/customers", map[string]string{"id": "x", "name": "X", "email": "nope", "timezone": "UTC"}, 400, "email"},
		{"bad phone", "/v1/customers", map[string]string{"id": "x", "name": "X", "email": "a@b.test", "phone": "0301234", "timezone": "UTC"}, 400, "phone"},
		{"bad time zone", "/v1/customers", map[string]string{"id": "x", "name": "X", "email": "a@b.test", "timezone": "Mars/Olympus"}, 400, "timezone"},
		{"unknown field", "/v1/customers", map[string]string{"id": "x", "name": "X", "email": "a@b.test", "timezone": "UTC", "vip": "yes"}, 400, "vip"},
		{"same id, other details", "/v1/customers", map[string]string{"id": "acme", "name": "Other", "email": "ap@acme.test", "timezone": "UTC"}, 409, "id"},
		{"malformed JSON", "/v1/invoices", `{"number": `, 400, "body"},
		{"missing number", "/v1/invoices", good(map[string]any{"number": nil}), 400, "number"},
		{"negative amount", "/v1/invoices", good(map[string]any{"amount": "-5.00"}), 400, "amount"},
		{"malformed amount", "/v1/invoices", good(map[string]any{"amount": "12,50"}), 400, "amount"},
		{"over-precise amount", "/v1/invoices", good(map[string]any{"amount": "10.001"}), 400, "amount"},
		{"amount as a number", "/v1/invoices", good(map[string]any{"amount": 10}), 400, "amount"},
		{"zero amount", "/v1/invoices", good(map[string]any{"amount": "0.00"}), 400, "amount"},
		{"unknown currency", "/v1/invoices", good(map[string]any{"currency": "EUX"}), 400, "currency"},
		{"malformed date", "/v1/invoices", good(map[string]any{"due_at": "2026-12-01"}), 400, "due_at"},
		{"due before issue", "/v1/invoices", good(map[string]any{"due_at": "2026-10-01T00:00:00Z"}), 400, "due_at"},
		{"unknown policy", "/v1/invoices", good(map[string]any{"policy": "gentle"}), 400, "policy"},
		{"unknown customer", "/v1/invoices", good(map[string]any{"customer_id": "ghost"}), 422, "customer_id"},
		{"no due date and no terms", "/v1/invoices", good(map[string]any{"due_at": nil}), 400, "due_at"},
		{"credit limit without currency", "/v1/customers", map[string]any{"id": "x", "name": "X", "email": "a@b.test", "timezone": "UTC", "credit_limit": "500.00"}, 400, "credit_currency"},
		{"over-precise credit limit", "/v1/customers", map[string]any{"id": "x", "name": "X", "email": "a@b.test", "timezone": "UTC", "credit_limit": "500.001", "credit_currency": "EUR"}, 400, "credit_limit"},
		{"terms as a string", "/v1/customers", map[string]any{"id": "x", "name": "X", "email": "a@b.test", "timezone": "UTC", "payment_terms_days": "30"}, 400, "payment_terms_days"},
		{"terms over a year", "/v1/customers", map[string]any{"id": "x", "name": "X", "email": "a@b.test", "timezone": "UTC", "payment_terms_days": 400}, 400, "payment_terms_days"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, out := client{t: t, base: s.APIURL, key: s.APIKey}.do("POST", tc.path, tc.body)
			e, _ := out["error"].(map[string]any)
			if status != tc.status || e == nil || e["field"] != tc.field || e["message"] == "" {
				t.Fatalf("status %d body %v; want %d naming %q", status, out, tc.status, tc.field)
			}
		})
	}
	// Nothing was half-written: no invoice exists.
	list := c.must("GET", "/v1/invoices", nil, 200)
	if n := len(list["invoices"].([]any)); n != 0 {
		t.Fatalf("%d invoices stored by bad requests", n)
	}
	c.must("GET", "/v1/invoices/nope", nil, 404)
	c.must("GET", "/v1/no-such-route", nil, 404)

	// Credit terms: a limit in its currency, and payment terms that date an
	// invoice posted without a due date.
	termed := c.must("POST", "/v1/customers", map[string]any{"id": "beta", "name": "Beta", "email": "ap@beta.test", "timezone": "UTC",
		"credit_limit": "5000", "credit_currency": "EUR", "payment_terms_days": 45}, 201)
	if termed["credit_limit"] != "5000.00" || termed["credit_currency"] != "EUR" || termed["payment_terms_days"] != float64(45) {
		t.Fatalf("customer with terms: %v", termed)
	}
	c.must("POST", "/v1/customers", map[string]any{"id": "beta", "name": "Beta", "email": "ap@beta.test", "timezone": "UTC",
		"credit_limit": "5000.00", "credit_currency": "eur", "payment_terms_days": 45}, 200) // the same customer again
	inv := c.must("POST", "/v1/invoices", good(map[string]any{"number": "INV-T", "customer_id": "beta", "due_at": nil}), 201)
	if inv["due_at"] != "2026-12-16T00:00:00Z" {
		t.Fatalf("due date from net-45 terms: %v", inv["due_at"])
	}
	patched := c.must("PATCH", "/v1/customers/beta", map[string]any{"credit_limit": "", "credit_currency": "", "payment_terms_days": 30}, 200)
	if _, has := patched["credit_limit"]; has || patched["payment_terms_days"] != float64(30) {
		t.Fatalf("limit removed, terms changed: %v", patched)
	}
}

// A restart of `dev` keeps every invoice and fires the timers that came due
// while it was down; no message goes out twice, as counted by the provider
// (the outbox holds one row per invoice, step and channel whatever happens).
func TestRestartKeepsInvoicesAndTimers(t *testing.T) {
	fake := fakeprovider.Start()
	defer fake.Close()
	dir := t.TempDir()
	s := startStack(t, dir, "", false, useFakeProvider(fake))
	c := client{t: t, base: s.APIURL, key: s.APIKey}
	c.must("POST", "/v1/customers", map[string]string{"id": "acme", "name": "Acme", "email": "ap@acme.test", "timezone": "UTC"}, 201)
	now := time.Now()
	inv := c.must("POST", "/v1/invoices", map[string]string{"number": "DEMO-1", "customer_id": "acme", "amount": "99.90",
		"currency": "EUR", "issued_at": rfc3339(now), "due_at": rfc3339(now.Add(30 * 24 * time.Hour)), "policy": "demo"}, 201)
	id := inv["id"].(string)
	// The demo policy: notify at issue, remind 10 s later.
	eventually(t, 30*time.Second, "the notice", func() bool { return len(messages(c, id)) == 1 })
	s.Stop()

	time.Sleep(2 * time.Second)
	s = startStack(t, dir, "", false, useFakeProvider(fake))
	defer s.Stop()
	c.base = s.APIURL
	got := c.must("GET", "/v1/invoices/"+id, nil, 200)
	if got["number"] != "DEMO-1" {
		t.Fatalf("invoice after restart: %v", got)
	}
	eventually(t, 60*time.Second, "the reminder after the restart", func() bool {
		for _, m := range messages(c, id) {
			if m["step"] == "remind" && m["status"] == "sent" {
				return true
			}
		}
		return false
	})
	if sent := checkSentOnce(t, s.DB, fake); sent < 2 {
		t.Fatalf("%d messages sent, want the notice and the reminder", sent)
	}
}

// fakeProviderEnv is the environment that points `collections` processes'
// senders at fake.
func fakeProviderEnv(fake *fakeprovider.Server) map[string]string {
	return map[string]string{"SENDGRID_API_KEY": fakeSendGridKey, "SENDGRID_FROM_EMAIL": "ar@example.com", "SENDGRID_BASE_URL": fake.URL,
		"TWILIO_ACCOUNT_SID": fakeTwilioAccount, "TWILIO_AUTH_TOKEN": fakeTwilioToken, "TWILIO_FROM_NUMBER": "+15005550006", "TWILIO_BASE_URL": fake.URL}
}

// useFakeProvider points a stack's senders at fake: an in-process stack
// takes its providers from its Config, never from the environment.
func useFakeProvider(fake *fakeprovider.Server) func(*devstack.Options) {
	env := fakeProviderEnv(fake)
	return func(o *devstack.Options) {
		o.Messages.Channels = channels.ConfigFromEnv(func(k string) string { return env[k] })
	}
}

// checkSentOnce compares the provider's count with the outbox: no message
// was accepted twice, every one the outbox has as sent was accepted, and
// the provider accepted nothing the outbox does not know. Messages still
// pending may or may not have reached it. It returns how many were sent.
func checkSentOnce(t *testing.T, bdb *bun.DB, fake *fakeprovider.Server) int {
	t.Helper()
	accepted := fake.Accepted() // first: every message accepted has its outbox row by then
	var msgs []db.Message
	if err := bdb.NewSelect().Model(&msgs).Where("direction = ? AND channel IN (?)", db.Outbound, bun.In([]string{"email", "sms"})).
		Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	sent := 0
	for _, m := range msgs {
		key := providerKey(m)
		n := accepted[key]
		delete(accepted, key)
		if m.Status == db.MessageSent || m.Status == db.MessageDelivered {
			sent++
			if n == 0 {
				t.Errorf("%s %s/%s: recorded sent, never reached the provider", m.InvoiceID, m.Step, m.Channel)
			}
		}
		if n > 1 {
			t.Errorf("%s %s/%s: sent twice: the provider accepted it %d times", m.InvoiceID, m.Step, m.Channel, n)
		}
	}
	for key, n := range accepted {
		t.Errorf("the provider accepted %q %d times; the outbox does not know it", key, n)
	}
	return sent
}
