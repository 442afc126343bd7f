package devstack_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"
	sdkclient "go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/collections-engine/collections/codec"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/internal/app"
	"github.com/collections-engine/collections/internal/devserver"
	"github.com/collections-engine/collections/internal/fakeprovider"
	"github.com/collections-engine/collections/workflows"
)

// The production shape: several `collections worker` processes and a
// `collections api` process, built from cmd/collections, against one
// Temporal server and a PostgreSQL application database, with payload
// encryption on and every email and SMS going to the fake providers, which
// count what they accept. Unlike the in-process stack (SQLite, one
// connection, one store shared by its workers), here two workers' claims
// meet only in PostgreSQL, as they do in production.

// prodStack is a running production-shape deployment.
type prodStack struct {
	APIURL   string
	AdminKey string // may manage policies, keys and webhook subscriptions
	Key      string // read-write: invoices, customers, payments
	DB       *bun.DB
	Temporal sdkclient.Client // with the codec, as the processes have it
	Fake     *fakeprovider.Server
	Workers  *workerProcs
	API      *workerProcs
}

// admin is an API client with the admin key; rw one with the read-write key.
func (p *prodStack) admin(t *testing.T) client { return client{t: t, base: p.APIURL, key: p.AdminKey} }
func (p *prodStack) rw(t *testing.T) client    { return client{t: t, base: p.APIURL, key: p.Key} }

var (
	prodBinaryOnce sync.Once
	prodBinary     string
	prodBinaryErr  error
	prodBinaryDir  string
)

