package channels

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/twilio/twilio-go/client"
)

// DefaultTwilioBaseURL is Twilio's REST API host.
const DefaultTwilioBaseURL = "https://api.twilio.com"

// e164 is an international phone number: +, country code, subscriber number.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// twilioSID is an account or service SID: two letters and 32 hex digits.
// twilio-go also refuses credentials that are not alphanumeric.
var twilioSID = regexp.MustCompile(`^[A-Z]{2}[0-9a-fA-F]{32}$`)

// twilioPermanentCodes are Twilio error codes no retry can fix.
var twilioPermanentCodes = map[int]string{
	21211: "invalid 'To' number",
	21214: "'To' number cannot be reached",
	21408: "permission to send to this region is not enabled",
	21610: "recipient has opted out (STOP)",
	21614: "'To' number is not a mobile number",
}

// TwilioConfig configures the Twilio SMS sender. Exactly one of From and
// MessagingServiceSID is set.
type TwilioConfig struct {
	AccountSID          string // TWILIO_ACCOUNT_SID, AC...
	AuthToken           string // secret; TWILIO_AUTH_TOKEN
	From                string // E.164 number; TWILIO_FROM_NUMBER
	MessagingServiceSID string // MG..., alternative to From; TWILIO_MESSAGING_SERVICE_SID
	StatusCallbackURL   string // optional; TWILIO_STATUS_CALLBACK_URL
	BaseURL             string // default DefaultTwilioBaseURL; tests point it at a fake
	Timeout             time.Duration
}

// String describes the config without the auth token.
func (c TwilioConfig) String() string {
	return fmt.Sprintf("TwilioConfig{AccountSID:%q AuthToken:%s From:%q MessagingServiceSID:%q StatusCallbackURL:%q BaseURL:%q Timeout:%s}",
		c.AccountSID, redacted(c.AuthToken), c.From, c.MessagingServiceSID, c.StatusCallbackURL, c.BaseURL, c.Timeout)
}

// GoString keeps %#v from printing the auth token.
func (c TwilioConfig) GoString() string { return c.String() }

// LogValue keeps slog (JSON handler included) from printing the auth token.
func (c TwilioConfig) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Twilio sends SMS through Twilio's Programmable Messaging API
// (POST /2010-04-01/Accounts/{sid}/Messages.json) with twilio-go's client
// package: its Client (credentials, basic auth, User-Agent, Twilio's error
// JSON as *client.TwilioRestError) and RequestHandler (TWILIO_EDGE and
// TWILIO_REGION), the same layer twilio-go's generated rest/api/v2010 calls.
// We build the form and read the answer's sid ourselves, so the ~47k lines of
// rest/api/v2010 and the root package's ~270k lines of rest/... are not
// linked (docs/build.md).
//
// Concurrency: a *Twilio is safe for concurrent use. twilio-go builds its
// requests with context.Background() and keeps no per-request state we could
// hook, so every Send builds its own twilio-go client around a per-call
// http.Client whose RoundTripper carries that call's context (caller's
// cancellation plus Timeout) and, for tests, rewrites the host to BaseURL.
// The only state shared between calls is the *http.Transport (connection
// pool, safe for concurrent use) and immutable configuration.
type Twilio struct {
	cfg       TwilioConfig
	target    *url.URL // nil: talk to Twilio itself
	timeout   time.Duration
	transport http.RoundTripper
	describe  string
}

