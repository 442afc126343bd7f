package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/collections-engine/collections/api"
	"github.com/collections-engine/collections/channels"
	"github.com/collections-engine/collections/checkout"
	"github.com/collections-engine/collections/codec"
	"github.com/collections-engine/collections/credit"
	"github.com/collections-engine/collections/internal/app"
	"github.com/collections-engine/collections/internal/portallink"
)

// The settings of the processes (app.Config) are read here and nowhere
// else: settingsFlags declares a process's flags, each with the environment
// variable it falls back to, and loadConfig reads them back, with the
// settings that come only from the environment (providers, webhooks, credit
// bounds), into the app.Config the process is built from.

// process is one of the commands that run the engine.
type process int

const (
	apiProcess    process = iota // collections api
	workerProcess                // collections worker
	devProcess                   // collections dev (with the flags of the embedded stack in dev.go)
)

// settingsFlags are the flags of p's settings.
func settingsFlags(p process) []cli.Flag {
	var flags []cli.Flag
	switch p {
	case apiProcess:
		flags = append(flags, databaseFlag(),
			&cli.StringFlag{Name: "http-addr", Value: "127.0.0.1:8080", Usage: "where the API listens", Sources: cli.EnvVars("HTTP_ADDR")},
			policiesFlag(), shutdownFlag(),
			&cli.StringFlag{Name: "temporal-ui-url", Usage: "the Temporal Web UI's base URL (e.g. http://localhost:8080), which the collectors' page links each invoice's workflow into", Sources: cli.EnvVars("TEMPORAL_UI_URL")},
			&cli.StringFlag{Name: "desk-session-secret", Usage: "the secret (32+ characters) that signs the collectors' page sessions; the same on every API replica (default: random per process)", Sources: cli.EnvVars("DESK_SESSION_SECRET")},
		)
		flags = append(flags, temporalFlags()...)
		flags = append(flags, messageFlags()...)
		flags = append(flags, codecFlags(true, "default on: keys required")...)
	case workerProcess:
		flags = append(flags, databaseFlag(), shutdownFlag(),
			&cli.StringFlag{Name: "metrics-addr", Usage: "serve /metrics and /healthz here (e.g. 0.0.0.0:9090); off when empty", Sources: cli.EnvVars("METRICS_ADDR")},
			pollersFlag(),
		)
		flags = append(flags, temporalFlags()...)
		flags = append(flags, messageFlags()...)
		flags = append(flags, codecFlags(false, "default on: keys required")...)
	case devProcess:
		flags = append(flags,
			&cli.StringFlag{Name: "http-addr", Value: "127.0.0.1:8080", Usage: "where the API listens", Sources: cli.EnvVars("COLLECTIONS_HTTP_ADDR", "HTTP_ADDR")},
			&cli.StringFlag{Name: "database-url", Usage: "application database: a postgres:// URL; default a SQLite file in the data dir", Sources: cli.EnvVars("DATABASE_URL")},
			policiesFlag(), pollersFlag(),
		)
		flags = append(flags, messageFlags()...)
		flags = append(flags, codecFlags(true, "default: on when keys are given")...)
	}
	return flags
}