// productionBinary builds cmd/collections (without the dev command) once
// per test process; TestMain removes it.
func productionBinary() (string, error) {
	prodBinaryOnce.Do(func() {
		prodBinaryDir, prodBinaryErr = os.MkdirTemp("", "collections-prod-")
		if prodBinaryErr != nil {
			return
		}
		prodBinary = filepath.Join(prodBinaryDir, "collections")
		out, err := exec.Command("go", "build", "-tags", "nodev", "-o", prodBinary, "github.com/collections-engine/collections/cmd/collections").CombinedOutput()
		if err != nil {
			prodBinaryErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	return prodBinary, prodBinaryErr
}

func TestMain(m *testing.M) {
	code := m.Run()
	if prodBinaryDir != "" {
		_ = os.RemoveAll(prodBinaryDir)
	}
	os.Exit(code)
}

// startProduction brings the production shape up: it is skipped without
// TEST_DATABASE_URL (CI sets it).
func startProduction(t *testing.T, workers int) *prodStack {
	t.Helper()
	if os.Getenv(dbtest.EnvPostgres) == "" {
		t.Skipf("%s not set: the production shape runs on PostgreSQL", dbtest.EnvPostgres)
	}
	began := time.Now()
	appDB := dbtest.Postgres(t) // fresh and migrated
	bin, err := productionBinary()
	if err != nil {
		t.Fatal(err)
	}
	port := func() string {
		p, err := devserver.FreePort("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("127.0.0.1:%d", p)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	temporalAddr := port()
	srv, err := devserver.Start(devserver.Options{DatabaseFile: filepath.Join(t.TempDir(), "temporal.db"), FrontendAddr: temporalAddr,
		Namespace: "default", SearchAttributes: workflows.SearchAttributes, Log: quiet})
	if err != nil {
		t.Fatalf("embedded Temporal: %v", err)
	}
	t.Cleanup(srv.Stop)

	secret := bytes.Repeat([]byte{0x6b}, codec.KeySize)
	pc, err := codec.New([]codec.Key{{ID: "prod-test", Secret: secret}})
	if err != nil {
		t.Fatal(err)
	}
	tc, err := app.DialTemporal(context.Background(), app.TemporalConfig{Address: temporalAddr, Namespace: "default", Codec: pc}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)

	fake := fakeprovider.Start()
	t.Cleanup(fake.Close)

	key := func(name, role string) string {
		cmd := exec.Command(bin, "keys", "create", "--name", name, "--role", role)
		cmd.Env = append(os.Environ(), "DATABASE_URL="+appDB.DSN, "LOG_LEVEL=warn")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("collections keys create --role %s: %v\n%s", role, err, stderr.String())
		}
		return strings.TrimSpace(string(out))
	}
	p := &prodStack{AdminKey: key("prod-test admin", "admin"), Key: key("prod-test clerk", "read-write"), DB: appDB.DB, Temporal: tc, Fake: fake}

	env := append(os.Environ(),
		"DATABASE_URL="+appDB.DSN, "TEMPORAL_ADDRESS="+temporalAddr, "TEMPORAL_NAMESPACE=default",
		codec.EnvMode+"=on", codec.EnvKeys+"=prod-test:"+base64.StdEncoding.EncodeToString(secret),
		"LOG_FORMAT=json", "LOG_LEVEL=warn", "SHUTDOWN_TIMEOUT=5s",
		"SENDGRID_API_KEY="+fakeSendGridKey, "SENDGRID_FROM_EMAIL=ar@example.com", "SENDGRID_BASE_URL="+fake.URL,
		"TWILIO_ACCOUNT_SID="+fakeTwilioAccount, "TWILIO_AUTH_TOKEN="+fakeTwilioToken, "TWILIO_FROM_NUMBER=+15005550006", "TWILIO_BASE_URL="+fake.URL,
	)
	p.Workers = startProcs(t, workers, bin, env, "worker")
	httpAddr := port()
	p.API = startProcs(t, 1, bin, append(env, "HTTP_ADDR="+httpAddr), "api")
	p.APIURL = "http://" + httpAddr
	t.Cleanup(func() {
		p.API.close()
		p.Workers.close()
		if t.Failed() {
			t.Log(p.API.logTail())
			t.Log(p.Workers.logTail())
		}
	})
	eventually(t, 2*time.Minute, "the API process to answer", func() bool {
		res, err := http.Get(p.APIURL + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200
	})
	t.Logf("production shape up in %s: %d worker processes, 1 API process, PostgreSQL, codec on", time.Since(began).Round(time.Millisecond), workers)
	return p
}

// checkEncrypted fails the test unless the workflow's input, as Temporal
// stores it, is encrypted with the deployment's key: the processes do run
// with the codec on.
func checkEncrypted(t *testing.T, p *prodStack, workflowID string) {
	t.Helper()
	res, err := p.Temporal.WorkflowService().GetWorkflowExecutionHistory(context.Background(), &workflowservice.GetWorkflowExecutionHistoryRequest{
		Namespace: "default", Execution: &commonpb.WorkflowExecution{WorkflowId: workflowID}, MaximumPageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	events := res.GetHistory().GetEvents()
	if len(events) == 0 {
		t.Fatalf("%s: no history", workflowID)
	}
	payloads := events[0].GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()
	if len(payloads) == 0 {
		t.Fatalf("%s: no input in %v", workflowID, events[0])
	}
	for _, pl := range payloads {
		if enc, key := string(pl.GetMetadata()[converter.MetadataEncoding]), string(pl.GetMetadata()[codec.MetadataKeyID]); enc != codec.Encoding || key != "prod-test" {
			t.Fatalf("%s: the workflow input is stored with encoding %q and key %q: the codec is not on", workflowID, enc, key)
		}
	}
}

// acceptedFor sums what the fake accepted for keys starting with prefix.
func acceptedFor(fake *fakeprovider.Server, prefix string) (messages, accepted int) {
	for k, n := range fake.Accepted() {
		if strings.HasPrefix(k, prefix) {
			messages++
			accepted += n
		}
	}
	return messages, accepted
}

// timelineOf is an invoice's timeline as the API shows it.
func timelineOf(c client, id string) []map[string]any {
	var out []map[string]any
	for _, e := range c.must("GET", "/v1/invoices/"+id, nil, 200)["timeline"].([]any) {
		out = append(out, e.(map[string]any))
	}
	return out
}

// TestProductionContactCapHoldsAcrossWorkers: a policy whose only step is
// an SMS reminder a few seconds after issue, under a contact cap of one
// per hour; a customer with ten invoices issued in the same second, so all
// ten reminders fall due at once and reach three worker processes together.
// At the provider exactly one reminder arrives for the customer; the other
// nine are deferred on the invoices' timelines. Five rounds, a new
// customer each.
func TestProductionContactCapHoldsAcrossWorkers(t *testing.T) {
	p := startProduction(t, 3)
	admin, c := p.admin(t), p.rw(t)
	std := admin.must("GET", "/v1/policies/standard", nil, 200)
	var remind map[string]any
	for _, st := range std["steps"].([]any) {
		if st := st.(map[string]any); st["id"] == "remind" {
			remind = st
		}
	}
	if remind == nil {
		t.Fatalf("the standard policy has no remind step: %v", std["steps"])
	}
	const offset = 6 * time.Second
	remind["anchor"], remind["offset"], remind["channels"] = "issue", offset.String(), []string{"sms"}
	std["steps"] = []any{remind}
	delete(std, "builtin")
	delete(std, "calendar")
	std["name"], std["version"] = "capped", 0
	std["contact_cap"] = map[string]any{"max": 1, "per": "1h"}
	admin.must("POST", "/v1/policies", std, 201)

	const rounds, invoices = 5, 10
	for r := range rounds {
		began := time.Now()
		cust, phone := fmt.Sprintf("cap-%d", r), fmt.Sprintf("+4930777%03d", r)
		c.must("POST", "/v1/customers", map[string]string{"id": cust, "name": "Capped " + cust, "email": "ap@" + cust + ".test",
			"phone": phone, "timezone": "UTC"}, 201)
		issued := time.Now().UTC().Truncate(time.Second)
		ids := make([]string, invoices)
		var wg sync.WaitGroup
		for i := range invoices {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ids[i] = c.must("POST", "/v1/invoices", map[string]string{"number": fmt.Sprintf("CAP-%d-%d", r, i), "customer_id": cust,
					"amount": "100.00", "currency": "EUR", "issued_at": rfc3339(issued), "due_at": rfc3339(issued.Add(30 * 24 * time.Hour)),
					"policy": "capped"}, 201)["id"].(string)
			}()
		}
		wg.Wait()
		checkEncrypted(t, p, workflows.WorkflowID(ids[0]))
		if late := time.Since(issued.Add(offset)); late > 0 {
			t.Logf("round %d: the invoices were created %s after their reminders fell due (they fire at once)", r, late.Round(time.Millisecond))
		}
		// Every reminder settles: sent, or deferred on the record.
		outcomes := map[string]string{}
		eventually(t, 90*time.Second, fmt.Sprintf("round %d: every reminder sent or deferred", r), func() bool {
			for _, id := range ids {
				if outcomes[id] != "" {
					continue
				}
				for _, e := range timelineOf(c, id) {
					if e["kind"] == "message" && e["step"] == "remind" {
						outcomes[id] = fmt.Sprint(e["outcome"])
					}
				}
			}
			time.Sleep(400 * time.Millisecond)
			return len(outcomes) == invoices
		})
		time.Sleep(time.Second) // a send still on its way to the provider would land now
		sent, deferred := 0, 0
		for _, o := range outcomes {
			switch o {
			case "sent":
				sent++
			case "deferred":
				deferred++
			default:
				t.Errorf("round %d: a reminder %q", r, o)
			}
		}
		messages, accepted := acceptedFor(p.Fake, "sms:"+phone+"\x00")
		if accepted != 1 || messages != 1 {
			t.Errorf("round %d: the provider accepted %d reminder(s) (%d distinct) for customer %s under a cap of 1; want exactly 1",
				r, accepted, messages, cust)
			var rows []db.Message
			if err := p.DB.NewSelect().Model(&rows).Where("customer_id = ?", cust).Order("created_at").Scan(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, m := range rows {
				sentAt := "-"
				if m.SentAt != nil {
					sentAt = m.SentAt.Format("15:04:05.000000")
				}
				t.Logf("  outbox: invoice %s %s/%s %s, claimed (created_at) %s, sent_at %s", m.InvoiceID, m.Step, m.Channel, m.Status,
					m.CreatedAt.Format("15:04:05.000000"), sentAt)
			}
		}
		if sent != 1 || deferred != invoices-1 {
			t.Errorf("round %d: %d reminder(s) sent and %d deferred on the record, want 1 and %d: %v", r, sent, deferred, invoices-1, outcomes)
		}
		t.Logf("round %d: %d reminders due in one second; provider accepted %d, timelines: %d sent, %d deferred (%s)",
			r, invoices, accepted, sent, deferred, time.Since(began).Round(time.Millisecond))
	}
}

// TestProductionCreditLimitHoldsAcrossRequests: a customer with a credit
// limit of 1000.00 and three invoices of 600.00 posted at the same moment
// to the API process: at most one of them fits under the limit, so at most
// one may be created without over_credit_limit. Ten customers.
func TestProductionCreditLimitHoldsAcrossRequests(t *testing.T) {
	p := startProduction(t, 1)
	admin, c := p.admin(t), p.rw(t)
	std := admin.must("GET", "/v1/policies/standard", nil, 200)
	var remind map[string]any
	for _, st := range std["steps"].([]any) {
		if st := st.(map[string]any); st["id"] == "remind" {
			remind = st
		}
	}
	remind["anchor"], remind["offset"] = "due", "0s"
	std["steps"] = []any{remind}
	delete(std, "builtin")
	delete(std, "calendar")
	delete(std, "contact_cap")
	std["name"], std["version"] = "quiet", 0
	admin.must("POST", "/v1/policies", std, 201)

	const customers, each = 10, 3
	raced := 0
	for r := range customers {
		cust := fmt.Sprintf("credit-%d", r)
		c.must("POST", "/v1/customers", map[string]string{"id": cust, "name": "Limited " + cust, "email": "ap@" + cust + ".test",
			"timezone": "UTC", "credit_limit": "1000.00", "credit_currency": "EUR"}, 201)
		now := time.Now()
		statuses, bodies := make([]int, each), make([]map[string]any, each)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range each {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				statuses[i], bodies[i] = c.do("POST", "/v1/invoices", map[string]string{"number": fmt.Sprintf("CL-%d-%d", r, i), "customer_id": cust,
					"amount": "600.00", "currency": "EUR", "issued_at": rfc3339(now), "due_at": rfc3339(now.Add(30 * 24 * time.Hour)), "policy": "quiet"})
			}()
		}
		close(start)
		wg.Wait()
		within := 0
		for i, st := range statuses {
			if st != 201 {
				t.Fatalf("customer %s, invoice %d: %d %v", cust, i, st, bodies[i])
			}
			if bodies[i]["over_credit_limit"] != true {
				within++
			}
		}
		// What the database kept agrees with what the API answered.
		stored, err := p.DB.NewSelect().Table("invoices").Where("customer_id = ? AND NOT over_credit_limit", cust).Count(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if int(stored) != within {
			t.Errorf("customer %s: the API answered %d invoice(s) within the limit, the database holds %d", cust, within, stored)
		}
		if within > 1 {
			raced++
			t.Errorf("customer %s: %d invoices of 600.00 created within a credit limit of 1000.00 (at most one fits)", cust, within)
		}
	}
	t.Logf("%d customers, %d invoices of 600.00 each posted at once under a limit of 1000.00: the limit let more than one through for %d",
		customers, each, raced)
}
