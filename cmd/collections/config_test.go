package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/collections-engine/collections/internal/app"
)

// load runs a command with p's flags on args and returns the config
// loadConfig reads from it.
func load(t *testing.T, p process, args ...string) (app.Config, error) {
	t.Helper()
	var cfg app.Config
	var loadErr error
	cmd := &cli.Command{Name: "test", Flags: settingsFlags(p), Action: func(_ context.Context, cmd *cli.Command) error {
		cfg, loadErr = loadConfig(cmd, p, slog.New(slog.NewTextHandler(io.Discard, nil)))
		return nil
	}}
	if err := cmd.Run(context.Background(), append([]string{"test"}, args...)); err != nil {
		t.Fatalf("run: %v", err)
	}
	return cfg, loadErr
}

// Every process runs the same worker unless told otherwise: eight pollers
// each, in production as in dev; WORKER_POLLERS changes both.
func TestWorkerPollersAreOneSettingForEveryProcess(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://db.test/collections")
	t.Setenv("COLLECTIONS_CODEC", "off")
	for _, p := range []process{workerProcess, devProcess} {
		cfg, err := load(t, p)
		if err != nil || cfg.WorkerPollers != app.DefaultPollers {
			t.Errorf("process %d: pollers = %d, %v; want %d", p, cfg.WorkerPollers, err, app.DefaultPollers)
		}
	}
	t.Setenv("WORKER_POLLERS", "3")
	for _, p := range []process{workerProcess, devProcess} {
		if cfg, err := load(t, p); err != nil || cfg.WorkerPollers != 3 {
			t.Errorf("process %d with WORKER_POLLERS=3: pollers = %d, %v", p, cfg.WorkerPollers, err)
		}
	}
	if _, err := load(t, workerProcess, "--worker-pollers", "1"); err == nil || !strings.Contains(err.Error(), "WORKER_POLLERS") {
		t.Errorf("one poller: err = %v, want one naming WORKER_POLLERS", err)
	}
}

// The api's settings, from flags and from the environment alone, reach the
// config it is built from.
func TestAPIConfigFromFlagsAndEnvironment(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://db.test/collections")
	t.Setenv("COLLECTIONS_CODEC", "off")
	t.Setenv("TEMPORAL_NAMESPACE", "collections")
	t.Setenv("SHUTDOWN_TIMEOUT", "7s")
	t.Setenv("PAYMENTS_WEBHOOK_SECRET", "payments-secret")
	t.Setenv("AGENCY_EMAIL", "cases@agency.test")
	t.Setenv("SENDGRID_FROM_NAME", "Acme AR")
	t.Setenv("CREDIT_AUTO_APPROVE_SCORE", "90")
	t.Setenv("CODEC_CORS_ORIGINS", "http://ui.test, http://ui2.test")
	secret := strings.Repeat("s", 32)
	cfg, err := load(t, apiProcess, "--http-addr", "0.0.0.0:9999", "--temporal-ui-url", "http://ui.test/", "--desk-session-secret", secret)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DatabaseURL != "postgres://db.test/collections" || cfg.HTTPAddr != "0.0.0.0:9999" || cfg.Temporal.Namespace != "collections" ||
		cfg.Temporal.Address != "127.0.0.1:7233" || cfg.ShutdownTimeout != 7*time.Second || cfg.Codec != nil {
		t.Errorf("config = %+v", cfg)
	}
	if cfg.Webhooks.PaymentsSecret != "payments-secret" || cfg.Messages.AgencyEmail != "cases@agency.test" ||
		cfg.Messages.Channels.SendGrid.FromName != "Acme AR" || cfg.Messages.Sender != "Accounts Receivable" {
		t.Errorf("webhooks %+v, messages %+v", cfg.Webhooks, cfg.Messages)
	}
	if cfg.CreditBounds == nil || cfg.CreditBounds.AutoApproveScore != 90 {
		t.Errorf("credit bounds = %+v", cfg.CreditBounds)
	}
	if cfg.TemporalUIURL != "http://ui.test" || string(cfg.SessionSecret) != secret || strings.Join(cfg.CodecCORSOrigins, " ") != "http://ui.test http://ui2.test" {
		t.Errorf("UI %q, secret %q, origins %q", cfg.TemporalUIURL, cfg.SessionSecret, cfg.CodecCORSOrigins)
	}
	if _, err := load(t, apiProcess, "--desk-session-secret", "short"); err == nil || !strings.Contains(err.Error(), "DESK_SESSION_SECRET") {
		t.Errorf("short secret: err = %v", err)
	}
	t.Setenv("COLLECTIONS_CODEC", "")
	if _, err := load(t, apiProcess); err == nil {
		t.Error("the api started without codec keys")
	}
}

// The portal's settings: each bad value is refused naming its setting.
func TestPortalSettings(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	secret := strings.Repeat("s", 32)
	pc, err := portalConfig(env(map[string]string{"PORTAL_LINK_KEYS": "new:" + secret + ", old:" + secret + "x",
		"PORTAL_BASE_URL": "https://pay.example.com/portal/", "PORTAL_LINK_TTL": "240h", "PORTAL_PROMISE_MAX_DAYS": "14"}))
	if err != nil || len(pc.Keys) != 2 || pc.Keys[0].ID != "new" || pc.BaseURL != "https://pay.example.com/portal" ||
		pc.LinkTTL != 240*time.Hour || pc.PromiseHorizon != 14*24*time.Hour {
		t.Fatalf("%+v %v", pc, err)
	}
	if pc, err := portalConfig(env(nil)); err != nil || len(pc.Keys) != 0 {
		t.Fatalf("no settings: %+v %v", pc, err)
	}
	for setting, bad := range map[string]string{"PORTAL_LINK_KEYS": "k1:short", "PORTAL_BASE_URL": "ftp://x", "PORTAL_LINK_TTL": "5m",
		"PORTAL_PROMISE_MAX_DAYS": "0"} {
		_, err := portalConfig(env(map[string]string{setting: bad}))
		if err == nil || !strings.HasPrefix(err.Error(), setting+":") || strings.Contains(err.Error(), "short:") {
			t.Errorf("%s=%s: %v", setting, bad, err)
		}
	}
}