// NewTwilio checks cfg and builds the sender.
func NewTwilio(cfg TwilioConfig) (*Twilio, error) {
	var problems []string
	switch {
	case cfg.AccountSID == "":
		problems = append(problems, "AccountSID (TWILIO_ACCOUNT_SID) is required")
	case !twilioSID.MatchString(cfg.AccountSID) || !strings.HasPrefix(cfg.AccountSID, "AC"):
		problems = append(problems, "AccountSID (TWILIO_ACCOUNT_SID) must look like AC followed by 32 hex digits")
	}
	switch {
	case cfg.AuthToken == "":
		problems = append(problems, "AuthToken (TWILIO_AUTH_TOKEN) is required")
	case !isAlnum(cfg.AuthToken):
		// twilio-go would refuse it on every request with error 21224.
		problems = append(problems, "AuthToken (TWILIO_AUTH_TOKEN) must be alphanumeric")
	}
	switch {
	case cfg.From == "" && cfg.MessagingServiceSID == "":
		problems = append(problems, "one of From (TWILIO_FROM_NUMBER) or MessagingServiceSID (TWILIO_MESSAGING_SERVICE_SID) is required")
	case cfg.From != "" && cfg.MessagingServiceSID != "":
		problems = append(problems, "set only one of From (TWILIO_FROM_NUMBER) and MessagingServiceSID (TWILIO_MESSAGING_SERVICE_SID)")
	case cfg.From != "" && !e164.MatchString(cfg.From):
		problems = append(problems, fmt.Sprintf("From (TWILIO_FROM_NUMBER) %q is not an E.164 number like +14155550100", cfg.From))
	case cfg.MessagingServiceSID != "" && (!twilioSID.MatchString(cfg.MessagingServiceSID) || !strings.HasPrefix(cfg.MessagingServiceSID, "MG")):
		problems = append(problems, fmt.Sprintf("MessagingServiceSID (TWILIO_MESSAGING_SERVICE_SID) %q must look like MG followed by 32 hex digits", cfg.MessagingServiceSID))
	}
	if cfg.StatusCallbackURL != "" {
		if u, err := url.Parse(cfg.StatusCallbackURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			problems = append(problems, fmt.Sprintf("StatusCallbackURL (TWILIO_STATUS_CALLBACK_URL) %q is not an absolute http(s) URL", cfg.StatusCallbackURL))
		}
	}
	var target *url.URL
	if cfg.BaseURL != "" {
		raw, err := baseURL(cfg.BaseURL, DefaultTwilioBaseURL)
		if err == nil {
			target, err = url.Parse(raw)
		}
		if err != nil {
			problems = append(problems, "BaseURL: "+err.Error())
		}
	}
	if len(problems) > 0 {
		return nil, errors.New("twilio: " + redact(strings.Join(problems, "; "), cfg.AuthToken))
	}

	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	var transport http.RoundTripper = http.DefaultTransport
	if dt, ok := transport.(*http.Transport); ok {
		transport = dt.Clone() // our own connection pool
	}
	t := &Twilio{cfg: cfg, target: target, timeout: timeout, transport: transport}
	if cfg.From != "" {
		t.describe = "twilio (from " + cfg.From + ")"
	} else {
		t.describe = "twilio (messaging service " + cfg.MessagingServiceSID + ")"
	}
	return t, nil
}

// Provider names Twilio in the message log.
func (*Twilio) Provider() string { return "twilio" }

// String describes the sender without its auth token.
func (t *Twilio) String() string { return t.describe }

// GoString keeps the auth token out of %#v as well.
func (t *Twilio) GoString() string { return t.describe }