// loadConfig reads p's settings from cmd (flags, then their environment
// variables) and the environment; a flag p does not take reads as empty.
// It loads the payload codec (required by api and worker unless
// COLLECTIONS_CODEC=off) and checks the values, naming the setting of one
// that is wrong.
func loadConfig(cmd *cli.Command, p process, log *slog.Logger) (app.Config, error) {
	var err error
	cfg := app.Config{
		DatabaseURL: cmd.String("database-url"),
		Messages:    messageConfig(cmd),
		HTTPAddr:    cmd.String("http-addr"),
		MetricsAddr: cmd.String("metrics-addr"),
		PoliciesDir: cmd.String("policies-dir"),
		Log:         log,
	}
	if p != devProcess {
		cfg.Temporal = temporalConfig(cmd)
		cfg.ShutdownTimeout = cmd.Duration("shutdown-timeout")
	}
	if p != apiProcess {
		cfg.WorkerPollers = cmd.Int("worker-pollers")
		if cfg.WorkerPollers < 2 {
			return cfg, fmt.Errorf("worker-pollers (WORKER_POLLERS): %d is fewer than 2, the least the worker can poll with", cfg.WorkerPollers)
		}
	}
	if cfg.Portal, err = portalConfig(os.Getenv); err != nil {
		return cfg, err
	}
	pc, err := loadCodec(cmd, log, p != devProcess)
	if err != nil {
		return cfg, err
	}
	if pc != nil {
		cfg.Codec = pc // a nil *codec.Codec would be a non-nil interface
	}
	if p == workerProcess {
		return cfg, nil
	}
	// What only the API uses.
	cfg.CodecCORSOrigins = corsOrigins(cmd)
	cfg.Webhooks = api.WebhookConfig{
		SendGridPublicKey:  os.Getenv("SENDGRID_WEBHOOK_PUBLIC_KEY"),
		TwilioAuthToken:    os.Getenv("TWILIO_AUTH_TOKEN"),
		PublicBaseURL:      os.Getenv("PUBLIC_BASE_URL"),
		PaymentsSecret:     os.Getenv("PAYMENTS_WEBHOOK_SECRET"),
		StripeSecret:       os.Getenv("STRIPE_WEBHOOK_SECRET"),
		InboundDomain:      os.Getenv("INBOUND_EMAIL_DOMAIN"),
		InboundSecret:      os.Getenv("INBOUND_EMAIL_SECRET"),
		InboundParseSecret: os.Getenv("INBOUND_PARSE_SECRET"),
	}
	cfg.Checkout = checkout.New(os.Getenv("STRIPE_SECRET_KEY"), os.Getenv("STRIPE_API_URL"))
	bounds, err := credit.BoundsFromEnv(os.Getenv)
	if err != nil {
		return cfg, err
	}
	cfg.CreditBounds = &bounds
	if cfg.TemporalUIURL, err = uiURL(cmd.String("temporal-ui-url")); err != nil {
		return cfg, err
	}
	if secret := cmd.String("desk-session-secret"); secret != "" {
		if len(secret) < 32 {
			return cfg, fmt.Errorf("desk-session-secret (DESK_SESSION_SECRET): must be at least 32 characters, is %d", len(secret))
		}
		cfg.SessionSecret = []byte(secret)
	}
	return cfg, nil
}

func databaseFlag() cli.Flag {
	return &cli.StringFlag{Name: "database-url", Usage: "postgres:// URL, or the path of a SQLite file", Sources: cli.EnvVars("DATABASE_URL"), Required: true}
}

func policiesFlag() cli.Flag {
	return &cli.StringFlag{Name: "policies-dir", Usage: "a directory of policy documents (YAML or JSON) to load at start", Sources: cli.EnvVars("POLICIES_DIR")}
}

func pollersFlag() cli.Flag {
	return &cli.IntFlag{Name: "worker-pollers", Value: app.DefaultPollers, Usage: "the worker's workflow task pollers and activity task pollers, each (2 or more)", Sources: cli.EnvVars("WORKER_POLLERS")}
}

func shutdownFlag() cli.Flag {
	return &cli.DurationFlag{Name: "shutdown-timeout", Value: app.DefaultShutdownTimeout,
		Usage: "after SIGTERM, how long in-flight requests (api) or running activities (worker) may take to finish", Sources: cli.EnvVars("SHUTDOWN_TIMEOUT")}
}

func temporalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "temporal-address", Value: "127.0.0.1:7233", Usage: "Temporal frontend host:port", Sources: cli.EnvVars("TEMPORAL_ADDRESS")},
		&cli.StringFlag{Name: "temporal-namespace", Value: "default", Usage: "Temporal namespace", Sources: cli.EnvVars("TEMPORAL_NAMESPACE")},
		&cli.BoolFlag{Name: "temporal-tls", Usage: "use TLS to reach Temporal (implied by the other TLS options and an API key)", Sources: cli.EnvVars("TEMPORAL_TLS")},
		&cli.StringFlag{Name: "temporal-tls-cert", Usage: "client certificate file for mTLS", Sources: cli.EnvVars("TEMPORAL_TLS_CERT")},
		&cli.StringFlag{Name: "temporal-tls-key", Usage: "client key file for mTLS", Sources: cli.EnvVars("TEMPORAL_TLS_KEY")},
		&cli.StringFlag{Name: "temporal-tls-ca", Usage: "CA file to verify the server", Sources: cli.EnvVars("TEMPORAL_TLS_CA")},
		&cli.StringFlag{Name: "temporal-tls-server-name", Usage: "server name to verify", Sources: cli.EnvVars("TEMPORAL_TLS_SERVER_NAME")},
		&cli.StringFlag{Name: "temporal-api-key", Usage: "Temporal Cloud API key", Sources: cli.EnvVars("TEMPORAL_API_KEY")},
	}
}

func temporalConfig(cmd *cli.Command) app.TemporalConfig {
	return app.TemporalConfig{
		Address: cmd.String("temporal-address"), Namespace: cmd.String("temporal-namespace"),
		TLS: cmd.Bool("temporal-tls"), TLSCertFile: cmd.String("temporal-tls-cert"), TLSKeyFile: cmd.String("temporal-tls-key"),
		TLSCAFile: cmd.String("temporal-tls-ca"), TLSServerName: cmd.String("temporal-tls-server-name"), APIKey: cmd.String("temporal-api-key"),
	}
}

// codecFlags are the payload encryption settings; cors adds the browser
// origins allowed to call the API's codec endpoints.
func codecFlags(cors bool, defaultMode string) []cli.Flag {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "codec", Usage: "encrypt workflow payloads: on or off (" + defaultMode + ")", Sources: cli.EnvVars(codec.EnvMode)},
		&cli.StringFlag{Name: "codec-keys", Usage: "encryption keys, comma-separated keyid:base64(32 bytes); the first encrypts, all decrypt", Sources: cli.EnvVars(codec.EnvKeys)},
		&cli.StringFlag{Name: "codec-keys-file", Usage: "a file of keyid:base64key lines (the first encrypts; # comments)", Sources: cli.EnvVars(codec.EnvKeysFile)},
	}
	if cors {
		flags = append(flags, &cli.StringSliceFlag{Name: "codec-cors-origins", Usage: "browser origins (the Temporal Web UI's, e.g. http://localhost:8233) allowed to call /codec, comma-separated", Sources: cli.EnvVars("CODEC_CORS_ORIGINS")})
	}
	return flags
}

// loadCodec returns the codec the command's settings ask for, nil when
// encryption is off. defaultOn: the production commands refuse to start
// without keys unless told COLLECTIONS_CODEC=off.
func loadCodec(cmd *cli.Command, log *slog.Logger, defaultOn bool) (*codec.Codec, error) {
	c, err := codec.Settings{Mode: cmd.String("codec"), Keys: cmd.String("codec-keys"), KeysFile: cmd.String("codec-keys-file")}.Load(defaultOn)
	if err != nil {
		return nil, err
	}
	if c == nil {
		level := slog.LevelInfo // dev's default
		if defaultOn {
			level = slog.LevelWarn
		}
		log.Log(context.Background(), level, "payload encryption is off: workflow histories hold customer data in clear", "setting", codec.EnvMode)
	} else {
		log.Info("payload encryption on", "active_key", c.ActiveKeyID(), "keys", len(c.KeyIDs()))
	}
	return c, nil
}

