package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v3"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/collections-engine/collections/activities"
	"github.com/collections-engine/collections/api"
	"github.com/collections-engine/collections/codec"
	"github.com/collections-engine/collections/credit"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/internal/app"
	"github.com/collections-engine/collections/internal/policies"
	"github.com/collections-engine/collections/policy"
)

func databaseFlag() cli.Flag {
	return &cli.StringFlag{Name: "database-url", Usage: "postgres:// URL, or the path of a SQLite file", Sources: cli.EnvVars("DATABASE_URL"), Required: true}
}

func policiesFlag() cli.Flag {
	return &cli.StringFlag{Name: "policies-dir", Usage: "a directory of policy documents (YAML or JSON) to load at start", Sources: cli.EnvVars("POLICIES_DIR")}
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

func shutdownFlag() cli.Flag {
	return &cli.DurationFlag{Name: "shutdown-timeout", Value: app.DefaultShutdownTimeout,
		Usage: "after SIGTERM, how long in-flight requests (api) or running activities (worker) may take to finish", Sources: cli.EnvVars("SHUTDOWN_TIMEOUT")}
}

func messageFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "payment-link", Value: "https://pay.example.com/invoices/{number}", Usage: "payment URL template; {invoice_id} and {number} are replaced", Sources: cli.EnvVars("PAYMENT_LINK_TEMPLATE")},
		&cli.StringFlag{Name: "sender", Value: "Accounts Receivable", Usage: "who messages are from, with contact details", Sources: cli.EnvVars("MESSAGE_SENDER")},
		&cli.StringFlag{Name: "templates-dir", Usage: "a directory of message templates overriding the built-in ones (<locale>/<channel>/<name>.tmpl)", Sources: cli.EnvVars("TEMPLATES_DIR")},
	}
}

// withStore runs a command's action with the process logger and the
// migrated store of the database the command names.
func withStore(action func(ctx context.Context, cmd *cli.Command, log *slog.Logger, store *db.Store) error) cli.ActionFunc {
	return func(ctx context.Context, cmd *cli.Command) error {
		log, err := logger(cmd)
		if err != nil {
			return err
		}
		store, closer, err := openStore(ctx, cmd, log)
		if err != nil {
			return err
		}
		defer closer.Close()
		return action(ctx, cmd, log, store)
	}
}

// openStore opens and migrates the database the command names; close the
// returned database when done.
func openStore(ctx context.Context, cmd *cli.Command, log *slog.Logger) (*db.Store, io.Closer, error) {
	bdb, err := app.OpenDatabase(ctx, cmd.String("database-url"), log)
	if err != nil {
		return nil, nil, err
	}
	return db.NewStore(bdb), bdb, nil
}

