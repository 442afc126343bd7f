// Package webhooks verifies provider callbacks — SendGrid's signed event
// webhook, Twilio's status callbacks and our own payments webhook — and
// parses their payloads. Everything here is a pure function of its inputs
// (the clock included); the HTTP handlers that read requests, call these and
// hand the event to a business action live in hooks/.
//
// Handlers must verify the raw request body exactly as received, before any
// decoding, and should cap its size (http.MaxBytesReader) first.
package webhooks

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sendgrid/sendgrid-go/helpers/eventwebhook"
	"github.com/twilio/twilio-go/client"
)

// Request headers carrying the signatures.
const (
	SendGridSignatureHeader = eventwebhook.VerificationHTTPHeader // X-Twilio-Email-Event-Webhook-Signature
	SendGridTimestampHeader = eventwebhook.TimestampHTTPHeader    // X-Twilio-Email-Event-Webhook-Timestamp
	TwilioSignatureHeader   = "X-Twilio-Signature"
)

// DefaultTolerance is the accepted clock difference between a signed
// timestamp and now when a caller passes a tolerance <= 0.
const DefaultTolerance = 5 * time.Minute

var (
	// ErrInvalidSignature: the signature does not match the payload and key.
	ErrInvalidSignature = errors.New("invalid signature")
	// ErrStale: the signed timestamp is outside the tolerance (a replay or a
	// badly skewed clock).
	ErrStale = errors.New("stale timestamp")
)

// VerifySendGrid checks SendGrid's signed event webhook: signatureB64 is an
// ECDSA (P-256, SHA-256, ASN.1 DER, base64) signature of timestamp+payload by
// the key whose base64 PKIX form SendGrid shows in its settings. timestamp
// (unix seconds) must lie within ±tolerance of now. payload is the raw body.
// It uses eventwebhook.ConvertPublicKeyBase64ToECDSA and
// eventwebhook.VerifySignature.
func VerifySendGrid(publicKeyBase64 string, payload []byte, signatureB64, timestamp string, now time.Time, tolerance time.Duration) error {
	if publicKeyBase64 == "" {
		return errors.New("sendgrid webhook: no verification key configured")
	}
	if signatureB64 == "" {
		return fmt.Errorf("sendgrid webhook: missing %s", SendGridSignatureHeader)
	}
	if err := checkFresh(timestamp, now, tolerance); err != nil {
		return fmt.Errorf("sendgrid webhook: %w", err)
	}
	// eventwebhook.ConvertPublicKeyBase64ToECDSA panics on a valid key of
	// another type (RSA, Ed25519); refuse those first.
	if der, err := base64.StdEncoding.DecodeString(publicKeyBase64); err == nil {
		if pk, err := x509.ParsePKIXPublicKey(der); err == nil {
			if _, ok := pk.(*ecdsa.PublicKey); !ok {
				return fmt.Errorf("sendgrid webhook: verification key is a %T, not an ECDSA key", pk)
			}
		}
	}
	key, err := eventwebhook.ConvertPublicKeyBase64ToECDSA(publicKeyBase64)
	if err != nil {
		return fmt.Errorf("sendgrid webhook: verification key: %v", err)
	}
	ok, err := eventwebhook.VerifySignature(key, payload, signatureB64, timestamp)
	if err != nil {
		return fmt.Errorf("sendgrid webhook: %w: malformed: %v", ErrInvalidSignature, err)
	}
	if !ok {
		return fmt.Errorf("sendgrid webhook: %w", ErrInvalidSignature)
	}
	return nil
}

// VerifyTwilio checks the X-Twilio-Signature of a callback with twilio-go's
// client.RequestValidator: HMAC-SHA1 keyed with the auth token over fullURL
// followed by each POST parameter's name and value sorted by name, base64.
//
// fullURL is the URL Twilio requested, exactly as configured in Twilio
// (scheme, host and query included: behind a proxy rebuild it from the
// public base URL, not from r.Host). form holds only the POST body
// parameters (r.PostForm, not r.Form, whose query parameters are already in
// fullURL); for GET callbacks pass an empty form. A parameter sent more than
// once is refused: the validator signs one value per name, so the others
// would go unverified.
func VerifyTwilio(authToken, fullURL string, form url.Values, signature string) error {
	if authToken == "" {
		return errors.New("twilio webhook: no auth token configured")
	}
	if signature == "" {
		return fmt.Errorf("twilio webhook: missing %s", TwilioSignatureHeader)
	}
	if _, err := url.Parse(fullURL); err != nil || !strings.Contains(fullURL, "://") {
		return fmt.Errorf("twilio webhook: %q is not an absolute URL", fullURL)
	}
	params := make(map[string]string, len(form))
	for k, vs := range form {
		if len(vs) != 1 {
			return fmt.Errorf("twilio webhook: parameter %q sent %d times", k, len(vs))
		}
		params[k] = vs[0]
	}
	validator := client.NewRequestValidator(authToken)
	if !validator.Validate(fullURL, params, signature) {
		return fmt.Errorf("twilio webhook: %w", ErrInvalidSignature)
	}
	return nil
}

