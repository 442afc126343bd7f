package channels

import (
	"context"
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

const (
	testTwilioSID   = "AC0123456789abcdef0123456789abcdef"
	testTwilioToken = "f00dfacef00dfacef00dfacef00dface"
	testTwilioMG    = "MG0123456789abcdef0123456789abcdef"
)

func smsMessage() Message {
	return Message{ID: "msg-1", InvoiceID: "inv-1", Step: "overdue-15", Channel: policy.SMS,
		To: "+14155550123", Body: "Invoice INV-1 is 15 days overdue. Pay at https://pay.example.com/i/1"}
}

func newTestTwilio(t *testing.T, cfg TwilioConfig, h http.HandlerFunc) *Twilio {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cfg.AccountSID, cfg.AuthToken, cfg.BaseURL = testTwilioSID, testTwilioToken, srv.URL
	if cfg.From == "" && cfg.MessagingServiceSID == "" {
		cfg.From = "+15005550006"
	}
	tw, err := NewTwilio(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tw
}

func twilioJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func TestTwilioRequest(t *testing.T) {
	for _, viaService := range []bool{false, true} {
		t.Run(fmt.Sprint("messaging service ", viaService), func(t *testing.T) {
			cfg := TwilioConfig{StatusCallbackURL: "https://collections.example.com/webhooks/twilio"}
			if viaService {
				cfg.MessagingServiceSID = testTwilioMG
			} else {
				cfg.From = "+15005550006"
			}
			var calls atomic.Int32
			tw := newTestTwilio(t, cfg, func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				if r.Method != http.MethodPost {
					t.Errorf("method = %s", r.Method)
				}
				if want := "/2010-04-01/Accounts/" + testTwilioSID + "/Messages.json"; r.URL.Path != want {
					t.Errorf("path = %s, want %s", r.URL.Path, want)
				}
				user, pass, ok := r.BasicAuth()
				if !ok || user != testTwilioSID || pass != testTwilioToken {
					t.Errorf("basic auth = %q:%q (%v)", user, pass, ok)
				}
				if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
					t.Errorf("Content-Type = %q", ct)
				}
				if err := r.ParseForm(); err != nil {
					t.Fatal(err)
				}
				want := map[string]string{
					"To":             "+14155550123",
					"Body":           smsMessage().Body,
					"StatusCallback": "https://collections.example.com/webhooks/twilio",
				}
				if viaService {
					want["MessagingServiceSid"] = testTwilioMG
				} else {
					want["From"] = "+15005550006"
				}
				for k, v := range want {
					if got := r.PostForm.Get(k); got != v {
						t.Errorf("form %s = %q, want %q", k, got, v)
					}
				}
				if len(r.PostForm) != len(want) {
					t.Errorf("form = %v, want exactly %v", r.PostForm, want)
				}
				twilioJSON(w, http.StatusCreated, `{"sid":"SM0123456789abcdef0123456789abcdef","status":"queued","to":"+14155550123"}`)
			})
			sid, err := tw.Send(context.Background(), smsMessage())
			if err != nil {
				t.Fatal(err)
			}
			if sid != "SM0123456789abcdef0123456789abcdef" {
				t.Fatalf("sid = %q", sid)
			}
			if calls.Load() != 1 {
				t.Fatalf("%d calls", calls.Load())
			}
		})
	}
}

