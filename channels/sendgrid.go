package channels

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sendgrid/rest"
	"github.com/sendgrid/sendgrid-go"
	"github.com/sendgrid/sendgrid-go/helpers/mail"
)

// DefaultSendGridBaseURL is SendGrid's API host.
const DefaultSendGridBaseURL = "https://api.sendgrid.com"

// DefaultTimeout bounds one provider call (connect, request, response body)
// when a config leaves Timeout zero.
const DefaultTimeout = 10 * time.Second

// sendGridCategory is attached to every email so SendGrid's statistics and
// event webhook can tell collections mail apart from other mail on the account.
const sendGridCategory = "collections"

// SendGridConfig configures the SendGrid email sender.
type SendGridConfig struct {
	APIKey    string // secret; SENDGRID_API_KEY
	FromEmail string // SENDGRID_FROM_EMAIL
	FromName  string // SENDGRID_FROM_NAME
	ReplyTo   string // optional; SENDGRID_REPLY_TO
	Sandbox   bool   // SendGrid validates but does not deliver; SENDGRID_SANDBOX
	// InboundDomain, when set, gives every email a reply-to address on it
	// that names the message (ReplyAddress) and a Message-ID on it, so that
	// replies come back through SendGrid Inbound Parse to the invoice;
	// INBOUND_EMAIL_DOMAIN. It overrides ReplyTo.
	InboundDomain string
	// InboundSecret keys the reply-to address's tag; INBOUND_EMAIL_SECRET.
	InboundSecret string
	BaseURL       string // default DefaultSendGridBaseURL; tests point it at a fake
	Timeout       time.Duration
}

// String describes the config without the API key.
func (c SendGridConfig) String() string {
	return fmt.Sprintf("SendGridConfig{APIKey:%s FromEmail:%q FromName:%q ReplyTo:%q Sandbox:%t InboundDomain:%q InboundSecret:%s BaseURL:%q Timeout:%s}",
		redacted(c.APIKey), c.FromEmail, c.FromName, c.ReplyTo, c.Sandbox, c.InboundDomain, redacted(c.InboundSecret), c.BaseURL, c.Timeout)
}

// GoString keeps %#v from printing the API key.
func (c SendGridConfig) GoString() string { return c.String() }

// LogValue keeps slog (JSON handler included) from printing the API key.
func (c SendGridConfig) LogValue() slog.Value { return slog.StringValue(c.String()) }

// SendGrid sends email through SendGrid's Mail Send v3 API.
//
// Concurrency: a *SendGrid is safe for concurrent use. The only state shared
// between calls is the *http.Client (safe for concurrent use by design) and
// immutable configuration; each Send builds its own rest.Request (headers map
// and body included) and never uses sendgrid.DefaultClient or
// rest.DefaultClient, which are package globals without a timeout.
type SendGrid struct {
	key      string
	from     *mail.Email
	replyTo  *mail.Email
	inbound  string // the inbound domain, or ""
	secret   string // keys reply-to tags
	sandbox  bool
	host     string
	timeout  time.Duration
	client   *rest.Client
	describe string
}