func temporalConfig(cmd *cli.Command) app.TemporalConfig {
	return app.TemporalConfig{
		Address: cmd.String("temporal-address"), Namespace: cmd.String("temporal-namespace"),
		TLS: cmd.Bool("temporal-tls"), TLSCertFile: cmd.String("temporal-tls-cert"), TLSKeyFile: cmd.String("temporal-tls-key"),
		TLSCAFile: cmd.String("temporal-tls-ca"), TLSServerName: cmd.String("temporal-tls-server-name"), APIKey: cmd.String("temporal-api-key"),
	}
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

func messageConfig(cmd *cli.Command) app.MessageConfig {
	return app.MessageConfig{PaymentLink: cmd.String("payment-link"), Sender: cmd.String("sender"), TemplatesDir: cmd.String("templates-dir")}
}

func apiCommand() *cli.Command {
	return &cli.Command{
		Name:  "api",
		Usage: "serve the HTTP API against an external Temporal and database",
		Flags: append([]cli.Flag{
			databaseFlag(),
			&cli.StringFlag{Name: "http-addr", Value: "127.0.0.1:8080", Usage: "where the API listens", Sources: cli.EnvVars("HTTP_ADDR")},
			policiesFlag(),
			shutdownFlag(),
			&cli.StringFlag{Name: "temporal-ui-url", Usage: "the Temporal Web UI's base URL (e.g. http://localhost:8080), which the collectors' page links each invoice's workflow into", Sources: cli.EnvVars("TEMPORAL_UI_URL")},
			&cli.StringFlag{Name: "desk-session-secret", Usage: "the secret (32+ characters) that signs the collectors' page sessions; the same on every API replica (default: random per process)", Sources: cli.EnvVars("DESK_SESSION_SECRET")},
		}, append(append(temporalFlags(), messageFlags()...), codecFlags(true, "default on: keys required")...)...),
		Action: withStore(func(ctx context.Context, cmd *cli.Command, log *slog.Logger, store *db.Store) error {
			if err := app.LoadPolicies(ctx, store, cmd.String("policies-dir"), log); err != nil {
				return err
			}
			c, _, pc, tel, err := connect(ctx, cmd, log)
			if err != nil {
				return err
			}
			defer closeTelemetry(tel, log)
			defer c.Close()
			previewer, err := app.NewActivities(store, messageConfig(cmd), log)
			if err != nil {
				return err
			}
			bounds, err := credit.BoundsFromEnv(os.Getenv)
			if err != nil {
				return err
			}
			srv := &api.Server{Store: store, Temporal: c, Log: log, Previewer: activities.Previewer{Activities: previewer}, Webhooks: app.WebhooksFromEnv(),
				CodecCORSOrigins: corsOrigins(cmd), CreditBounds: &bounds,
				Namespace: cmd.String("temporal-namespace")}
			if pc != nil {
				srv.Codec = pc
			}
			if srv.TemporalUIURL, err = uiURL(cmd.String("temporal-ui-url")); err != nil {
				return err
			}
			if secret := cmd.String("desk-session-secret"); secret != "" {
				if len(secret) < 32 {
					return fmt.Errorf("desk-session-secret (DESK_SESSION_SECRET): must be at least 32 characters, is %d", len(secret))
				}
				srv.SessionSecret = []byte(secret)
			}
			if err := tel.API(srv, store, log); err != nil {
				return err
			}
			return app.ServeAPI(ctx, cmd.String("http-addr"), srv, cmd.Duration("shutdown-timeout"), func(a net.Addr) {
				log.Info("API listening", "url", "http://"+a.String())
			})
		}),
	}
}

func workerCommand() *cli.Command {
	return &cli.Command{
		Name:  "worker",
		Usage: "run the Temporal worker (workflows and activities) against an external Temporal and database",
		Flags: append(append(append([]cli.Flag{databaseFlag(), shutdownFlag(),
			&cli.StringFlag{Name: "metrics-addr", Usage: "serve /metrics and /healthz here (e.g. 0.0.0.0:9090); off when empty", Sources: cli.EnvVars("METRICS_ADDR")},
		}, temporalFlags()...), messageFlags()...), codecFlags(false, "default on: keys required")...),
		Action: withStore(func(ctx context.Context, cmd *cli.Command, log *slog.Logger, store *db.Store) error {
			c, tc, _, tel, err := connect(ctx, cmd, log)
			if err != nil {
				return err
			}
			defer closeTelemetry(tel, log)
			defer c.Close()
			acts, err := app.NewActivities(store, messageConfig(cmd), log)
			if err != nil {
				return err
			}
			acts.Metrics = tel.Metrics
			if addr := cmd.String("metrics-addr"); addr != "" {
				go func() {
					if err := app.ServeMetrics(ctx, addr, tel.Metrics, func(a net.Addr) {
						log.Info("metrics listening", "url", "http://"+a.String()+"/metrics")
					}); err != nil {
						log.Error("metrics server stopped", "error", err)
					}
				}()
			}
			// A fatal worker error (the namespace deleted, the credentials
			// revoked) ends the process, so that its supervisor restarts it
			// and it shows, instead of a process that no longer polls.
			fatal := make(chan error, 1)
			stopTimeout := cmd.Duration("shutdown-timeout")
			w, err := app.StartWorker(ctx, c, tc.Namespace, acts, log, sdkworker.Options{
				WorkerStopTimeout: stopTimeout,
				OnFatalError: func(err error) {
					select {
					case fatal <- err:
					default:
					}
				},
			})
			if err != nil {
				return err
			}
			log.Info("worker running", "temporal", tc.Address, "namespace", tc.Namespace)
			select {
			case <-ctx.Done():
			case err := <-fatal:
				log.Error("worker stopped on a fatal error", "error", err)
				w.Stop()
				return fmt.Errorf("worker: %w", err)
			}
			// Stop polling at once; running activities get stopTimeout to
			// finish (a cut-off one is retried elsewhere), workflow tasks
			// in progress complete or time out to another worker.
			log.Info("worker draining", "timeout", stopTimeout)
			w.Stop()
			log.Info("worker stopped")
			return nil
		}),
	}
}

// connect sets up what the api and worker commands share: the payload
// codec (required unless COLLECTIONS_CODEC=off), telemetry, and the Temporal
// client built from both. Close the client and the telemetry when done.
func connect(ctx context.Context, cmd *cli.Command, log *slog.Logger) (client.Client, app.TemporalConfig, *codec.Codec, *app.Telemetry, error) {
	pc, err := loadCodec(cmd, log, true)
	if err != nil {
		return nil, app.TemporalConfig{}, nil, nil, err
	}
	tel, err := app.NewTelemetry(ctx, nil, log)
	if err != nil {
		return nil, app.TemporalConfig{}, nil, nil, err
	}
	tc, err := tel.Temporal(temporalConfig(cmd))
	if err == nil && pc != nil {
		tc.Codec = pc
	}
	var c client.Client
	if err == nil {
		c, err = app.DialTemporal(ctx, tc, log)
	}
	if err != nil {
		closeTelemetry(tel, log)
		return nil, app.TemporalConfig{}, nil, nil, err
	}
	return c, tc, pc, tel, nil
}

// closeTelemetry flushes spans and metrics at exit.
func closeTelemetry(tel *app.Telemetry, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tel.Close(ctx); err != nil {
		log.Warn("telemetry not flushed", "error", err)
	}
}

func migrateCommand() *cli.Command {
	return &cli.Command{
		Name:  "migrate",
		Usage: "apply the application database's migrations",
		Flags: []cli.Flag{databaseFlag()},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			log, err := logger(cmd)
			if err != nil {
				return err
			}
			bdb, err := app.OpenDatabase(ctx, cmd.String("database-url"), log)
			if err != nil {
				return err
			}
			log.Info("database is up to date")
			return bdb.Close()
		},
	}
}

