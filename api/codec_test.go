package api

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"

	"github.com/collections-engine/collections/codec"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/workflows"
)

const uiOrigin = "http://127.0.0.1:8233"

type codecEnv struct {
	t        *testing.T
	srv      *httptest.Server
	key      string // read-write
	readOnly string
}

func newCodecEnv(t *testing.T, c converter.PayloadCodec) *codecEnv {
	t.Helper()
	store := db.NewStore(dbtest.SQLite(t).DB)
	env := &codecEnv{t: t}
	for _, k := range []struct {
		role string
		dst  *string
	}{{db.RoleReadWrite, &env.key}, {db.RoleReadOnly, &env.readOnly}} {
		secret, rec, err := NewKey("codec test", k.role, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := store.InsertAPIKey(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
		*k.dst = secret
	}
	s := &Server{Store: store, Codec: c, CodecCORSOrigins: []string{"https://temporal.example.com", uiOrigin + "/"},
		Log: slog.New(slog.DiscardHandler)}
	env.srv = httptest.NewServer(s.Handler())
	t.Cleanup(env.srv.Close)
	return env
}

func (env *codecEnv) do(method, path, key string, headers map[string]string, body []byte) (*http.Response, []byte) {
	env.t.Helper()
	req, _ := http.NewRequest(method, env.srv.URL+path, bytes.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		env.t.Fatal(err)
	}
	defer res.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(res.Body)
	return res, b.Bytes()
}

func testCodec(t *testing.T) *codec.Codec {
	t.Helper()
	c, err := codec.New([]codec.Key{{ID: "k1", Secret: bytes.Repeat([]byte{7}, 32)}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func payloadsJSON(t *testing.T, values ...any) []byte {
	t.Helper()
	var ps []*commonpb.Payload
	for _, v := range values {
		p, err := converter.GetDefaultDataConverter().ToPayload(v)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	raw, err := json.Marshal(&commonpb.Payloads{Payloads: ps})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func decodePayloads(t *testing.T, raw []byte) []*commonpb.Payload {
	t.Helper()
	var ps commonpb.Payloads
	if err := json.Unmarshal(raw, &ps); err != nil {
		t.Fatalf("not payloads: %v: %s", err, raw)
	}
	return ps.Payloads
}

func errorField(t *testing.T, raw []byte) (code, field, message string) {
	t.Helper()
	var body struct{ Error Error }
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("not an error body: %s", raw)
	}
	return body.Error.Code, body.Error.Field, body.Error.Message
}

func TestCodecEndpointsRoundTrip(t *testing.T) {
	env := newCodecEnv(t, testCodec(t))
	plain := payloadsJSON(t, map[string]any{"Email": "ap@acme.test", "AmountMinor": 12345}, "second")

	res, raw := env.do("POST", "/codec/encode", env.key, nil, plain)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("encode: %d %s", res.StatusCode, raw)
	}
	encoded := decodePayloads(t, raw)
	if len(encoded) != 2 || string(encoded[0].Metadata["encoding"]) != codec.Encoding || bytes.Contains(raw, []byte("acme")) {
		t.Fatalf("encode answered %s", raw)
	}
	// Any role decodes, read-only keys too.
	res, raw = env.do("POST", "/codec/decode", env.readOnly, map[string]string{"X-Namespace": "default"}, raw)
	if res.StatusCode != 200 {
		t.Fatalf("decode: %d %s", res.StatusCode, raw)
	}
	want := decodePayloads(t, plain)
	got := decodePayloads(t, raw)
	if len(got) != len(want) {
		t.Fatalf("decode answered %d payloads, want %d", len(got), len(want))
	}
	for i := range want {
		if !proto.Equal(got[i], want[i]) {
			t.Errorf("payload %d: decode(encode(x)) = %v, want %v", i, got[i], want[i])
		}
	}
}

// The SDK's remote codec (what `temporal --codec-endpoint` and remote data
// converters use) speaks to the endpoints as to any codec server.
func TestCodecEndpointsServeTheSDKsRemoteCodec(t *testing.T) {
	env := newCodecEnv(t, testCodec(t))
	remote := converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{
		Endpoint: env.srv.URL + "/codec",
		ModifyRequest: func(r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+env.key)
			return nil
		},
	})
	dc := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), remote)
	p, err := dc.ToPayload("ap@acme.test")
	if err != nil {
		t.Fatal(err)
	}
	if string(p.Metadata["encryption-key-id"]) != "k1" {
		t.Fatalf("remote encode: %v", p.Metadata)
	}
	// What the remote endpoint encrypted, the local codec decrypts.
	local := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), testCodec(t))
	var s string
	if err := local.FromPayload(p, &s); err != nil || s != "ap@acme.test" {
		t.Fatalf("%q %v", s, err)
	}
	if err := dc.FromPayload(p, &s); err != nil || s != "ap@acme.test" {
		t.Fatalf("remote decode: %q %v", s, err)
	}
}