// NewSendGrid checks cfg and builds the sender.
func NewSendGrid(cfg SendGridConfig) (*SendGrid, error) {
	if strings.TrimSpace(cfg.APIKey) == "" {
		return nil, errors.New("sendgrid: APIKey (SENDGRID_API_KEY) is required")
	}
	if strings.TrimSpace(cfg.FromEmail) == "" {
		return nil, errors.New("sendgrid: FromEmail (SENDGRID_FROM_EMAIL) is required")
	}
	from, err := mail.ParseEmail(cfg.FromEmail)
	if err != nil {
		return nil, fmt.Errorf("sendgrid: FromEmail (SENDGRID_FROM_EMAIL) %q: %v", cfg.FromEmail, err)
	}
	if cfg.FromName != "" {
		from.Name = cfg.FromName
	}
	var replyTo *mail.Email
	if cfg.ReplyTo != "" {
		if replyTo, err = mail.ParseEmail(cfg.ReplyTo); err != nil {
			return nil, fmt.Errorf("sendgrid: ReplyTo (SENDGRID_REPLY_TO) %q: %v", cfg.ReplyTo, err)
		}
	}
	inbound := strings.ToLower(strings.TrimSpace(cfg.InboundDomain))
	if inbound != "" {
		if _, err := mail.ParseEmail("x@" + inbound); err != nil || strings.ContainsAny(inbound, "@<> ") {
			return nil, fmt.Errorf("sendgrid: InboundDomain (INBOUND_EMAIL_DOMAIN) %q is not a domain", cfg.InboundDomain)
		}
		if len(cfg.InboundSecret) < 16 {
			return nil, errors.New("sendgrid: InboundSecret (INBOUND_EMAIL_SECRET) of at least 16 characters is required with INBOUND_EMAIL_DOMAIN")
		}
	}
	host, err := baseURL(cfg.BaseURL, DefaultSendGridBaseURL)
	if err != nil {
		return nil, fmt.Errorf("sendgrid: BaseURL: %v", err)
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	s := &SendGrid{
		key: cfg.APIKey, from: from, replyTo: replyTo, inbound: inbound, secret: cfg.InboundSecret, sandbox: cfg.Sandbox, host: host, timeout: timeout,
		client: &rest.Client{HTTPClient: &http.Client{
			Timeout: timeout,
			// A redirect from the mail API is a misconfiguration; surface it
			// as a non-2xx answer instead of replaying the POST elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}},
	}
	s.describe = "sendgrid (from " + from.Address
	if cfg.Sandbox {
		s.describe += ", sandbox"
	}
	s.describe += ")"
	return s, nil
}

// Provider names SendGrid in the message log.
func (*SendGrid) Provider() string { return "sendgrid" }

// String describes the sender without its API key.
func (s *SendGrid) String() string { return s.describe }

// GoString keeps the API key out of %#v as well.
func (s *SendGrid) GoString() string { return s.describe }

// Send posts m to /v3/mail/send and returns SendGrid's X-Message-Id.
//
// 2xx is success; 400, 401, 403 and 413 (and any other 4xx but 408 and 429)
// come back wrapped in Permanent; 408, 429, 5xx, network errors and
// timeouts come back as plain, retryable errors.
func (s *SendGrid) Send(ctx context.Context, m Message) (string, error) {
	to, err := mail.ParseEmail(m.To)
	if err != nil {
		return "", Permanent(fmt.Errorf("sendgrid: invalid recipient %q: %v", m.To, err))
	}
	text, htmlBody := m.Body, m.HTML
	if htmlBody == "" && text != "" {
		htmlBody = TextToHTML(text)
	}
	if text == "" && htmlBody == "" {
		return "", Permanent(errors.New("sendgrid: message has no body"))
	}

	// NewSingleEmail adds text/plain before text/html, the order SendGrid requires.
	email := mail.NewSingleEmail(s.from, m.Subject, to, text, htmlBody)
	switch {
	case s.inbound != "" && m.ID != "":
		// Derived from the message id alone: a retried send is identical.
		email.SetReplyTo(mail.NewEmail(s.from.Name, ReplyAddress(s.secret, s.inbound, m.ID)))
		email.SetHeader("Message-ID", MessageIDHeader(s.inbound, m.ID))
	case s.replyTo != nil:
		email.SetReplyTo(s.replyTo)
	}
	for _, arg := range [...]struct{ k, v string }{{"message_id", m.ID}, {"invoice_id", m.InvoiceID}, {"step", m.Step}} {
		if arg.v != "" { // SendGrid rejects empty custom argument values
			email.SetCustomArg(arg.k, arg.v)
		}
	}
	for _, a := range m.Attachments {
		email.AddAttachment(mail.NewAttachment().SetFilename(a.Filename).SetType(a.ContentType).
			SetDisposition("attachment").SetContent(base64.StdEncoding.EncodeToString(a.Content)))
	}
	email.AddCategories(sendGridCategory)
	if s.sandbox {
		email.SetMailSettings(mail.NewMailSettings().SetSandboxMode(mail.NewSetting(true)))
	}
	body, err := json.Marshal(email) // mail.GetRequestBody would log and drop the error
	if err != nil {
		return "", Permanent(fmt.Errorf("sendgrid: encode message: %v", err))
	}

	req := sendgrid.GetRequest(s.key, "/v3/mail/send", s.host)
	req.Method = rest.Post
	req.Body = body
	req.Headers["Content-Type"] = "application/json"

	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.client.SendWithContext(ctx, req)
	if err != nil {
		return "", &providerError{msg: redact("sendgrid: send: "+err.Error(), s.key), err: err}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// Sandbox answers 200 without a message id; that is still success.
		return http.Header(resp.Headers).Get("X-Message-Id"), nil
	}
	apiErr := &APIError{Provider: "sendgrid", StatusCode: resp.StatusCode,
		Message: redact(sendGridErrorText(resp.Body), s.key)}
	if permanentStatus(resp.StatusCode) {
		return "", Permanent(apiErr)
	}
	return "", apiErr
}

// sendGridErrorText extracts the messages of SendGrid's error body,
// {"errors":[{"message":"...","field":"...","help":...}]}.
func sendGridErrorText(body string) string {
	var parsed struct {
		Errors []struct {
			Message string `json:"message"`
			Field   any    `json:"field"`
		} `json:"errors"`
	}
	if json.Unmarshal([]byte(body), &parsed) != nil {
		return ""
	}
	var parts []string
	for _, e := range parsed.Errors {
		if e.Message == "" {
			continue
		}
		if f, ok := e.Field.(string); ok && f != "" {
			parts = append(parts, e.Message+" (field "+f+")")
		} else {
			parts = append(parts, e.Message)
		}
	}
	return truncateText(strings.Join(parts, "; "), 500)
}

// TextToHTML renders a plain-text body as HTML: the text is escaped, blank
// lines separate paragraphs and single newlines become <br>.
func TextToHTML(text string) string {
	text = strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\r", "\n")
	var b strings.Builder
	var para []string
	flush := func() {
		if len(para) == 0 {
			return
		}
		b.WriteString("<p>")
		for i, line := range para {
			if i > 0 {
				b.WriteString("<br>\n")
			}
			b.WriteString(html.EscapeString(line))
		}
		b.WriteString("</p>\n")
		para = para[:0]
	}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, " \t")
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		para = append(para, line)
	}
	flush()
	return b.String()
}

// APIError is a provider's non-2xx answer. Whether it is retryable is told
// by IsPermanent on the error Send returns, not by this type.
type APIError struct {
	Provider   string // "sendgrid", "twilio"
	StatusCode int    // HTTP status
	Code       int    // the provider's error code (Twilio); 0 if none
	Message    string // the provider's explanation, secrets removed; may be empty
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: HTTP %d", e.Provider, e.StatusCode)
	if t := http.StatusText(e.StatusCode); t != "" {
		b.WriteString(" " + t)
	}
	if e.Code != 0 {
		fmt.Fprintf(&b, ": error %d", e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// providerError is a transport failure (network, timeout, cancellation):
// retryable, its text scrubbed of secrets, the cause kept for errors.Is.
type providerError struct {
	msg string
	err error
}

func (e *providerError) Error() string { return e.msg }
func (e *providerError) Unwrap() error { return e.err }

// permanentStatus reports whether retrying a request the provider answered
// with status can never succeed: every 4xx except 408 (request timeout) and
// 429 (rate limited). 5xx and anything unexpected are worth a retry.
func permanentStatus(status int) bool {
	return status >= 400 && status < 500 && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests
}

// redact removes every non-empty secret from s.
func redact(s string, secrets ...string) string {
	for _, secret := range secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "[REDACTED]")
		}
	}
	return s
}

// redacted describes a secret for logs: whether it is set, never its value.
func redacted(secret string) string {
	if secret == "" {
		return "(unset)"
	}
	return "[REDACTED]"
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// baseURL validates an override of a provider's API host, or returns def.
func baseURL(raw, def string) (string, error) {
	if raw == "" {
		return def, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q is not an absolute http(s) URL", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q must not carry credentials, a query or a fragment", raw)
	}
	return strings.TrimSuffix(raw, "/"), nil
}