// healthcheckCommand lets container healthchecks probe the API without a
// shell or curl in the image.
func healthcheckCommand() *cli.Command {
	return &cli.Command{
		Name:      "healthcheck",
		Usage:     "GET a URL and exit 0 on a 2xx answer",
		ArgsUsage: "URL",
		Action: func(ctx context.Context, cmd *cli.Command) error {
			url := cmd.Args().First()
			if url == "" {
				url = "http://127.0.0.1:8080/healthz"
			}
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return err
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			_ = res.Body.Close()
			if res.StatusCode/100 != 2 {
				return errors.New(fmt.Sprint("unhealthy: ", res.Status))
			}
			return nil
		},
	}
}

// previewCommand renders a step's message for an invoice without sending it.
func previewCommand() *cli.Command {
	return &cli.Command{
		Name:  "preview",
		Usage: "render a step's message for an invoice without sending it",
		Flags: append([]cli.Flag{
			databaseFlag(),
			&cli.StringFlag{Name: "invoice", Usage: "the invoice's id", Required: true},
			&cli.StringFlag{Name: "step", Usage: "a step of the invoice's policy (e.g. remind)", Required: true},
			&cli.StringFlag{Name: "channel", Usage: "email or sms (default: the step's first channel)"},
		}, messageFlags()...),
		Action: withStore(func(ctx context.Context, cmd *cli.Command, log *slog.Logger, store *db.Store) error {
			inv, err := store.GetInvoice(ctx, cmd.String("invoice"))
			if err != nil {
				return err
			}
			p, ok := policies.Version(ctx, store, inv.PolicyName, inv.PolicyVersion)
			if !ok {
				return fmt.Errorf("policy %s v%d not found", inv.PolicyName, inv.PolicyVersion)
			}
			step, names := policies.MessageStep(p, cmd.String("step"))
			if step == nil {
				return fmt.Errorf("--step: %q is not a step of policy %s v%d that sends a message (%s)", cmd.String("step"), p.Name, p.Version, strings.Join(names, ", "))
			}
			channel := policy.Channel(cmd.String("channel"))
			if channel == "" {
				channel = step.Channels[0]
			}
			acts, err := app.NewActivities(store, messageConfig(cmd), log)
			if err != nil {
				return err
			}
			r, to, err := activities.Previewer{Activities: acts}.Preview(ctx, inv.ID, step.Template, step.Tone, channel)
			if err != nil {
				return err
			}
			fmt.Printf("To: %s\n", to)
			if r.Subject != "" {
				fmt.Printf("Subject: %s\n", r.Subject)
			}
			fmt.Printf("\n%s\n", r.Body)
			return nil
		}),
	}
}

// keysCommand creates, lists and revokes API keys.
func keysCommand() *cli.Command {
	return &cli.Command{
		Name:  "keys",
		Usage: "create, list and revoke API keys",
		Commands: []*cli.Command{
			{
				Name:  "create",
				Usage: "create a key and print it (once: only its hash is kept)",
				Flags: []cli.Flag{
					databaseFlag(),
					&cli.StringFlag{Name: "name", Usage: "who or what uses the key", Required: true},
					&cli.StringFlag{Name: "role", Value: db.RoleReadWrite, Usage: "read-write, read-only or admin"},
				},
				Action: withStore(func(ctx context.Context, cmd *cli.Command, log *slog.Logger, store *db.Store) error {
					secret, rec, err := api.NewKey(cmd.String("name"), cmd.String("role"), time.Now().UTC())
					if err != nil {
						return fmt.Errorf("--role: %w", err)
					}
					if err := store.InsertAPIKey(ctx, rec); err != nil {
						return err
					}
					fmt.Printf("%s\n", secret)
					fmt.Fprintf(os.Stderr, "created key %s (%s, %s); store it now, it is not shown again\n", rec.Prefix, rec.Name, rec.Role)
					return nil
				}),
			},
			{
				Name:  "list",
				Usage: "list keys (prefix, name, role, state)",
				Flags: []cli.Flag{databaseFlag()},
				Action: withStore(func(ctx context.Context, cmd *cli.Command, log *slog.Logger, store *db.Store) error {
					keys, err := store.ListAPIKeys(ctx)
					if err != nil {
						return err
					}
					for _, k := range keys {
						state := "active"
						if k.RevokedAt != nil {
							state = "revoked " + k.RevokedAt.Format(time.RFC3339)
						}
						fmt.Printf("%s\t%s\t%s\t%s\t%s\n", k.ID, k.Prefix, k.Name, k.Role, state)
					}
					return nil
				}),
			},
			{
				Name:      "revoke",
				Usage:     "revoke a key by id or prefix",
				ArgsUsage: "ID|PREFIX",
				Flags:     []cli.Flag{databaseFlag()},
				Action: withStore(func(ctx context.Context, cmd *cli.Command, _ *slog.Logger, store *db.Store) error {
					if cmd.Args().Len() != 1 {
						return errors.New("name the key to revoke by its id or prefix")
					}
					return store.RevokeAPIKey(ctx, cmd.Args().First(), time.Now().UTC())
				}),
			},
		},
	}
}
