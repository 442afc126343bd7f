package channels

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/collections-engine/collections/policy"
)

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

var fullEnv = map[string]string{
	"SENDGRID_API_KEY":             testSendGridKey,
	"SENDGRID_FROM_EMAIL":          "ar@example.com",
	"SENDGRID_FROM_NAME":           "Acme AR",
	"SENDGRID_REPLY_TO":            "billing@example.com",
	"SENDGRID_SANDBOX":             "true",
	"TWILIO_ACCOUNT_SID":           testTwilioSID,
	"TWILIO_AUTH_TOKEN":            testTwilioToken,
	"TWILIO_FROM_NUMBER":           "+15005550006",
	"TWILIO_MESSAGING_SERVICE_SID": "",
	"TWILIO_STATUS_CALLBACK_URL":   "https://collections.example.com/webhooks/twilio",
	"SENDGRID_BASE_URL":            "https://api.eu.sendgrid.com",
	"TWILIO_BASE_URL":              "http://127.0.0.1:9999",
}

func with(base map[string]string, kv ...string) map[string]string {
	m := map[string]string{}
	for k, v := range base {
		m[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func TestConfigFromEnv(t *testing.T) {
	c := ConfigFromEnv(env(with(fullEnv, "SENDGRID_FROM_NAME", "  Acme AR  ")))
	want := SendGridConfig{APIKey: testSendGridKey, FromEmail: "ar@example.com", FromName: "Acme AR", ReplyTo: "billing@example.com", Sandbox: true,
		BaseURL: "https://api.eu.sendgrid.com"}
	if c.SendGrid != want {
		t.Errorf("SendGrid = %v, want %v", c.SendGrid, want)
	}
	wantTw := TwilioConfig{AccountSID: testTwilioSID, AuthToken: testTwilioToken, From: "+15005550006",
		StatusCallbackURL: "https://collections.example.com/webhooks/twilio", BaseURL: "http://127.0.0.1:9999"}
	if c.Twilio != wantTw {
		t.Errorf("Twilio = %v, want %v", c.Twilio, wantTw)
	}

	for v, want := range map[string]bool{"true": true, "1": true, "TRUE": true, "false": false, "0": false, "": false} {
		if got := ConfigFromEnv(env(map[string]string{"SENDGRID_SANDBOX": v})).SendGrid.Sandbox; got != want {
			t.Errorf("SENDGRID_SANDBOX=%q: %v, want %v", v, got, want)
		}
	}
}

func TestSendersChoice(t *testing.T) {
	outbox := Outbox{}
	cases := []struct {
		name      string
		env       map[string]string
		email     string // provider
		sms       string
		lines     []string
		wantError []string // substrings; nil: no error
	}{
		{name: "nothing set", env: map[string]string{},
			email: "outbox", sms: "outbox", lines: []string{"email: dev outbox", "sms: dev outbox"}},
		{name: "everything set", env: fullEnv,
			email: "sendgrid", sms: "twilio", lines: []string{"email: sendgrid (from ar@example.com, sandbox)", "sms: twilio (from +15005550006)"}},
		{name: "email only", env: map[string]string{"SENDGRID_API_KEY": testSendGridKey, "SENDGRID_FROM_EMAIL": "ar@example.com"},
			email: "sendgrid", sms: "outbox", lines: []string{"email: sendgrid (from ar@example.com)", "sms: dev outbox"}},
		{name: "sms via messaging service", env: map[string]string{"TWILIO_ACCOUNT_SID": testTwilioSID, "TWILIO_AUTH_TOKEN": testTwilioToken, "TWILIO_MESSAGING_SERVICE_SID": testTwilioMG},
			email: "outbox", sms: "twilio", lines: []string{"email: dev outbox", "sms: twilio (messaging service " + testTwilioMG + ")"}},
		{name: "from email missing", env: with(fullEnv, "SENDGRID_FROM_EMAIL", ""),
			wantError: []string{"SENDGRID_FROM_EMAIL"}},
		{name: "auth token missing", env: with(fullEnv, "TWILIO_AUTH_TOKEN", ""),
			wantError: []string{"TWILIO_AUTH_TOKEN"}},
		{name: "sms sender missing", env: with(fullEnv, "TWILIO_FROM_NUMBER", ""),
			wantError: []string{"TWILIO_FROM_NUMBER", "TWILIO_MESSAGING_SERVICE_SID"}},
		{name: "both sms senders", env: with(fullEnv, "TWILIO_MESSAGING_SERVICE_SID", testTwilioMG),
			wantError: []string{"only one"}},
		{name: "bad from number", env: with(fullEnv, "TWILIO_FROM_NUMBER", "555-0100"),
			wantError: []string{"TWILIO_FROM_NUMBER", "E.164"}},
		{name: "both broken, both reported", env: with(fullEnv, "SENDGRID_FROM_EMAIL", "", "TWILIO_AUTH_TOKEN", ""),
			wantError: []string{"SENDGRID_FROM_EMAIL", "TWILIO_AUTH_TOKEN"}},
		{name: "sandbox typo", env: with(fullEnv, "SENDGRID_SANDBOX", "ture"),
			wantError: []string{"SENDGRID_SANDBOX"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			senders, lines, err := ConfigFromEnv(env(c.env)).Senders(outbox)
			if c.wantError != nil {
				if err == nil {
					t.Fatalf("no error; senders %v", lines)
				}
				for _, w := range c.wantError {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %s", err, w)
					}
				}
				assertNoSecret(t, err, testSendGridKey)
				assertNoSecret(t, err, testTwilioToken)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for ch, want := range map[policy.Channel]string{policy.Email: c.email, policy.SMS: c.sms} {
				s, err := senders.For(ch)
				if err != nil || s.Provider() != want {
					t.Errorf("%s: %v %v, want %s", ch, s, err, want)
				}
			}
			if fmt.Sprint(lines) != fmt.Sprint(c.lines) {
				t.Errorf("lines = %q, want %q", lines, c.lines)
			}
			for _, l := range lines {
				if strings.Contains(l, testSendGridKey) || strings.Contains(l, testTwilioToken) {
					t.Errorf("line leaks a secret: %s", l)
				}
			}
		})
	}
}

func TestSendersNeedsOutboxForFallback(t *testing.T) {
	if _, _, err := ConfigFromEnv(env(nil)).Senders(nil); err == nil {
		t.Fatal("no error without an outbox to fall back on")
	}
	if _, lines, err := ConfigFromEnv(env(fullEnv)).Senders(nil); err != nil || len(lines) != 2 {
		t.Fatalf("both providers configured need no outbox: %v %v", lines, err)
	}
}

func TestConfigRedaction(t *testing.T) {
	c := ConfigFromEnv(env(fullEnv))
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "channels", c, "sendgrid", c.SendGrid, "twilio", c.Twilio)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "channels", c)
	outputs := []string{c.String(), fmt.Sprint(c), fmt.Sprintf("%v|%+v|%#v|%s", c, c, c, c),
		fmt.Sprintf("%v %+v %#v", c.SendGrid, c.Twilio, &c.Twilio), buf.String()}
	for _, out := range outputs {
		for _, secret := range []string{testSendGridKey, testTwilioToken} {
			if strings.Contains(out, secret) {
				t.Errorf("secret in %s", out)
			}
		}
	}
	s := c.String()
	for _, want := range []string{"ar@example.com", testTwilioSID, "+15005550006", "[REDACTED]", "Sandbox:true"} {
		if !strings.Contains(s, want) {
			t.Errorf("String() lacks %q: %s", want, s)
		}
	}
	if empty := (Config{}).String(); !strings.Contains(empty, "APIKey:(unset)") || !strings.Contains(empty, "AuthToken:(unset)") {
		t.Errorf("unset secrets: %s", empty)
	}
	// The JSON handler output is still valid JSON.
	line, _, _ := strings.Cut(buf.String(), "\n")
	if !json.Valid([]byte(line)) {
		t.Errorf("not JSON: %s", line)
	}
}
