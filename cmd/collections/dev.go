//go:build !nodev

// The dev command links the embedded Temporal server and Web UI; build with
// -tags nodev for a production binary without them.

package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/urfave/cli/v3"

	"github.com/collections-engine/collections/internal/devstack"
)

func init() { commands = append([]*cli.Command{devCommand()}, commands...) }

func devCommand() *cli.Command {
	return &cli.Command{
		Name:  "dev",
		Usage: "run everything in one process: embedded Temporal server and Web UI, worker, API, database",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "data-dir", Value: "./.collections", Usage: "where Temporal's and the application's SQLite files live", Sources: cli.EnvVars("COLLECTIONS_DATA_DIR")},
			&cli.StringFlag{Name: "temporal-addr", Value: "127.0.0.1:7233", Usage: "the embedded Temporal frontend (gRPC)", Sources: cli.EnvVars("COLLECTIONS_TEMPORAL_ADDR")},
			&cli.StringFlag{Name: "ui-addr", Value: "127.0.0.1:8233", Usage: "the Temporal Web UI", Sources: cli.EnvVars("COLLECTIONS_UI_ADDR")},
			&cli.StringFlag{Name: "api-key", Usage: "the admin API key to accept; default: one created on first start, kept in the data dir", Sources: cli.EnvVars("COLLECTIONS_API_KEY")},
		}, settingsFlags(devProcess)...),
		Action: func(ctx context.Context, cmd *cli.Command) error {
			log, err := logger(cmd)
			if err != nil {
				return err
			}
			dataDir, err := filepath.Abs(cmd.String("data-dir"))
			if err != nil {
				return err
			}
			cfg, err := loadConfig(cmd, devProcess, log)
			if err != nil {
				return err
			}
			o := devstack.Options{Config: cfg, DataDir: dataDir, TemporalAddr: cmd.String("temporal-addr"),
				UIAddr: cmd.String("ui-addr"), APIKey: cmd.String("api-key")}
			stack, err := devstack.Start(ctx, o)
			if err != nil {
				return err
			}
			fmt.Printf("\ncollections dev is running\n  API:         %s\n  API key:     %s\n  Desk:        %s/desk/ (sign in with the API key)\n  Portal:      %s/portal/<token> (every message in the outbox links to its customer's page)\n  Temporal UI: %s\n  Temporal:    %s\n  Data:        %s\n\n  export KEY=%s   # then: curl -H \"Authorization: Bearer $KEY\" %s/v1/invoices\nPress Ctrl-C to stop.\n\n",
				stack.APIURL, stack.APIKey, stack.APIURL, stack.APIURL, stack.UIURL, stack.TemporalAddr, dataDir, stack.APIKey, stack.APIURL)
			select {
			case <-ctx.Done():
				log.Info("shutting down")
			case <-stack.Done():
				log.Error("HTTP API stopped", "error", stack.Err())
			}
			stack.Stop()
			return stack.Err()
		},
	}
}