func TestCodecEndpointsWantAKey(t *testing.T) {
	env := newCodecEnv(t, testCodec(t))
	body := payloadsJSON(t, "x")
	for _, key := range []string{"", "ck_wrong"} {
		res, raw := env.do("POST", "/codec/decode", key, map[string]string{"Origin": "https://temporal.example.com"}, body)
		if code, _, _ := errorField(t, raw); res.StatusCode != 401 || code == "" {
			t.Errorf("key %q: %d %s", key, res.StatusCode, raw)
		}
	}
	// A forged Origin of the dev UI does not stand in for a key unless the
	// server is dev's (CodecUIOrigin), below.
	if res, raw := env.do("POST", "/codec/decode", "", map[string]string{"Origin": uiOrigin}, body); res.StatusCode != 401 {
		t.Errorf("dev UI origin on a server that embeds no UI: %d %s", res.StatusCode, raw)
	}
}

func TestCodecPreflightNeedsNoKeyAndAllowsOnlyListedOrigins(t *testing.T) {
	env := newCodecEnv(t, testCodec(t))
	preflight := func(origin string) *http.Response {
		res, _ := env.do("OPTIONS", "/codec/decode", "", map[string]string{
			"Origin": origin, "Access-Control-Request-Method": "POST",
			"Access-Control-Request-Headers": "authorization,content-type,x-namespace",
		}, nil)
		return res
	}
	for _, origin := range []string{"https://temporal.example.com", uiOrigin} {
		res := preflight(origin)
		if res.StatusCode != http.StatusNoContent || res.Header.Get("Access-Control-Allow-Origin") != origin ||
			res.Header.Get("Access-Control-Allow-Credentials") != "true" {
			t.Errorf("preflight from %s: %d %v", origin, res.StatusCode, res.Header)
		}
		allowed := strings.ToLower(res.Header.Get("Access-Control-Allow-Headers"))
		for _, h := range []string{"authorization", "content-type", "x-namespace"} {
			if !strings.Contains(allowed, h) {
				t.Errorf("preflight from %s: %s not among the allowed headers %q", origin, h, allowed)
			}
		}
	}
	for _, origin := range []string{"https://evil.example.com", "https://sub.temporal.example.com"} {
		if res := preflight(origin); res.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight from %s allowed: %v", origin, res.Header)
		}
	}
	// The actual request carries the CORS headers too.
	res, raw := env.do("POST", "/codec/encode", env.key, map[string]string{"Origin": uiOrigin}, payloadsJSON(t, "x"))
	if res.StatusCode != 200 || res.Header.Get("Access-Control-Allow-Origin") != uiOrigin {
		t.Errorf("POST from the UI: %d %v %s", res.StatusCode, res.Header, raw)
	}
	// Other routes are not opened to browsers.
	res, _ = env.do("OPTIONS", "/v1/invoices", "", map[string]string{"Origin": uiOrigin, "Access-Control-Request-Method": "GET"}, nil)
	if res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS on /v1: %v", res.Header)
	}
}

func TestCodecEndpointsBadInput(t *testing.T) {
	env := newCodecEnv(t, testCodec(t))
	other, _ := codec.New([]codec.Key{{ID: "retired", Secret: bytes.Repeat([]byte{1}, 32)}})
	foreign, _ := other.Encode(decodePayloads(t, payloadsJSON(t, "x")))
	foreignJSON, _ := json.Marshal(&commonpb.Payloads{Payloads: foreign})
	for _, tc := range []struct {
		name, path, body, field, message string
	}{
		{"empty body", "/codec/decode", "", "body", `{"payloads": [...]} is required`},
		{"not JSON", "/codec/decode", "payloads", "body", "protojson"},
		{"wrong shape", "/codec/encode", `{"payloads": "x"}`, "body", "protojson"},
		{"unknown key", "/codec/decode", string(foreignJSON), "payloads", `key "retired", which is not among the configured keys`},
	} {
		res, raw := env.do("POST", tc.path, env.key, nil, []byte(tc.body))
		code, field, message := errorField(t, raw)
		if res.StatusCode != 400 || code != CodeInvalid || field != tc.field || !strings.Contains(message, tc.message) {
			t.Errorf("%s: %d %s", tc.name, res.StatusCode, raw)
		}
	}
	big := bytes.Repeat([]byte(" "), MaxBodyBytes+1)
	if res, raw := env.do("POST", "/codec/decode", env.key, nil, big); res.StatusCode != 413 {
		t.Errorf("a body too large: %d %s", res.StatusCode, raw)
	}
}