func TestTwilioErrorClassification(t *testing.T) {
	cases := []struct {
		name      string
		status    int
		body      string
		permanent bool
		wantText  string
	}{
		{"opted out", 400, `{"code":21610,"message":"Attempt to send to unsubscribed recipient","more_info":"https://www.twilio.com/docs/errors/21610","status":400}`, true, "21610"},
		{"invalid to", 400, `{"code":21211,"message":"Invalid 'To' Phone Number: +1415555012","more_info":"https://www.twilio.com/docs/errors/21211","status":400}`, true, "Invalid 'To' Phone Number"},
		{"not mobile", 400, `{"code":21614,"message":"'To' number is not a valid mobile number","status":400}`, true, "21614"},
		{"unreachable with odd status", 500, `{"code":21214,"message":"'To' phone number cannot be reached","status":500}`, true, "21214"},
		{"region", 400, `{"code":21408,"message":"Permission to send an SMS has not been enabled for the region","status":400}`, true, "21408"},
		{"auth", 401, `{"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401}`, true, "Authenticate"},
		{"forbidden", 403, `{"code":20008,"message":"Forbidden","status":403}`, true, "403"},
		{"not found", 404, `{"code":20404,"message":"The requested resource was not found","status":404}`, true, "not found"},
		{"rate limited", 429, `{"code":20429,"message":"Too Many Requests","status":429}`, false, "Too Many Requests"},
		{"server error", 500, `{"code":20500,"message":"Internal Server Error","status":500}`, false, "500"},
		{"proxy page", 502, `<html>Bad Gateway</html>`, false, "502"},
		{"empty 503", 503, ``, false, "503"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tw := newTestTwilio(t, TwilioConfig{}, func(w http.ResponseWriter, r *http.Request) {
				twilioJSON(w, c.status, c.body)
			})
			sid, err := tw.Send(context.Background(), smsMessage())
			if err == nil {
				t.Fatalf("no error (sid %q)", sid)
			}
			if IsPermanent(err) != c.permanent {
				t.Errorf("IsPermanent = %v, want %v: %v", IsPermanent(err), c.permanent, err)
			}
			if !strings.Contains(err.Error(), c.wantText) || !strings.Contains(err.Error(), fmt.Sprint(c.status)) {
				t.Errorf("error %q lacks %q or the status", err, c.wantText)
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != c.status {
				t.Errorf("errors.As APIError = %+v", apiErr)
			}
			assertNoSecret(t, err, testTwilioToken)
		})
	}
}

func TestTwilioInvalidRecipientNoCall(t *testing.T) {
	var calls atomic.Int32
	tw := newTestTwilio(t, TwilioConfig{}, func(w http.ResponseWriter, r *http.Request) { calls.Add(1) })
	for _, to := range []string{"", "4155550123", "+04155550123", "+1 415 555 0123", "+1415555012345678", "+12345", "tel:+14155550123"} {
		m := smsMessage()
		m.To = to
		if _, err := tw.Send(context.Background(), m); !IsPermanent(err) {
			t.Errorf("To %q: want permanent, got %v", to, err)
		}
	}
	m := smsMessage()
	m.Body = ""
	if _, err := tw.Send(context.Background(), m); !IsPermanent(err) {
		t.Errorf("empty body: want permanent, got %v", err)
	}
	if calls.Load() != 0 {
		t.Fatalf("%d HTTP calls for invalid messages", calls.Load())
	}
}

func TestTwilioTimeoutAndCancel(t *testing.T) {
	release := make(chan struct{})
	tw := newTestTwilio(t, TwilioConfig{Timeout: 200 * time.Millisecond}, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) })

	start := time.Now()
	_, err := tw.Send(context.Background(), smsMessage())
	if err == nil || IsPermanent(err) {
		t.Fatalf("want a retryable timeout error, got %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Send took %s with a 200ms timeout", d)
	}
	assertNoSecret(t, err, testTwilioToken)

	tw.timeout = time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	start = time.Now()
	_, err = tw.Send(ctx, smsMessage())
	if !errors.Is(err, context.Canceled) || IsPermanent(err) {
		t.Fatalf("cancelled send: %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("cancellation not honoured")
	}
}

