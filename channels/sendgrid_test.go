package channels

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/collections-engine/collections/policy"
)

const testSendGridKey = "SG.test-key-0123456789.abcdefghijklmnopqrstuvwxyz"

func testMessage() Message {
	return Message{ID: "msg-123", InvoiceID: "inv-456", Step: "remind", Channel: policy.Email,
		To: "Pat Payer <pat@example.com>", Subject: "Invoice INV-1 is due",
		Body: "Hello Pat,\nyour invoice is due.\n\nAmount: <100 & more>"}
}

func newTestSendGrid(t *testing.T, cfg SendGridConfig, h http.HandlerFunc) *SendGrid {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	if cfg.APIKey == "" {
		cfg.APIKey = testSendGridKey
	}
	if cfg.FromEmail == "" {
		cfg.FromEmail = "ar@example.com"
	}
	cfg.BaseURL = srv.URL
	s, err := NewSendGrid(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// path walks a decoded JSON document: string keys index objects, ints arrays.
func path(t *testing.T, doc any, keys ...any) any {
	t.Helper()
	cur := doc
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			obj, ok := cur.(map[string]any)
			if !ok {
				t.Fatalf("at %v: not an object: %v", k, cur)
			}
			cur = obj[k]
		case int:
			arr, ok := cur.([]any)
			if !ok || k >= len(arr) {
				t.Fatalf("at %v: not an array of %d+: %v", k, k+1, cur)
			}
			cur = arr[k]
		}
	}
	return cur
}

func TestSendGridRequest(t *testing.T) {
	var calls atomic.Int32
	s := newTestSendGrid(t, SendGridConfig{FromEmail: "ar@example.com", FromName: "Acme AR", ReplyTo: "billing@example.com", Sandbox: true},
		func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			if r.Method != http.MethodPost {
				t.Errorf("method = %s, want POST", r.Method)
			}
			if r.URL.Path != "/v3/mail/send" {
				t.Errorf("path = %s, want /v3/mail/send", r.URL.Path)
			}
			if got := r.Header.Get("Authorization"); got != "Bearer "+testSendGridKey {
				t.Errorf("Authorization = %q", got)
			}
			if got := r.Header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q", got)
			}
			raw, _ := io.ReadAll(r.Body)
			var doc any
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatalf("body is not JSON: %v\n%s", err, raw)
			}
			want := []struct {
				path []any
				want any
			}{
				{[]any{"personalizations", 0, "to", 0, "email"}, "pat@example.com"},
				{[]any{"personalizations", 0, "to", 0, "name"}, "Pat Payer"},
				{[]any{"from", "email"}, "ar@example.com"},
				{[]any{"from", "name"}, "Acme AR"},
				{[]any{"reply_to", "email"}, "billing@example.com"},
				{[]any{"subject"}, "Invoice INV-1 is due"},
				{[]any{"content", 0, "type"}, "text/plain"},
				{[]any{"content", 0, "value"}, "Hello Pat,\nyour invoice is due.\n\nAmount: <100 & more>"},
				{[]any{"content", 1, "type"}, "text/html"},
				{[]any{"content", 1, "value"}, "<p>Hello Pat,<br>\nyour invoice is due.</p>\n<p>Amount: &lt;100 &amp; more&gt;</p>\n"},
				{[]any{"custom_args", "message_id"}, "msg-123"},
				{[]any{"custom_args", "invoice_id"}, "inv-456"},
				{[]any{"custom_args", "step"}, "remind"},
				{[]any{"categories", 0}, "collections"},
				{[]any{"mail_settings", "sandbox_mode", "enable"}, true},
			}
			for _, c := range want {
				if got := path(t, doc, c.path...); got != c.want {
					t.Errorf("%v = %#v, want %#v", c.path, got, c.want)
				}
			}
			if n := len(path(t, doc, "content").([]any)); n != 2 {
				t.Errorf("content has %d parts, want 2", n)
			}
			w.Header().Set("X-Message-Id", "sg-abc123")
			w.WriteHeader(http.StatusAccepted)
		})

	id, err := s.Send(context.Background(), testMessage())
	if err != nil {
		t.Fatal(err)
	}
	if id != "sg-abc123" {
		t.Fatalf("provider message id = %q, want sg-abc123", id)
	}
	if calls.Load() != 1 {
		t.Fatalf("%d calls, want 1", calls.Load())
	}
}

