package devstack_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/collections-engine/collections/api"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/internal/devstack"
)

const (
	twilioToken = "0123456789abcdef0123456789abcdef"
	publicBase  = "https://ar.example.test"
)

type signer struct{ key *ecdsa.PrivateKey }

func newSigner(t *testing.T) (signer, string) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return signer{k}, base64.StdEncoding.EncodeToString(der)
}

// sendgrid posts an event batch signed the way SendGrid signs it.
func (sg signer) post(t *testing.T, base string, body []byte, ts time.Time, sign bool) (int, map[string]any) {
	return sg.postAltered(t, base, body, body, ts, sign)
}

// postAltered signs one body and sends another, as a forger would.
func (sg signer) postAltered(t *testing.T, base string, signed, sent []byte, ts time.Time, sign bool) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/webhooks/sendgrid", bytes.NewReader(sent))
	stamp := strconv.FormatInt(ts.Unix(), 10)
	if sign {
		digest := sha256.Sum256(append([]byte(stamp), signed...))
		sig, err := ecdsa.SignASN1(rand.Reader, sg.key, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Twilio-Email-Event-Webhook-Signature", base64.StdEncoding.EncodeToString(sig))
	}
	req.Header.Set("X-Twilio-Email-Event-Webhook-Timestamp", stamp)
	return doJSON(t, req)
}

func doJSON(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := map[string]any{}
	_ = json.Unmarshal(raw, &out)
	return res.StatusCode, out
}