func TestTwilioTokenNeverInErrors(t *testing.T) {
	tw := newTestTwilio(t, TwilioConfig{}, func(w http.ResponseWriter, r *http.Request) {
		_, pass, _ := r.BasicAuth()
		twilioJSON(w, 401, fmt.Sprintf(`{"code":20003,"message":"Authenticate with %s failed","status":401}`, pass))
	})
	_, err := tw.Send(context.Background(), smsMessage())
	if !IsPermanent(err) || !strings.Contains(err.Error(), "[REDACTED]") {
		t.Fatalf("err = %v", err)
	}
	assertNoSecret(t, err, testTwilioToken)

	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	tw2, err := NewTwilio(TwilioConfig{AccountSID: testTwilioSID, AuthToken: testTwilioToken, From: "+15005550006", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	assertUnreachable(t, tw2, smsMessage(), testTwilioToken, tw2, TwilioConfig{AuthToken: testTwilioToken})
}

func TestTwilioMissingSid(t *testing.T) {
	tw := newTestTwilio(t, TwilioConfig{}, func(w http.ResponseWriter, r *http.Request) {
		twilioJSON(w, http.StatusCreated, `{}`)
	})
	if _, err := tw.Send(context.Background(), smsMessage()); err == nil || IsPermanent(err) {
		t.Fatalf("want a retryable error for a response without sid, got %v", err)
	}
}

func TestTwilioConcurrent(t *testing.T) {
	tw := newTestTwilio(t, TwilioConfig{}, func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		twilioJSON(w, 201, `{"sid":"SM`+r.PostForm.Get("Body")+`"}`)
	})
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			m := smsMessage()
			m.Body = fmt.Sprint(i)
			sid, err := tw.Send(context.Background(), m)
			if err != nil || sid != "SM"+m.Body {
				t.Errorf("send %d: sid %q, err %v", i, sid, err)
			}
		})
	}
	wg.Wait()
}

func TestNewTwilioValidation(t *testing.T) {
	ok := TwilioConfig{AccountSID: testTwilioSID, AuthToken: testTwilioToken, From: "+15005550006"}
	cases := []struct {
		mutate func(*TwilioConfig)
		want   string
	}{
		{func(c *TwilioConfig) { c.AccountSID = "" }, "TWILIO_ACCOUNT_SID"},
		{func(c *TwilioConfig) { c.AccountSID = "XX0123" }, "TWILIO_ACCOUNT_SID"},
		{func(c *TwilioConfig) { c.AuthToken = "" }, "TWILIO_AUTH_TOKEN"},
		{func(c *TwilioConfig) { c.AuthToken = "has-dash" }, "TWILIO_AUTH_TOKEN"},
		{func(c *TwilioConfig) { c.From = "" }, "TWILIO_MESSAGING_SERVICE_SID"},
		{func(c *TwilioConfig) { c.MessagingServiceSID = testTwilioMG }, "only one"},
		{func(c *TwilioConfig) { c.From = "4155550123" }, "E.164"},
		{func(c *TwilioConfig) { c.From, c.MessagingServiceSID = "", "AC0123456789abcdef0123456789abcdef" }, "MG"},
		{func(c *TwilioConfig) { c.StatusCallbackURL = "/relative" }, "TWILIO_STATUS_CALLBACK_URL"},
		{func(c *TwilioConfig) { c.BaseURL = "ftp://x" }, "BaseURL"},
	}
	for _, c := range cases {
		cfg := ok
		c.mutate(&cfg)
		_, err := NewTwilio(cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want mention of %s", cfg, err, c.want)
		}
		assertNoSecret(t, err, testTwilioToken)
	}
	tw, err := NewTwilio(ok)
	if err != nil {
		t.Fatal(err)
	}
	if tw.target != nil || tw.timeout != DefaultTimeout || tw.Provider() != "twilio" {
		t.Errorf("defaults: target %v timeout %s", tw.target, tw.timeout)
	}
	var _ Sender = tw
}