// An attachment (the statement of account) goes as SendGrid wants it:
// base64 content, a type, a file name, disposition attachment; a message
// without one has no attachments key at all.
func TestSendGridAttachments(t *testing.T) {
	pdf := []byte("%PDF-1.3 \x00\xff statement")
	var docs []map[string]any
	s := newTestSendGrid(t, SendGridConfig{}, func(w http.ResponseWriter, r *http.Request) {
		var doc map[string]any
		if err := json.NewDecoder(r.Body).Decode(&doc); err != nil {
			t.Fatal(err)
		}
		docs = append(docs, doc)
		w.WriteHeader(http.StatusAccepted)
	})
	m := testMessage()
	m.Attachments = []Attachment{{Filename: "statement-2026-12-07.pdf", ContentType: "application/pdf", Content: pdf}}
	if _, err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send(context.Background(), testMessage()); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"filename": "statement-2026-12-07.pdf", "type": "application/pdf",
		"disposition": "attachment", "content": base64.StdEncoding.EncodeToString(pdf)} {
		if got := path(t, docs[0], "attachments", 0, k); got != want {
			t.Errorf("attachments[0].%s = %#v, want %#v", k, got, want)
		}
	}
	if _, ok := docs[1]["attachments"]; ok {
		t.Errorf("a message without attachments sent %v", docs[1]["attachments"])
	}
}

func TestSendGridOptionalFieldsAndHTML(t *testing.T) {
	s := newTestSendGrid(t, SendGridConfig{}, func(w http.ResponseWriter, r *http.Request) {
		var doc map[string]any
		if err := json.NewDecoder(r.Body).Decode(&doc); err != nil {
			t.Fatal(err)
		}
		for _, absent := range []string{"reply_to", "mail_settings"} {
			if _, ok := doc[absent]; ok {
				t.Errorf("%s present without being configured: %v", absent, doc[absent])
			}
		}
		if got := path(t, doc, "content", 1, "value"); got != "<p>Rendered</p>" {
			t.Errorf("html = %v, want the message's own HTML", got)
		}
		if _, ok := path(t, doc, "from").(map[string]any)["name"]; ok {
			t.Error("from.name present without FromName")
		}
		w.Header().Set("X-Message-Id", "id-2")
		w.WriteHeader(http.StatusAccepted)
	})
	m := testMessage()
	m.HTML = "<p>Rendered</p>"
	if _, err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

func TestSendGridStatusClassification(t *testing.T) {
	cases := []struct {
		status    int
		body      string
		permanent bool
		wantText  string
	}{
		{400, `{"errors":[{"message":"The to array is required for all personalization objects","field":"personalizations.0.to","help":null}]}`, true, "The to array is required"},
		{401, `{"errors":[{"field":null,"message":"The provided authorization grant is invalid, expired, or revoked"}]}`, true, "authorization grant is invalid"},
		{403, `{"errors":[{"field":null,"message":"The from address does not match a verified Sender Identity."}]}`, true, "verified Sender Identity"},
		{413, `{"errors":[{"message":"Payload too large"}]}`, true, "Payload too large"},
		{404, `not json`, true, ""},
		{408, ``, false, ""},
		{429, `{"errors":[{"field":null,"message":"too many requests"}]}`, false, "too many requests"},
		{500, `{"errors":[{"message":"internal error"}]}`, false, "internal error"},
		{502, `<html>bad gateway</html>`, false, ""},
		{503, ``, false, ""},
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.status), func(t *testing.T) {
			s := newTestSendGrid(t, SendGridConfig{}, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(c.status)
				io.WriteString(w, c.body)
			})
			id, err := s.Send(context.Background(), testMessage())
			if err == nil {
				t.Fatalf("no error for %d (id %q)", c.status, id)
			}
			if IsPermanent(err) != c.permanent {
				t.Errorf("IsPermanent = %v, want %v: %v", IsPermanent(err), c.permanent, err)
			}
			if !strings.Contains(err.Error(), fmt.Sprint(c.status)) {
				t.Errorf("error lacks the status code: %v", err)
			}
			if c.wantText != "" && !strings.Contains(err.Error(), c.wantText) {
				t.Errorf("error lacks SendGrid's message %q: %v", c.wantText, err)
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != c.status || apiErr.Provider != "sendgrid" {
				t.Errorf("errors.As APIError = %+v", apiErr)
			}
			assertNoSecret(t, err, testSendGridKey)
		})
	}
}

