package devstack_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	sdkclient "go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"

	"github.com/collections-engine/collections/codec"
	"github.com/collections-engine/collections/internal/devstack"
	"github.com/collections-engine/collections/money"
	"github.com/collections-engine/collections/workflows"
)

// With the codec on, Temporal stores nothing of the customer in clear: the
// raw history of an invoice that ran a few steps and was paid holds neither
// the customer's email address and phone number nor the amount, in any
// form; the same history decoded with the key does hold them (so the search
// proves something).
func TestWithTheCodecOnHistoriesHoldNoCustomerDataInClear(t *testing.T) {
	pc, err := codec.New([]codec.Key{{ID: "test-2026", Secret: bytes.Repeat([]byte{0x5a}, codec.KeySize)}})
	if err != nil {
		t.Fatal(err)
	}
	s := startStack(t, t.TempDir(), "", true, func(o *devstack.Options) { o.Codec = pc; o.RateLimit = 1000 })
	defer s.Stop()
	c := client{t: t, base: s.APIURL, key: s.APIKey}

	const (
		email  = "treasurer@codec-secret.test"
		phone  = "+4930555987"
		number = "CODEC-7781"
	)
	c.must("POST", "/v1/customers", map[string]string{"id": "secretive", "name": "Secretive GmbH", "email": email,
		"phone": phone, "timezone": "Europe/Berlin", "account_manager": "mia@ar.test"}, 201)
	now := time.Now()
	inv := c.must("POST", "/v1/invoices", map[string]string{"number": number, "customer_id": "secretive", "amount": "9876.54",
		"currency": "EUR", "policy": "demo", "issued_at": rfc3339(now), "due_at": rfc3339(now.Add(30 * 24 * time.Hour))}, 201)
	id := inv["id"].(string)

	// The demo policy sends the invoice at once and the reminder ten
	// seconds later; then the invoice is paid and its workflow completes.
	eventually(t, 60*time.Second, "the reminder in the outbox", func() bool {
		for _, m := range messages(c, id) {
			if m["step"] == "remind" && m["status"] == "sent" {
				return true
			}
		}
		return false
	})
	pay := c.must("POST", "/v1/invoices/"+id+"/payments", map[string]string{"amount": "9876.54", "currency": "EUR", "reference": "tx-secret"}, 201)
	if pay["balance"] != "0.00" {
		t.Fatalf("payment: %v", pay)
	}
	ctx := context.Background()
	wid := "invoice:" + id
	eventually(t, 30*time.Second, "the workflow to complete", func() bool {
		d, err := s.Client.DescribeWorkflowExecution(ctx, wid, "")
		return err == nil && d.GetWorkflowExecutionInfo().GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_COMPLETED
	})

	// A client without the codec reads what Temporal stores.
	raw, err := sdkclient.Dial(sdkclient.Options{HostPort: s.TemporalAddr, Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var events []*historypb.HistoryEvent
	it := raw.GetWorkflowHistory(ctx, wid, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	if len(events) < 20 {
		t.Fatalf("only %d events: the workflow did not run its steps", len(events))
	}
	// The invoice number is not among them: it is the InvoiceNumber search
	// attribute, searchable in the Web UI by design (docs/codec.md), and
	// every payload that carries it (input, summary) is encrypted, as the
	// visitor below checks.
	secrets := []string{email, "codec-secret", phone, strings.TrimPrefix(phone, "+"), "987654", "9876.54", "9,876.54",
		money.Display(987654, "EUR")}
	var rawHistory []byte
	encrypted := 0
	for _, e := range events {
		b, err := proto.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		rawHistory = append(rawHistory, b...)
		// Every payload but the search attributes' is encrypted with the
		// active key.
		if err := proxy.VisitPayloads(ctx, e, proxy.VisitPayloadsOptions{SkipSearchAttributes: true, Visitor: func(_ *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
			for _, p := range ps {
				encrypted++
				if string(p.GetMetadata()[converter.MetadataEncoding]) != codec.Encoding || string(p.GetMetadata()[codec.MetadataKeyID]) != "test-2026" {
					t.Errorf("event %d (%s): a payload is not encrypted: %v", e.GetEventId(), e.GetEventType(), p.GetMetadata())
				}
			}
			return ps, nil
		}}); err != nil {
			t.Fatal(err)
		}
	}
	if encrypted < 20 {
		t.Errorf("only %d payloads in the history", encrypted)
	}
	// Payload data appears byte for byte in the binary form; the JSON form
	// covers anything the binary form would hide in base64.
	rawJSON, _ := json.Marshal(events)
	for _, secret := range secrets {
		for form, haystack := range map[string][]byte{"binary": rawHistory, "JSON": rawJSON} {
			if bytes.Contains(haystack, []byte(secret)) {
				t.Errorf("%q appears in clear in the stored history (%s form)", secret, form)
			}
		}
		if bytes.Contains(rawJSON, []byte(base64.StdEncoding.EncodeToString([]byte(secret)))) {
			t.Errorf("%q appears base64-encoded in the stored history", secret)
		}
	}
	// The amount is in no search attribute either: they are indexed in clear.
	d, err := raw.DescribeWorkflowExecution(ctx, wid, "")
	if err != nil {
		t.Fatal(err)
	}
	fields := d.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()
	if _, ok := fields[workflows.SAAmountDueMinor.GetName()]; ok {
		t.Errorf("search attribute %s is set: %s", workflows.SAAmountDueMinor.GetName(), fields[workflows.SAAmountDueMinor.GetName()].GetData())
	}
	if got := string(fields[workflows.SAInvoiceNumber.GetName()].GetData()); got != `"`+number+`"` {
		t.Errorf("search attribute %s = %s, want the invoice number, searchable with the codec on", workflows.SAInvoiceNumber.GetName(), got)
	}
	if string(fields[workflows.SAStage.GetName()].GetData()) != `"paid"` {
		t.Errorf("search attribute %s = %s, want \"paid\" (the others are still kept)", workflows.SAStage.GetName(), fields[workflows.SAStage.GetName()].GetData())
	}
	for _, secret := range secrets {
		if b, _ := proto.Marshal(d); bytes.Contains(b, []byte(secret)) {
			t.Errorf("%q appears in clear in the workflow's description", secret)
		}
	}

	// The control: decoded with the key, the same history holds the amount
	// (the workflow's input) and the invoice number (input and summary).
	var decoded []byte
	for _, e := range events {
		e = proto.Clone(e).(*historypb.HistoryEvent)
		if err := proxy.VisitPayloads(ctx, e, proxy.VisitPayloadsOptions{Visitor: func(_ *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
			return pc.Decode(ps)
		}}); err != nil {
			t.Fatalf("decode event %d: %v", e.GetEventId(), err)
		}
		b, _ := proto.Marshal(e)
		decoded = append(decoded, b...)
	}
	for _, want := range []string{`"AmountMinor":987654`, number, "Invoice " + number + " · customer secretive · " + money.Display(987654, "EUR")} {
		if !bytes.Contains(decoded, []byte(want)) {
			t.Errorf("the decoded history does not contain %q: the search above proves nothing", want)
		}
	}

	// The API and worker read through the codec as if nothing were
	// encrypted: the live status comes back from the workflow.
	got := c.must("GET", "/v1/invoices/"+id, nil, 200)
	if got["stage"] != "paid" || got["balance"] != "0.00" {
		t.Errorf("invoice read back: %v", got)
	}

	// The embedded Web UI decodes through the API's codec endpoint.
	res, err := http.Get(s.UIURL + "/api/v1/settings")
	if err != nil {
		t.Fatal(err)
	}
	var settings struct{ Codec struct{ Endpoint string } }
	err = json.NewDecoder(res.Body).Decode(&settings)
	res.Body.Close()
	if err != nil || settings.Codec.Endpoint != s.APIURL+"/codec" {
		t.Errorf("the UI's codec endpoint: %q (%v), want %s/codec", settings.Codec.Endpoint, err, s.APIURL)
	}
}

// The codec endpoints over HTTP, as the Web UI and the CLI call them.
func TestCodecEndpointsOverHTTP(t *testing.T) {
	pc, err := codec.New([]codec.Key{{ID: "k1", Secret: bytes.Repeat([]byte{1}, codec.KeySize)}})
	if err != nil {
		t.Fatal(err)
	}
	const origin = "https://temporal-ui.example.com"
	s := startStack(t, t.TempDir(), "", true, func(o *devstack.Options) { o.Codec = pc; o.CodecCORSOrigins = []string{origin} })
	defer s.Stop()
	post := func(path, key, origin string, body []byte) (*http.Response, []byte) {
		req, _ := http.NewRequest("POST", s.APIURL+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Namespace", "default")
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, b
	}
	p, _ := converter.GetDefaultDataConverter().ToPayload(map[string]any{"email": "ap@acme.test", "amount_minor": 12345})
	plain, _ := json.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{p}})

	if res, b := post("/codec/decode", "", origin, plain); res.StatusCode != 401 {
		t.Errorf("without a key: %d %s", res.StatusCode, b)
	}

	// Preflight: no key, the origin allowed, the UI's headers allowed.
	req, _ := http.NewRequest("OPTIONS", s.APIURL+"/codec/decode", nil)
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,x-namespace")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode/100 != 2 || res.Header.Get("Access-Control-Allow-Origin") != origin ||
		!strings.Contains(strings.ToLower(res.Header.Get("Access-Control-Allow-Headers")), "x-namespace") {
		t.Errorf("preflight: %d %v", res.StatusCode, res.Header)
	}

	res, encoded := post("/codec/encode", s.APIKey, origin, plain)
	if res.StatusCode != 200 || bytes.Contains(encoded, []byte(base64.StdEncoding.EncodeToString(p.Data))) {
		t.Fatalf("encode: %d %s", res.StatusCode, encoded)
	}
	res, decoded := post("/codec/decode", s.APIKey, origin, encoded)
	if res.StatusCode != 200 {
		t.Fatalf("decode: %d %s", res.StatusCode, decoded)
	}
	var got commonpb.Payloads
	if err := json.Unmarshal(decoded, &got); err != nil || len(got.Payloads) != 1 || !proto.Equal(got.Payloads[0], p) {
		t.Fatalf("decode(encode(x)) = %s (%v), want %s", decoded, err, plain)
	}
	// The embedded UI, which has no key to send, decodes from its origin.
	if res, b := post("/codec/decode", "", s.UIURL, encoded); res.StatusCode != 200 {
		t.Errorf("the embedded UI: %d %s", res.StatusCode, b)
	}
}