// roundTripFunc answers requests in-process, for tests that must see the URL
// the sender builds for Twilio itself (no BaseURL).
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestTwilioProductionEndpoint checks the URL and headers sent to Twilio
// itself: api.twilio.com, or the edge and region twilio-go derives from
// TWILIO_EDGE and TWILIO_REGION, with twilio-go's User-Agent.
func TestTwilioProductionEndpoint(t *testing.T) {
	path := "/2010-04-01/Accounts/" + testTwilioSID + "/Messages.json"
	cases := []struct {
		edge, region string
		want         string
	}{
		{"", "", "https://api.twilio.com" + path},
		{"dublin", "", "https://api.dublin.us1.twilio.com" + path},
		{"", "au1", "https://api.au1.twilio.com" + path},
		{"sydney", "au1", "https://api.sydney.au1.twilio.com" + path},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			t.Setenv("TWILIO_EDGE", c.edge)
			t.Setenv("TWILIO_REGION", c.region)
			tw, err := NewTwilio(TwilioConfig{AccountSID: testTwilioSID, AuthToken: testTwilioToken, From: "+15005550006"})
			if err != nil {
				t.Fatal(err)
			}
			var seen *http.Request
			tw.transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
				seen = r
				return &http.Response{StatusCode: http.StatusCreated, Header: http.Header{"Content-Type": {"application/json"}},
					Body: io.NopCloser(strings.NewReader(`{"sid":"SM0123456789abcdef0123456789abcdef"}`)), Request: r}, nil
			})
			sid, err := tw.Send(context.Background(), smsMessage())
			if err != nil || sid != "SM0123456789abcdef0123456789abcdef" {
				t.Fatalf("sid %q, err %v", sid, err)
			}
			if seen == nil {
				t.Fatal("no request")
			}
			if got := seen.URL.String(); got != c.want {
				t.Errorf("URL = %s, want %s", got, c.want)
			}
			if ua := seen.Header.Get("User-Agent"); !strings.HasPrefix(ua, "twilio-go/") {
				t.Errorf("User-Agent = %q, want twilio-go's", ua)
			}
			if user, pass, ok := seen.BasicAuth(); !ok || user != testTwilioSID || pass != testTwilioToken {
				t.Errorf("basic auth = %q (%v)", user, ok)
			}
			if seen.Context().Done() == nil {
				t.Error("request carries no cancellable context")
			}
		})
	}
}

// TestTwilioResponses covers answers beyond the plain ones: a full Message
// resource as Twilio returns it, a 2xx that is not JSON and a redirect (not
// followed): the last two retryable, sent once.
func TestTwilioResponses(t *testing.T) {
	full := `{"account_sid":"` + testTwilioSID + `","api_version":"2010-04-01","body":"Invoice INV-1 is 15 days overdue.",
	"date_created":"Thu, 24 Aug 2023 05:01:45 +0000","date_sent":null,"date_updated":"Thu, 24 Aug 2023 05:01:45 +0000",
	"direction":"outbound-api","error_code":null,"error_message":null,"from":"+15005550006","messaging_service_sid":null,
	"num_media":"0","num_segments":"1","price":null,"price_unit":"USD","sid":"SMfedcba9876543210fedcba9876543210",
	"status":"queued","subresource_uris":{"media":"/2010-04-01/Accounts/` + testTwilioSID + `/Messages/SMfedcba9876543210fedcba9876543210/Media.json"},
	"to":"+14155550123","uri":"/2010-04-01/Accounts/` + testTwilioSID + `/Messages/SMfedcba9876543210fedcba9876543210.json"}`
	tw := newTestTwilio(t, TwilioConfig{}, func(w http.ResponseWriter, r *http.Request) { twilioJSON(w, http.StatusCreated, full) })
	if sid, err := tw.Send(context.Background(), smsMessage()); err != nil || sid != "SMfedcba9876543210fedcba9876543210" {
		t.Fatalf("full resource: sid %q, err %v", sid, err)
	}

	retryable := []struct {
		name   string
		status int
		header http.Header
		body   string
		want   string
	}{
		{"2xx not json", http.StatusCreated, http.Header{"Content-Type": {"text/html"}}, `<html>ok</html>`, "twilio: send"},
		{"redirect not followed", http.StatusFound, http.Header{"Location": {"https://elsewhere.example.com/"}}, ``, "HTTP 302"},
	}
	for _, c := range retryable {
		t.Run(c.name, func(t *testing.T) {
			var calls atomic.Int32
			tw := newTestTwilio(t, TwilioConfig{}, func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				for k, v := range c.header {
					w.Header()[k] = v
				}
				w.WriteHeader(c.status)
				io.WriteString(w, c.body)
			})
			sid, err := tw.Send(context.Background(), smsMessage())
			if err == nil || IsPermanent(err) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("sid %q, err %v: want a retryable error mentioning %q", sid, err, c.want)
			}
			if calls.Load() != 1 {
				t.Errorf("%d calls", calls.Load())
			}
			assertNoSecret(t, err, testTwilioToken)
		})
	}
}