func TestCodecEndpointsWhenEncryptionIsOff(t *testing.T) {
	env := newCodecEnv(t, nil)
	res, raw := env.do("POST", "/codec/decode", env.key, nil, payloadsJSON(t, "x"))
	if _, _, message := errorField(t, raw); res.StatusCode != 404 || !strings.Contains(message, "COLLECTIONS_CODEC") {
		t.Errorf("%d %s", res.StatusCode, raw)
	}
}

func TestDevUIOriginMayDecodeWithoutAKey(t *testing.T) {
	store := db.NewStore(dbtest.SQLite(t).DB)
	s := &Server{Store: store, Codec: testCodec(t), CodecCORSOrigins: []string{uiOrigin}, CodecUIOrigin: uiOrigin,
		Log: slog.New(slog.DiscardHandler)}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	env := &codecEnv{t: t, srv: srv}
	res, raw := env.do("POST", "/codec/encode", "", map[string]string{"Origin": uiOrigin}, payloadsJSON(t, "x"))
	if res.StatusCode != 200 {
		t.Fatalf("the dev UI: %d %s", res.StatusCode, raw)
	}
	// Only the codec endpoints, only from that origin.
	if res, raw := env.do("GET", "/v1/invoices", "", map[string]string{"Origin": uiOrigin}, nil); res.StatusCode != 401 {
		t.Errorf("/v1 from the dev UI without a key: %d %s", res.StatusCode, raw)
	}
	if res, raw := env.do("POST", "/codec/encode", "", map[string]string{"Origin": "http://127.0.0.1:9999"}, payloadsJSON(t, "x")); res.StatusCode != 401 {
		t.Errorf("another origin without a key: %d %s", res.StatusCode, raw)
	}
}

// startRecorder records the workflow starts createInvoice makes.
type startRecorder struct {
	client.Client
	mu     sync.Mutex
	opts   []client.StartWorkflowOptions
	inputs []workflows.InvoiceInput
}

func (r *startRecorder) ExecuteWorkflow(_ context.Context, opts client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.opts = append(r.opts, opts)
	r.inputs = append(r.inputs, args[0].(workflows.InvoiceInput))
	return fakeRun{id: opts.ID}, nil
}

func (r *startRecorder) QueryWorkflow(ctx context.Context, id, run, q string, args ...any) (converter.EncodedValue, error) {
	return newFakeTemporal().QueryWorkflow(ctx, id, run, q, args...)
}

func TestWithTheCodecOnAmountsStayOutOfSearchAttributes(t *testing.T) {
	for _, on := range []bool{false, true} {
		env := newImportEnv(t, false)
		rec := &startRecorder{}
		env.s.Temporal = rec
		if on {
			env.s.Codec = testCodec(t)
		}
		env.postJSON(t, "/v1/customers", map[string]string{"id": "acme", "name": "Acme", "email": "ap@acme.test", "timezone": "UTC"}, 201)
		env.postJSON(t, "/v1/invoices", map[string]string{"number": "INV-1", "customer_id": "acme", "amount": "123.45", "currency": "EUR",
			"issued_at": "2026-11-01T00:00:00Z", "due_at": "2026-12-01T00:00:00Z"}, 201)
		if len(rec.opts) != 1 {
			t.Fatalf("codec %v: %d starts", on, len(rec.opts))
		}
		amount, has := rec.opts[0].TypedSearchAttributes.GetInt64(workflows.SAAmountDueMinor)
		if on && (has || !rec.inputs[0].HideAmounts) {
			t.Errorf("codec on: AmountDueMinor set (%v, %d), HideAmounts %v", has, amount, rec.inputs[0].HideAmounts)
		}
		if !on && (!has || amount != 12345 || rec.inputs[0].HideAmounts) {
			t.Errorf("codec off: AmountDueMinor %v %d, HideAmounts %v", has, amount, rec.inputs[0].HideAmounts)
		}
		if _, ok := rec.opts[0].TypedSearchAttributes.GetKeyword(workflows.SACustomerID); !ok {
			t.Errorf("codec %v: the other search attributes are gone too", on)
		}
	}
}