// VerifyHMAC checks our generic payments webhook: signatureHex is
// hex(HMAC-SHA256(secret, timestamp + "." + body)), compared in constant
// time, and timestamp (unix seconds) must lie within ±tolerance of now.
func VerifyHMAC(secret []byte, timestamp string, body []byte, signatureHex string, now time.Time, tolerance time.Duration) error {
	if len(secret) == 0 {
		return errors.New("payments webhook: no secret configured")
	}
	if signatureHex == "" {
		return errors.New("payments webhook: missing signature")
	}
	if err := checkFresh(timestamp, now, tolerance); err != nil {
		return fmt.Errorf("payments webhook: %w", err)
	}
	got, err := hex.DecodeString(signatureHex)
	if err != nil {
		return fmt.Errorf("payments webhook: %w: malformed (want hex)", ErrInvalidSignature)
	}
	if !hmac.Equal(got, SignHMAC(secret, timestamp, body)) {
		return fmt.Errorf("payments webhook: %w", ErrInvalidSignature)
	}
	return nil
}

// SignHMAC is the payments webhook signature (raw bytes; hex-encode it for
// the header): HMAC-SHA256(secret, timestamp + "." + body).
func SignHMAC(secret []byte, timestamp string, body []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(timestamp))
	mac.Write([]byte("."))
	mac.Write(body)
	return mac.Sum(nil)
}

// checkFresh parses a unix-seconds timestamp and checks it is within
// ±tolerance (DefaultTolerance if tolerance <= 0) of now.
func checkFresh(timestamp string, now time.Time, tolerance time.Duration) error {
	if timestamp == "" {
		return errors.New("missing timestamp")
	}
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("malformed timestamp %q (want unix seconds)", truncate(timestamp, 40))
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	// Compare in seconds: time.Unix(sec, 0).Sub overflows for absurd values.
	diff := now.Unix() - sec
	limit := int64(tolerance / time.Second)
	if diff > limit || diff < -limit {
		return fmt.Errorf("%w: %s is %ds from now, tolerance %s", ErrStale, timestamp, diff, tolerance)
	}
	return nil
}

// SendGridEvent is one event of a SendGrid event webhook batch. SendGrid
// flattens the message's custom arguments into the event object, so the
// message_id, invoice_id and step the SendGrid sender attaches arrive as
// top-level fields. Fields an event type does not carry are empty.
type SendGridEvent struct {
	Email       string `json:"email"`
	Timestamp   int64  `json:"timestamp"`     // unix seconds
	Event       string `json:"event"`         // processed, delivered, deferred, bounce, dropped, open, click, spamreport, unsubscribe, group_unsubscribe, group_resubscribe
	SGEventID   string `json:"sg_event_id"`   // unique per event; deduplicate on it
	SGMessageID string `json:"sg_message_id"` // X-Message-Id + "." + SendGrid's suffix
	Reason      string `json:"reason,omitempty"`
	Type        string `json:"type,omitempty"` // bounce: "bounce" or "blocked"

	MessageID string `json:"message_id,omitempty"` // our custom args
	InvoiceID string `json:"invoice_id,omitempty"`
	Step      string `json:"step,omitempty"`
}

// ProviderMessageID is the X-Message-Id SendGrid returned when the message
// was sent: sg_message_id up to its first dot.
func (e SendGridEvent) ProviderMessageID() string {
	id, _, _ := strings.Cut(e.SGMessageID, ".")
	return id
}

// ParseSendGridEvents decodes an event webhook body: a JSON array of event
// objects. Unknown fields are ignored.
func ParseSendGridEvents(body []byte) ([]SendGridEvent, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, errors.New("sendgrid events: empty body")
	}
	if trimmed[0] != '[' {
		return nil, fmt.Errorf("sendgrid events: want a JSON array of events, body starts with %q", truncate(string(trimmed), 20))
	}
	var events []SendGridEvent
	if err := json.Unmarshal(trimmed, &events); err != nil {
		return nil, fmt.Errorf("sendgrid events: %w", err)
	}
	if events == nil {
		events = []SendGridEvent{}
	}
	return events, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
