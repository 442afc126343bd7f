package webhooks

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// --- SendGrid ---------------------------------------------------------------

type sgKey struct {
	priv   *ecdsa.PrivateKey
	public string // base64 PKIX, as SendGrid shows it
}

func newSGKey(t testing.TB) sgKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return sgKey{priv: priv, public: base64.StdEncoding.EncodeToString(der)}
}

// sign signs as SendGrid does: ECDSA over SHA-256(timestamp + payload),
// ASN.1 DER, base64.
func (k sgKey) sign(t testing.TB, timestamp string, payload []byte) string {
	t.Helper()
	h := sha256.Sum256(append([]byte(timestamp), payload...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.priv, h[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func TestVerifySendGrid(t *testing.T) {
	now := time.Unix(1763805700, 0)
	ts := strconv.FormatInt(now.Add(-30*time.Second).Unix(), 10)
	payload, err := os.ReadFile("testdata/sendgrid_events.json")
	if err != nil {
		t.Fatal(err)
	}
	key, other := newSGKey(t), newSGKey(t)
	sig := key.sign(t, ts, payload)
	tol := 5 * time.Minute

	if err := VerifySendGrid(key.public, payload, sig, ts, now, tol); err != nil {
		t.Fatalf("valid signature refused: %v", err)
	}

	tampered := append([]byte(nil), payload...)
	tampered[len(tampered)/2] ^= 1
	staleTS := strconv.FormatInt(now.Add(-10*time.Minute).Unix(), 10)
	futureTS := strconv.FormatInt(now.Add(10*time.Minute).Unix(), 10)
	ed25519Key := func() string { // a valid PKIX key of the wrong type
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		der, _ := x509.MarshalPKIXPublicKey(pub)
		return base64.StdEncoding.EncodeToString(der)
	}()

	cases := []struct {
		name    string
		key     string
		payload []byte
		sig, ts string
		is      error  // errors.Is target, or nil
		text    string // substring of the error
	}{
		{"tampered payload", key.public, tampered, sig, ts, ErrInvalidSignature, "invalid signature"},
		{"wrong key", other.public, payload, sig, ts, ErrInvalidSignature, "invalid signature"},
		{"other timestamp", key.public, payload, sig, strconv.FormatInt(now.Unix(), 10), ErrInvalidSignature, ""},
		{"stale timestamp", key.public, payload, key.sign(t, staleTS, payload), staleTS, ErrStale, "stale"},
		{"future timestamp", key.public, payload, key.sign(t, futureTS, payload), futureTS, ErrStale, "stale"},
		{"malformed timestamp", key.public, payload, sig, "yesterday", nil, "timestamp"},
		{"missing timestamp", key.public, payload, sig, "", nil, "timestamp"},
		{"signature not base64", key.public, payload, "not base64!!", ts, ErrInvalidSignature, "malformed"},
		{"signature not ASN.1", key.public, payload, base64.StdEncoding.EncodeToString([]byte("junk")), ts, ErrInvalidSignature, "malformed"},
		{"missing signature", key.public, payload, "", ts, nil, SendGridSignatureHeader},
		{"no key", "", payload, sig, ts, nil, "key"},
		{"key not base64", "???", payload, sig, ts, nil, "key"},
		{"key not ECDSA", ed25519Key, payload, sig, ts, nil, "not an ECDSA key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := VerifySendGrid(c.key, c.payload, c.sig, c.ts, now, tol)
			if err == nil {
				t.Fatal("accepted")
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %v is not %v", err, c.is)
			}
			if !strings.Contains(err.Error(), c.text) {
				t.Errorf("error %q lacks %q", err, c.text)
			}
		})
	}
}

// SendGrid's own published test vector (sendgrid-go helpers/eventwebhook).
func TestVerifySendGridKnownVector(t *testing.T) {
	const (
		publicKey = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="
		signature = "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM="
		timestamp = "1600112502"
		payload   = "[{\"email\":\"hello@world.com\",\"event\":\"dropped\",\"reason\":\"Bounced Address\",\"sg_event_id\":\"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA\",\"sg_message_id\":\"LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0\",\"smtp-id\":\"<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>\",\"timestamp\":1600112492}]\r\n"
	)
	now := time.Unix(1600112502+60, 0)
	if err := VerifySendGrid(publicKey, []byte(payload), signature, timestamp, now, time.Minute*5); err != nil {
		t.Fatal(err)
	}
	// Trimming the trailing CRLF (a handler "cleaning" the body) breaks it.
	if err := VerifySendGrid(publicKey, []byte(strings.TrimSpace(payload)), signature, timestamp, now, time.Minute*5); !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("trimmed body: %v", err)
	}
	events, err := ParseSendGridEvents([]byte(payload))
	if err != nil || len(events) != 1 || events[0].ProviderMessageID() != "LRzXl_NHStOGhQ4kofSm_A" || events[0].Reason != "Bounced Address" {
		t.Fatalf("%+v %v", events, err)
	}
}

// --- Twilio -----------------------------------------------------------------

// twilioSign is Twilio's algorithm, written independently of twilio-go:
// base64(HMAC-SHA1(token, url + k1 + v1 + k2 + v2 ...)), keys sorted.
func twilioSign(token, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := fullURL
	for _, k := range keys {
		for _, v := range form[k] {
			s += k + v
		}
	}
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func TestVerifyTwilio(t *testing.T) {
	const token = "f00dfacef00dfacef00dfacef00dface"
	const callback = "https://collections.example.com/webhooks/twilio/status?tenant=acme"
	form := url.Values{
		"AccountSid":    {"AC0123456789abcdef0123456789abcdef"},
		"ApiVersion":    {"2010-04-01"},
		"From":          {"+15005550006"},
		"MessageSid":    {"SM0123456789abcdef0123456789abcdef"},
		"MessageStatus": {"undelivered"},
		"SmsSid":        {"SM0123456789abcdef0123456789abcdef"},
		"SmsStatus":     {"undelivered"},
		"To":            {"+14155550123"},
		"ErrorCode":     {"30003"},
	}
	sig := twilioSign(token, callback, form)
	if err := VerifyTwilio(token, callback, form, sig); err != nil {
		t.Fatalf("valid signature refused: %v", err)
	}
	// Twilio sometimes signs with the default port, sometimes without.
	if err := VerifyTwilio(token, "https://collections.example.com:443/webhooks/twilio/status?tenant=acme", form, sig); err != nil {
		t.Fatalf("explicit default port: %v", err)
	}

	tamperedForm := url.Values{}
	for k, v := range form {
		tamperedForm[k] = v
	}
	tamperedForm.Set("MessageStatus", "delivered")
	extraForm := url.Values{"Extra": {"1"}}
	for k, v := range form {
		extraForm[k] = v
	}
	repeated := url.Values{"MessageStatus": {"undelivered", "delivered"}}

	cases := []struct {
		name, token, url string
		form             url.Values
		sig              string
		invalid          bool // errors.Is ErrInvalidSignature
	}{
		{"tampered param", token, callback, tamperedForm, sig, true},
		{"added param", token, callback, extraForm, sig, true},
		{"missing params", token, callback, url.Values{}, sig, true},
		{"wrong url", token, "https://collections.example.com/webhooks/twilio/status?tenant=evil", form, sig, true},
		{"wrong scheme", token, strings.Replace(callback, "https", "http", 1), form, sig, true},
		{"wrong token", "0000facef00dfacef00dfacef00dface", callback, form, sig, true},
		{"garbage signature", token, callback, form, "bm9wZQ==", true},
		{"missing signature", token, callback, form, "", false},
		{"no token", "", callback, form, sig, false},
		{"relative url", token, "/webhooks/twilio/status", form, sig, false},
		{"repeated param", token, callback, repeated, twilioSign(token, callback, repeated), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := VerifyTwilio(c.token, c.url, c.form, c.sig)
			if err == nil {
				t.Fatal("accepted")
			}
			if errors.Is(err, ErrInvalidSignature) != c.invalid {
				t.Errorf("errors.Is(ErrInvalidSignature) = %v: %v", !c.invalid, err)
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}

// Twilio's own test vector (twilio-go client/request_validator_test.go).
func TestVerifyTwilioKnownVector(t *testing.T) {
	form := url.Values{
		"Digits": {"1234"}, "CallSid": {"CA1234567890ABCDE"}, "To": {"+18005551212"},
		"Caller": {"+14158675309"}, "From": {"+14158675309"},
		"ReasonConferenceEnded": {"test"}, "Reason": {"Participant"},
	}
	const u = "https://mycompany.com/myapp.php?foo=1&bar=2"
	if err := VerifyTwilio("12345", u, form, "vOEb5UThFn24KEfnOFLQY2AE5FY="); err != nil {
		t.Fatal(err)
	}
	if got := twilioSign("12345", u, form); got != "vOEb5UThFn24KEfnOFLQY2AE5FY=" {
		t.Fatalf("test signer disagrees with Twilio's vector: %s", got)
	}
}

// --- HMAC -------------------------------------------------------------------

func TestVerifyHMAC(t *testing.T) {
	secret := []byte("whsec_test_0123456789")
	now := time.Unix(1763805700, 0)
	ts := strconv.FormatInt(now.Unix()-10, 10)
	body := []byte(`{"type":"payment.succeeded","invoice_id":"inv-0001","amount_minor":12500,"currency":"EUR"}`)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts + "." + string(body)))
	sig := hex.EncodeToString(mac.Sum(nil))
	if got := hex.EncodeToString(SignHMAC(secret, ts, body)); got != sig {
		t.Fatalf("SignHMAC = %s, want %s", got, sig)
	}
	tol := 5 * time.Minute

	if err := VerifyHMAC(secret, ts, body, sig, now, tol); err != nil {
		t.Fatalf("valid signature refused: %v", err)
	}
	if err := VerifyHMAC(secret, ts, body, strings.ToUpper(sig), now, tol); err != nil {
		t.Fatalf("upper-case hex refused: %v", err)
	}
	if err := VerifyHMAC(secret, ts, body, sig, now.Add(4*time.Minute), tol); err != nil {
		t.Fatalf("within tolerance refused: %v", err)
	}
	if err := VerifyHMAC(secret, ts, body, sig, now, 0); err != nil {
		t.Fatalf("zero tolerance should mean DefaultTolerance: %v", err)
	}

	staleTS := strconv.FormatInt(now.Add(-time.Hour).Unix(), 10)
	staleSig := hex.EncodeToString(SignHMAC(secret, staleTS, body))
	tamperedBody := []byte(strings.Replace(string(body), "12500", "99999", 1))
	cases := []struct {
		name   string
		secret []byte
		ts     string
		body   []byte
		sig    string
		is     error
	}{
		{"tampered body", secret, ts, tamperedBody, sig, ErrInvalidSignature},
		{"other timestamp", secret, strconv.FormatInt(now.Unix(), 10), body, sig, ErrInvalidSignature},
		{"wrong secret", []byte("other"), ts, body, sig, ErrInvalidSignature},
		{"truncated signature", secret, ts, body, sig[:len(sig)-2], ErrInvalidSignature},
		{"not hex", secret, ts, body, "zz" + sig[2:], ErrInvalidSignature},
		{"stale", secret, staleTS, body, staleSig, ErrStale},
		{"future", secret, strconv.FormatInt(now.Add(time.Hour).Unix(), 10), body, sig, ErrStale},
		{"absurd timestamp", secret, "-9223372036854775808", body, sig, ErrStale},
		{"malformed timestamp", secret, "1.5", body, sig, nil},
		{"missing signature", secret, ts, body, "", nil},
		{"no secret", nil, ts, body, sig, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := VerifyHMAC(c.secret, c.ts, c.body, c.sig, now, tol)
			if err == nil {
				t.Fatal("accepted")
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %v is not %v", err, c.is)
			}
			if c.is == ErrStale && !strings.Contains(err.Error(), "stale") {
				t.Errorf("stale error does not say so: %v", err)
			}
		})
	}
}

// --- Events -----------------------------------------------------------------

func TestParseSendGridEvents(t *testing.T) {
	body, err := os.ReadFile("testdata/sendgrid_events.json")
	if err != nil {
		t.Fatal(err)
	}
	events, err := ParseSendGridEvents(body)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, e.Event)
		if e.SGEventID == "" || e.SGMessageID == "" || e.Email == "" || e.Timestamp == 0 || e.MessageID == "" || e.InvoiceID == "" || e.Step == "" {
			t.Errorf("incomplete event: %+v", e)
		}
	}
	want := []string{"processed", "delivered", "bounce", "dropped", "deferred", "open", "spamreport", "unsubscribe"}
	if !reflect.DeepEqual(kinds, want) {
		t.Fatalf("events %v, want %v", kinds, want)
	}
	bounce := events[2]
	wantBounce := SendGridEvent{
		Email: "nobody@invalid-domain.example", Timestamp: 1763805611, Event: "bounce",
		SGEventID:   "Ym91bmNlLTEtMTIzNDU2NzgtWGsycU4zbFFTUGFWcTFmTjBWOWRZdy0w",
		SGMessageID: "Xk2qN3lQSPaVq1fN0V9dYw.filterdrecv-p3las1-5bf99c48d-wkt9h-19-5E1CD1F7-3.0",
		Reason:      "550 5.1.1 The email account that you tried to reach does not exist.", Type: "bounce",
		MessageID: "0193a7c0-0002-7000-8000-000000000002", InvoiceID: "inv-0002", Step: "notify",
	}
	if bounce != wantBounce {
		t.Errorf("bounce = %+v\nwant     %+v", bounce, wantBounce)
	}
	if got := bounce.ProviderMessageID(); got != "Xk2qN3lQSPaVq1fN0V9dYw" {
		t.Errorf("ProviderMessageID = %q", got)
	}
	if events[3].Reason != "Bounced Address" || events[1].Reason != "" {
		t.Errorf("reasons: dropped %q, delivered %q", events[3].Reason, events[1].Reason)
	}

	empty, err := ParseSendGridEvents([]byte(" [ ] \n"))
	if err != nil || empty == nil || len(empty) != 0 {
		t.Errorf("empty batch: %v %v", empty, err)
	}

	for _, bad := range []string{"", "   ", "null", `{"event":"delivered"}`, `"x"`, `[{"event":"delivered"}`, `[1,2]`,
		`[{"timestamp":"yesterday"}]`, `[{"event":"open"}] trailing`} {
		if _, err := ParseSendGridEvents([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		} else if !strings.HasPrefix(err.Error(), "sendgrid events: ") {
			t.Errorf("%q: unclear error %v", bad, err)
		}
	}
}

func FuzzParseSendGridEvents(f *testing.F) {
	body, err := os.ReadFile("testdata/sendgrid_events.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(body)
	for _, s := range []string{"", "[]", "null", "{}", `[{}]`, `[{"timestamp":1e400}]`, `[{"email":"\ud800"}]`, "[" + strings.Repeat("[", 100)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		events, err := ParseSendGridEvents(data)
		if err != nil {
			if events != nil {
				t.Fatal("events with an error")
			}
			return
		}
		if events == nil {
			t.Fatal("nil events without an error")
		}
		// What was parsed survives a round trip unchanged.
		again, err := json.Marshal(events)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseSendGridEvents(again)
		if err != nil || !reflect.DeepEqual(back, events) {
			t.Fatalf("round trip: %v\n%+v\n%+v", err, events, back)
		}
	})
}