// A provider echoing the key back (as some proxies and error pages do) must
// not leak it into our error text.
func TestSendGridKeyNeverInErrors(t *testing.T) {
	s := newTestSendGrid(t, SendGridConfig{}, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"errors":[{"message":"bad key %s"}]}`, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	})
	_, err := s.Send(context.Background(), testMessage())
	if err == nil || !IsPermanent(err) {
		t.Fatalf("want a permanent error, got %v", err)
	}
	if !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "bad key [REDACTED]") {
		t.Errorf("error = %v", err)
	}
	assertNoSecret(t, err, testSendGridKey)

	// Network error: nothing listens any more.
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	s2, err := NewSendGrid(SendGridConfig{APIKey: testSendGridKey, FromEmail: "ar@example.com", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	assertUnreachable(t, s2, testMessage(), testSendGridKey, s2, SendGridConfig{APIKey: testSendGridKey})
}

// assertUnreachable checks that a provider that cannot be reached is a
// retryable error that does not contain the secret, and that formatting
// the sender or its configuration in any way hides the secret.
func assertUnreachable(t *testing.T, s Sender, m Message, secret string, formatted ...any) {
	t.Helper()
	_, err := s.Send(context.Background(), m)
	if err == nil || IsPermanent(err) {
		t.Fatalf("network error: want retryable, got %v", err)
	}
	assertNoSecret(t, err, secret)
	for _, v := range formatted {
		for _, text := range []string{fmt.Sprint(v), fmt.Sprintf("%+v", v), fmt.Sprintf("%#v", v)} {
			if strings.Contains(text, secret) {
				t.Errorf("formatted value leaks the secret: %s", text)
			}
		}
	}
}

func TestSendGridTimeout(t *testing.T) {
	release := make(chan struct{})
	s := newTestSendGrid(t, SendGridConfig{Timeout: 200 * time.Millisecond}, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) }) // runs before the server's Close

	start := time.Now()
	_, err := s.Send(context.Background(), testMessage())
	elapsed := time.Since(start)
	if err == nil || IsPermanent(err) {
		t.Fatalf("want a retryable timeout error, got %v", err)
	}
	if elapsed > 2*time.Second {
		t.Fatalf("Send took %s with a 200ms timeout", elapsed)
	}
	assertNoSecret(t, err, testSendGridKey)

	// The caller's context is honoured too.
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	s.timeout = time.Minute
	s.client.HTTPClient.Timeout = time.Minute
	start = time.Now()
	_, err = s.Send(ctx, testMessage())
	if !errors.Is(err, context.Canceled) || IsPermanent(err) {
		t.Fatalf("cancelled send: %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("cancellation not honoured")
	}
}

func TestSendGridRefusesWithoutCalling(t *testing.T) {
	var calls atomic.Int32
	s := newTestSendGrid(t, SendGridConfig{}, func(w http.ResponseWriter, r *http.Request) { calls.Add(1) })
	for _, m := range []Message{
		{ID: "1", To: "not an address", Subject: "s", Body: "b"},
		{ID: "2", To: "", Subject: "s", Body: "b"},
		{ID: "3", To: "a@example.com", Subject: "s"},
	} {
		if _, err := s.Send(context.Background(), m); !IsPermanent(err) {
			t.Errorf("%+v: want permanent, got %v", m, err)
		}
	}
	if calls.Load() != 0 {
		t.Fatalf("%d HTTP calls for invalid messages", calls.Load())
	}
}

func TestSendGridConcurrent(t *testing.T) {
	var calls atomic.Int32
	s := newTestSendGrid(t, SendGridConfig{}, func(w http.ResponseWriter, r *http.Request) {
		var doc map[string]any
		json.NewDecoder(r.Body).Decode(&doc)
		w.Header().Set("X-Message-Id", "sg-"+path(t, doc, "custom_args", "message_id").(string))
		calls.Add(1)
		w.WriteHeader(http.StatusAccepted)
	})
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			m := testMessage()
			m.ID = fmt.Sprint("m", i)
			id, err := s.Send(context.Background(), m)
			if err != nil || id != "sg-"+m.ID {
				t.Errorf("send %d: id %q, err %v", i, id, err)
			}
		})
	}
	wg.Wait()
	if calls.Load() != 20 {
		t.Fatalf("%d calls", calls.Load())
	}
}

func TestNewSendGridValidation(t *testing.T) {
	cases := []struct {
		cfg  SendGridConfig
		want string
	}{
		{SendGridConfig{FromEmail: "ar@example.com"}, "SENDGRID_API_KEY"},
		{SendGridConfig{APIKey: testSendGridKey}, "SENDGRID_FROM_EMAIL"},
		{SendGridConfig{APIKey: testSendGridKey, FromEmail: "nope"}, "SENDGRID_FROM_EMAIL"},
		{SendGridConfig{APIKey: testSendGridKey, FromEmail: "ar@example.com", ReplyTo: "x"}, "SENDGRID_REPLY_TO"},
		{SendGridConfig{APIKey: testSendGridKey, FromEmail: "ar@example.com", BaseURL: "localhost:8080"}, "BaseURL"},
	}
	for _, c := range cases {
		_, err := NewSendGrid(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want mention of %s", c.cfg, err, c.want)
		}
		assertNoSecret(t, err, testSendGridKey)
	}
	s, err := NewSendGrid(SendGridConfig{APIKey: testSendGridKey, FromEmail: "ar@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if s.host != DefaultSendGridBaseURL || s.timeout != DefaultTimeout || s.client.HTTPClient.Timeout != DefaultTimeout {
		t.Errorf("defaults: host %q timeout %s", s.host, s.timeout)
	}
	if s.Provider() != "sendgrid" {
		t.Error(s.Provider())
	}
	var _ Sender = s
}

func TestTextToHTML(t *testing.T) {
	cases := map[string]string{
		"":                        "",
		"one line":                "<p>one line</p>\n",
		"a\nb":                    "<p>a<br>\nb</p>\n",
		"a\r\n\r\nb":              "<p>a</p>\n<p>b</p>\n",
		"a\n\n\n  \nb\n":          "<p>a</p>\n<p>b</p>\n",
		"<script>x</script> & \"": "<p>&lt;script&gt;x&lt;/script&gt; &amp; &#34;</p>\n",
		"  indented\nline  ":      "<p>  indented<br>\nline</p>\n",
	}
	for in, want := range cases {
		if got := TextToHTML(in); got != want {
			t.Errorf("TextToHTML(%q) = %q, want %q", in, got, want)
		}
	}
}

func assertNoSecret(t *testing.T, err error, secret string) {
	t.Helper()
	if err == nil {
		return
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if strings.Contains(e.Error(), secret) {
			t.Errorf("error leaks the secret: %v", e)
		}
	}
	if strings.Contains(fmt.Sprintf("%+v", err), secret) {
		t.Errorf("error leaks the secret with %%+v: %+v", err)
	}
}