// corsOrigins splits the comma lists CODEC_CORS_ORIGINS may hold.
func corsOrigins(cmd *cli.Command) []string {
	var out []string
	for _, v := range cmd.StringSlice("codec-cors-origins") {
		for _, o := range strings.Split(v, ",") {
			if o = strings.TrimSpace(o); o != "" {
				out = append(out, o)
			}
		}
	}
	return out
}

// uiURL checks the Temporal Web UI's base URL (empty: no links).
func uiURL(raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("temporal-ui-url (TEMPORAL_UI_URL): %q is not an http(s) URL such as http://localhost:8080", raw)
	}
	return strings.TrimRight(raw, "/"), nil
}

func messageFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "payment-link", Usage: "payment URL template overriding the portal link in every message; {invoice_id} and {number} are replaced (default: the customer's portal link; without a portal https://pay.example.com/invoices/{number})", Sources: cli.EnvVars("PAYMENT_LINK_TEMPLATE")},
		&cli.StringFlag{Name: "sender", Value: "Accounts Receivable", Usage: "who messages are from, with contact details", Sources: cli.EnvVars("MESSAGE_SENDER")},
		&cli.StringFlag{Name: "templates-dir", Usage: "a directory of message templates overriding the built-in ones (<locale>/<channel>/<name>.tmpl)", Sources: cli.EnvVars("TEMPLATES_DIR")},
	}
}

// messageConfig is how messages look (the message flags) and who delivers
// them: SendGrid and Twilio when their settings are in the environment
// (see channels.ConfigFromEnv), and where agency case files go.
func messageConfig(cmd *cli.Command) app.MessageConfig {
	return app.MessageConfig{
		PaymentLink: cmd.String("payment-link"), Sender: cmd.String("sender"), TemplatesDir: cmd.String("templates-dir"),
		Channels: channels.ConfigFromEnv(os.Getenv), AgencyEmail: os.Getenv("AGENCY_EMAIL"),
	}
}

// portalConfig reads the customer portal's settings from the environment:
// PORTAL_LINK_KEYS (kid:secret,...; the first signs), PORTAL_BASE_URL
// (required with keys), PORTAL_LINK_TTL (a duration such as 720h) and
// PORTAL_PROMISE_MAX_DAYS. No keys: no portal (dev makes its own).
func portalConfig(getenv func(string) string) (app.PortalConfig, error) {
	var pc app.PortalConfig
	if raw := strings.TrimSpace(getenv("PORTAL_LINK_KEYS")); raw != "" {
		keys, err := portallink.ParseKeys(raw)
		if err != nil {
			return pc, fmt.Errorf("PORTAL_LINK_KEYS: %w", err)
		}
		if _, err := portallink.NewSigner(keys, 0); err != nil {
			return pc, fmt.Errorf("PORTAL_LINK_KEYS: %w", err)
		}
		pc.Keys = keys
	}
	if raw := strings.TrimSpace(getenv("PORTAL_BASE_URL")); raw != "" {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return pc, fmt.Errorf("PORTAL_BASE_URL: %q is not an http(s) URL such as https://pay.example.com/portal", raw)
		}
		pc.BaseURL = strings.TrimRight(raw, "/")
	}
	if raw := strings.TrimSpace(getenv("PORTAL_LINK_TTL")); raw != "" {
		d, err := time.ParseDuration(raw)
		if err != nil || d < time.Hour || d > 366*24*time.Hour {
			return pc, fmt.Errorf("PORTAL_LINK_TTL: %q must be a duration from 1h to 8784h (366 days), such as 720h", raw)
		}
		pc.LinkTTL = d
	}
	if raw := strings.TrimSpace(getenv("PORTAL_PROMISE_MAX_DAYS")); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > 365 {
			return pc, fmt.Errorf("PORTAL_PROMISE_MAX_DAYS: %q must be a whole number of days from 1 to 365", raw)
		}
		pc.PromiseHorizon = time.Duration(n) * 24 * time.Hour
	}
	// Keys without PORTAL_BASE_URL are refused by app.Build (dev fills it in).
	return pc, nil
}