// Send creates a Message resource and returns its SID (SM...).
//
// A To that is not E.164 is refused without calling Twilio, as Permanent.
// Twilio errors 21211, 21214, 21408, 21610, 21614 and HTTP 4xx other than
// 408 and 429 (400, 401, 403, 404 included) are Permanent; 408, 429, 5xx,
// network errors and timeouts are plain, retryable errors.
func (t *Twilio) Send(ctx context.Context, m Message) (string, error) {
	if !e164.MatchString(m.To) {
		return "", Permanent(fmt.Errorf("twilio: recipient %q is not an E.164 number", m.To))
	}
	if m.Body == "" {
		return "", Permanent(errors.New("twilio: message has no body"))
	}

	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	rt := &twilioRoundTripper{ctx: ctx, base: t.transport, target: t.target}
	httpClient := &http.Client{
		Transport: rt,
		Timeout:   t.timeout,
		// twilio-go's own default: do not follow redirects.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	c := &client.Client{Credentials: client.NewCredentials(t.cfg.AccountSID, t.cfg.AuthToken), HTTPClient: httpClient}
	c.SetAccountSid(t.cfg.AccountSID)

	// The form twilio-go's rest/api/v2010 CreateMessage sends for the
	// parameters we set, posted through the same RequestHandler.
	form := url.Values{}
	form.Set("To", m.To)
	if t.cfg.StatusCallbackURL != "" {
		form.Set("StatusCallback", t.cfg.StatusCallbackURL)
	}
	if t.cfg.From != "" {
		form.Set("From", t.cfg.From)
	} else {
		form.Set("MessagingServiceSid", t.cfg.MessagingServiceSID)
	}
	form.Set("Body", m.Body)
	headers := map[string]any{"Content-Type": "application/x-www-form-urlencoded"}
	endpoint := DefaultTwilioBaseURL + "/2010-04-01/Accounts/" + t.cfg.AccountSID + "/Messages.json"

	resp, err := client.NewRequestHandler(c).Post(endpoint, form, headers, "")
	if err != nil {
		return "", t.classify(err, rt.status)
	}
	defer resp.Body.Close()
	var msg twilioMessage
	if err := json.NewDecoder(resp.Body).Decode(&msg); err != nil {
		return "", t.classify(err, rt.status)
	}
	if msg.Sid == "" {
		// Twilio may have accepted the message; a retry can duplicate it,
		// but the message log's claim on our message id guards the workflow.
		return "", fmt.Errorf("twilio: HTTP %d response carries no message sid", rt.status)
	}
	return msg.Sid, nil
}

// twilioMessage is the part of Twilio's Message resource we use.
type twilioMessage struct {
	Sid string `json:"sid"`
}

// classify turns a twilio-go error into a Permanent or retryable error.
// status is the HTTP status seen on the wire (0 if no response arrived).
func (t *Twilio) classify(err error, status int) error {
	var restErr *client.TwilioRestError
	if errors.As(err, &restErr) {
		if status == 0 {
			status = restErr.Status
		}
		msg := restErr.Message
		if restErr.MoreInfo != "" {
			msg += " (" + restErr.MoreInfo + ")"
		}
		apiErr := &APIError{Provider: "twilio", StatusCode: status, Code: restErr.Code,
			Message: redact(truncateText(msg, 500), t.cfg.AuthToken)}
		if _, ok := twilioPermanentCodes[restErr.Code]; ok || permanentStatus(status) {
			return Permanent(apiErr)
		}
		return apiErr
	}
	if status >= 300 {
		// An error answer whose body was not Twilio's JSON (a proxy's HTML page).
		apiErr := &APIError{Provider: "twilio", StatusCode: status}
		if permanentStatus(status) {
			return Permanent(apiErr)
		}
		return apiErr
	}
	return &providerError{msg: redact("twilio: send: "+err.Error(), t.cfg.AuthToken), err: err}
}

// twilioRoundTripper belongs to one Send: it gives twilio-go's requests
// (built with context.Background()) that call's context, points them at
// target when set, and records the HTTP status of the answer.
type twilioRoundTripper struct {
	ctx    context.Context
	base   http.RoundTripper
	target *url.URL
	status int // written and read on the goroutine running Send
}

func (rt *twilioRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	out := req.Clone(rt.ctx)
	if rt.target != nil {
		out.URL.Scheme = rt.target.Scheme
		out.URL.Host = rt.target.Host
		out.URL.Path = strings.TrimSuffix(rt.target.Path, "/") + out.URL.Path
		out.URL.RawPath = ""
		out.Host = ""
	}
	resp, err := rt.base.RoundTrip(out)
	if resp != nil {
		rt.status = resp.StatusCode
	}
	return resp, err
}

func isAlnum(s string) bool {
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}