// twilio posts a form signed the way Twilio signs it: HMAC-SHA1 over the
// public URL and the sorted fields.
func twilio(t *testing.T, base, path string, form url.Values, sign bool) int {
	t.Helper()
	req, _ := http.NewRequest("POST", base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if sign {
		keys := make([]string, 0, len(form))
		for k := range form {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		data := publicBase + path
		for _, k := range keys {
			data += k + form.Get(k)
		}
		mac := hmac.New(sha1.New, []byte(twilioToken))
		mac.Write([]byte(data))
		req.Header.Set("X-Twilio-Signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func TestProviderWebhooksAreVerifiedAndTakenInOnce(t *testing.T) {
	sg, pub := newSigner(t)
	s := startStack(t, t.TempDir(), "", false, func(o *devstack.Options) {
		o.Webhooks = api.WebhookConfig{SendGridPublicKey: pub, TwilioAuthToken: twilioToken, PublicBaseURL: publicBase}
	})
	defer s.Stop()
	c := client{t: t, base: s.APIURL, key: s.APIKey}
	fastPolicy(c)
	c.must("POST", "/v1/customers", map[string]string{"id": "acme", "name": "Acme GmbH", "email": "ap@acme.test",
		"phone": "+4930123456", "timezone": "Europe/Berlin", "account_manager": "mia@ar.test"}, 201)
	id := newInvoice(c, "HOOK-1")
	var notice map[string]any
	eventually(t, 30*time.Second, "the notice", func() bool {
		for _, m := range messages(c, id) {
			if m["step"] == "notify" {
				notice = m
				return true
			}
		}
		return false
	})

	// A preview renders without sending.
	pv := c.must("GET", "/v1/invoices/"+id+"/preview?step=remind&channel=sms", nil, 200)
	if !strings.Contains(pv["body"].(string), "HOOK-1") || pv["to"] != "+4930123456" {
		t.Fatalf("preview: %v", pv)
	}
	c.must("GET", "/v1/invoices/"+id+"/preview?step=agency", nil, 400)

	batch, _ := json.Marshal([]map[string]any{
		{"email": "ap@acme.test", "timestamp": time.Now().Unix() + 1, "event": "delivered", "sg_event_id": "ev-1",
			"sg_message_id": "x.filter", "message_id": notice["id"], "invoice_id": id, "step": "notify"},
		{"email": "ap@acme.test", "timestamp": time.Now().Unix() + 2, "event": "open", "sg_event_id": "ev-2",
			"sg_message_id": "x.filter", "message_id": notice["id"]},
		{"email": "ap@acme.test", "timestamp": time.Now().Unix(), "event": "delivered", "sg_event_id": "ev-3", "sg_message_id": "nobody.filter"},
	})
	if status, _ := sg.post(t, s.APIURL, batch, time.Now(), false); status != 401 {
		t.Fatalf("unsigned batch: %d", status)
	}
	if status, _ := sg.post(t, s.APIURL, batch, time.Now().Add(-time.Hour), true); status != 401 {
		t.Fatalf("stale batch: %d", status)
	}
	tampered := bytes.Replace(batch, []byte(`"delivered"`), []byte(`"bounce"`), 1)
	if status, _ := sg.postAltered(t, s.APIURL, batch, tampered, time.Now(), true); status != 401 {
		t.Fatalf("a batch changed after signing: %d", status)
	}
	status, tally := sg.post(t, s.APIURL, batch, time.Now(), true)
	if status != 200 || tally["accepted"] != float64(2) || tally["unmatched"] != float64(1) {
		t.Fatalf("first delivery: %d %v", status, tally)
	}
	for range 4 { // the same batch five times in all: taken in once
		status, tally = sg.post(t, s.APIURL, batch, time.Now(), true)
		if status != 200 || tally["duplicates"] != float64(3) || tally["accepted"] != float64(0) {
			t.Fatalf("the same batch again: %d %v", status, tally)
		}
	}
	comms := c.must("GET", "/v1/invoices/"+id+"/communications", nil, 200)["communications"].([]any)
	var history []string
	for _, m := range comms {
		m := m.(map[string]any)
		if m["id"] == notice["id"] {
			if m["status"] != "delivered" {
				t.Fatalf("notice status %v", m["status"])
			}
			for _, h := range m["history"].([]any) {
				history = append(history, h.(map[string]any)["status"].(string))
			}
		}
	}
	if strings.Join(history, ",") != "sent,delivered,open" {
		t.Fatalf("status history %v", history)
	}

	// Twilio: unsigned refused; STOP opts the number out; START back in;
	// any other reply is logged and becomes a task.
	if code := twilio(t, s.APIURL, "/webhooks/twilio/inbound", url.Values{"From": {"+4930123456"}, "Body": {"STOP"}, "MessageSid": {"SM1"}}, false); code != 401 {
		t.Fatalf("unsigned inbound: %d", code)
	}
	if code := twilio(t, s.APIURL, "/webhooks/twilio/inbound", url.Values{"From": {"+4930123456"}, "Body": {"Stop"}, "MessageSid": {"SM1"}}, true); code != 200 {
		t.Fatalf("STOP: %d", code)
	}
	store := db.NewStore(s.DB)
	if out, _ := store.OptedOut(t.Context(), "sms", "+4930123456"); !out {
		t.Fatal("STOP did not opt the number out")
	}
	twilio(t, s.APIURL, "/webhooks/twilio/inbound", url.Values{"From": {"+4930123456"}, "Body": {"START"}, "MessageSid": {"SM2"}}, true)
	if out, _ := store.OptedOut(t.Context(), "sms", "+4930123456"); out {
		t.Fatal("START did not opt the number back in")
	}
	reply := url.Values{"From": {"+4930123456"}, "Body": {"We paid on Friday, please check"}, "MessageSid": {"SM3"}}
	for range 2 { // a repeated callback is taken in once
		if code := twilio(t, s.APIURL, "/webhooks/twilio/inbound", reply, true); code != 200 {
			t.Fatalf("reply: %d", code)
		}
	}
	tasks := c.must("GET", "/v1/tasks?invoice_id="+id, nil, 200)["tasks"].([]any)
	replies := 0
	for _, tk := range tasks {
		if tk.(map[string]any)["kind"] == "reply" {
			replies++
		}
	}
	if replies != 1 {
		t.Fatalf("reply tasks: %d (%v)", replies, tasks)
	}
	inbound := 0
	for _, m := range c.must("GET", "/v1/customers/acme/communications", nil, 200)["communications"].([]any) {
		if m.(map[string]any)["direction"] == "in" {
			inbound++
		}
	}
	if inbound != 1 {
		t.Fatalf("inbound messages in the log: %d", inbound)
	}
	if code := twilio(t, s.APIURL, "/webhooks/twilio/status", url.Values{"MessageSid": {"SMx"}, "MessageStatus": {"delivered"}}, false); code != 401 {
		t.Fatalf("unsigned status: %d", code)
	}
	if code := twilio(t, s.APIURL, "/webhooks/twilio/status", url.Values{"MessageSid": {"SMx"}, "MessageStatus": {"delivered"}}, true); code != 204 {
		t.Fatalf("status for an unknown message: %d", code)
	}
}
