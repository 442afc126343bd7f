package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/collections-engine/collections/activities"
	"github.com/collections-engine/collections/collect"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/internal/app"
	"github.com/collections-engine/collections/internal/policies"
	"github.com/collections-engine/collections/policy"
)

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

func apiCommand() *cli.Command {
	return &cli.Command{
		Name:  "api",
		Usage: "serve the HTTP API against an external Temporal and database",
		Flags: settingsFlags(apiProcess),
		Action: withApp(apiProcess, func(ctx context.Context, a *app.App) error {
			return a.ServeAPI(ctx, func(addr net.Addr) {
				a.Config.Log.Info("API listening", "url", "http://"+addr.String())
			})
		}),
	}
}

func workerCommand() *cli.Command {
	return &cli.Command{
		Name:  "worker",
		Usage: "run the Temporal worker (workflows and activities) against an external Temporal and database",
		Flags: settingsFlags(workerProcess),
		Action: withApp(workerProcess, func(ctx context.Context, a *app.App) error {
			return a.RunWorker(ctx)
		}),
	}
}

// withApp runs a command's action with the process p's settings built into
// an app, closed when the action returns.
func withApp(p process, action func(ctx context.Context, a *app.App) error) cli.ActionFunc {
	return func(ctx context.Context, cmd *cli.Command) error {
		log, err := logger(cmd)
		if err != nil {
			return err
		}
		cfg, err := loadConfig(cmd, p, log)
		if err != nil {
			return err
		}
		a, err := app.Build(ctx, cfg)
		if err != nil {
			return err
		}
		defer a.Close()
		return action(ctx, a)
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
					&cli.StringFlag{Name: "role", Value: db.RoleReadWrite, Usage: "read-only, read-write, manager or admin (see docs/bounds.md)"},
				},
				Action: withStore(func(ctx context.Context, cmd *cli.Command, log *slog.Logger, store *db.Store) error {
					k, err := operatorCases(store, log).CreateKey(ctx, collect.CreateKey{Actor: operator(), Name: cmd.String("name"), Role: cmd.String("role")})
					if err != nil {
						return fmt.Errorf("--%w", err)
					}
					secret, rec := k.Secret, k.Key
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
				Action: withStore(func(ctx context.Context, cmd *cli.Command, log *slog.Logger, store *db.Store) error {
					if cmd.Args().Len() != 1 {
						return errors.New("name the key to revoke by its id or prefix")
					}
					return operatorCases(store, log).RevokeKey(ctx, collect.RevokeKey{Actor: operator(), ID: cmd.Args().First()})
				}),
			},
		},
	}
}

// operatorCases are the business actions an operator at the command line
// may take without Temporal (keys).
func operatorCases(store *db.Store, log *slog.Logger) *collect.Service {
	return &collect.Service{Store: store, Log: log}
}

// operator is who acts at the command line, for the audit log.
func operator() collect.Actor {
	name := "command line"
	if u, err := user.Current(); err == nil {
		name += " (" + u.Username + ")"
	}
	return collect.Actor{Kind: collect.ActorOperator, Name: name}
}
