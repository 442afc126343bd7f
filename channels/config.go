package channels

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/collections-engine/collections/policy"
)

// Config chooses and configures the provider of each channel. A channel
// whose provider is not configured falls back to the dev outbox.
type Config struct {
	SendGrid SendGridConfig
	Twilio   TwilioConfig

	// invalid names environment variables whose values could not be parsed;
	// Senders refuses to start with them rather than guess.
	invalid []string
}

// ConfigFromEnv reads the provider settings from the environment through
// getenv (os.Getenv in production). Values are trimmed of surrounding space.
//
//	SENDGRID_API_KEY, SENDGRID_FROM_EMAIL, SENDGRID_FROM_NAME, SENDGRID_REPLY_TO,
//	SENDGRID_SANDBOX ("true"/"1"; "false"/"0"/empty: off),
//	INBOUND_EMAIL_DOMAIN, INBOUND_EMAIL_SECRET (reply-to addresses that route
//	replies back, see ReplyAddress),
//	TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER,
//	TWILIO_MESSAGING_SERVICE_SID, TWILIO_STATUS_CALLBACK_URL,
//	SENDGRID_BASE_URL, TWILIO_BASE_URL (the API hosts; for a regional
//	SendGrid host such as https://api.eu.sendgrid.com, a proxy, or a fake in
//	fault-injection tests; empty: the providers' own)
func ConfigFromEnv(getenv func(string) string) Config {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	var c Config
	c.SendGrid = SendGridConfig{
		APIKey:    get("SENDGRID_API_KEY"),
		FromEmail: get("SENDGRID_FROM_EMAIL"),
		FromName:  get("SENDGRID_FROM_NAME"),
		ReplyTo:   get("SENDGRID_REPLY_TO"),
		// Replies come back through SendGrid Inbound Parse (hooks).
		InboundDomain: get("INBOUND_EMAIL_DOMAIN"),
		InboundSecret: get("INBOUND_EMAIL_SECRET"),
		BaseURL:       get("SENDGRID_BASE_URL"),
	}
	if v := get("SENDGRID_SANDBOX"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			// A typo must not silently turn sandbox off and mail real customers.
			c.invalid = append(c.invalid, fmt.Sprintf("SENDGRID_SANDBOX=%q is not true/false/1/0", v))
		}
		c.SendGrid.Sandbox = b
	}
	c.Twilio = TwilioConfig{
		AccountSID:          get("TWILIO_ACCOUNT_SID"),
		AuthToken:           get("TWILIO_AUTH_TOKEN"),
		From:                get("TWILIO_FROM_NUMBER"),
		MessagingServiceSID: get("TWILIO_MESSAGING_SERVICE_SID"),
		StatusCallbackURL:   get("TWILIO_STATUS_CALLBACK_URL"),
		BaseURL:             get("TWILIO_BASE_URL"),
	}
	return c
}

// Senders builds the sender of each channel: SendGrid for email when its API
// key is set, Twilio for SMS when its account SID is set, outbox otherwise.
// The returned lines describe the choice per channel for a start-up log
// ("email: sendgrid (from ar@example.com)", "sms: dev outbox"); they never
// contain secrets. A provider that is chosen but misconfigured is an error
// naming the environment variable, never a silent fallback to the outbox.
func (c Config) Senders(outbox Sender) (Senders, []string, error) {
	var errs []error
	for _, inv := range c.invalid {
		errs = append(errs, errors.New(inv))
	}
	senders := Senders{}
	var lines []string
	fallback := func(ch policy.Channel) {
		if outbox == nil {
			errs = append(errs, fmt.Errorf("%s: no provider configured and no outbox given", ch))
			return
		}
		senders[ch] = outbox
		name := outbox.Provider()
		if name == (Outbox{}).Provider() {
			name = "dev outbox"
		}
		lines = append(lines, string(ch)+": "+name)
	}

	switch sg := c.SendGrid; {
	case sg.APIKey == "":
		fallback(policy.Email)
	case sg.FromEmail == "":
		errs = append(errs, errors.New("email: SENDGRID_API_KEY is set but SENDGRID_FROM_EMAIL is missing"))
	default:
		s, err := NewSendGrid(sg)
		if err != nil {
			errs = append(errs, fmt.Errorf("email: %w", err))
			break
		}
		senders[policy.Email] = s
		lines = append(lines, "email: "+s.String())
	}

	switch tw := c.Twilio; {
	case tw.AccountSID == "":
		fallback(policy.SMS)
	case tw.AuthToken == "":
		errs = append(errs, errors.New("sms: TWILIO_ACCOUNT_SID is set but TWILIO_AUTH_TOKEN is missing"))
	case tw.From == "" && tw.MessagingServiceSID == "":
		errs = append(errs, errors.New("sms: TWILIO_ACCOUNT_SID is set but neither TWILIO_FROM_NUMBER nor TWILIO_MESSAGING_SERVICE_SID is"))
	default:
		t, err := NewTwilio(tw)
		if err != nil {
			errs = append(errs, fmt.Errorf("sms: %w", err))
			break
		}
		senders[policy.SMS] = t
		lines = append(lines, "sms: "+t.String())
	}

	if err := errors.Join(errs...); err != nil {
		return nil, nil, errors.New(redact(err.Error(), c.SendGrid.APIKey, c.Twilio.AuthToken))
	}
	return senders, lines, nil
}

// String describes the config with its secrets redacted.
func (c Config) String() string {
	return "Config{SendGrid:" + c.SendGrid.String() + " Twilio:" + c.Twilio.String() + "}"
}

// GoString keeps %#v from printing secrets.
func (c Config) GoString() string { return c.String() }

// LogValue keeps slog (JSON handler included) from printing secrets.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }
