// Command collections is the collections engine: one binary whose
// subcommands run the whole stack for trying it (dev), or its pieces against
// a real Temporal cluster and database (api, worker, migrate).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/urfave/cli/v3"

	"github.com/collections-engine/collections/internal/logging"

	_ "time/tzdata" // time zones resolve the same on every machine
)

// commands are the subcommands; dev.go adds `dev` unless built with -tags nodev.
var commands = []*cli.Command{apiCommand(), workerCommand(), migrateCommand(), previewCommand(), keysCommand(), healthcheckCommand()}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := rootCommand().Run(ctx, os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "collections:", err)
		os.Exit(1)
	}
}

// rootCommand is the program: the log flags every subcommand shares, and
// the subcommands.
func rootCommand() *cli.Command {
	return &cli.Command{
		Name:  "collections",
		Usage: "chase every invoice to paid with durable Temporal workflows",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "text or json", Sources: cli.EnvVars("LOG_FORMAT")},
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "debug, info, warn or error", Sources: cli.EnvVars("LOG_LEVEL")},
		},
		Commands: commands,
	}
}

// logger builds the process's slog logger from the root flags.
func logger(cmd *cli.Command) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cmd.String("log-level"))); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch strings.ToLower(cmd.String("log-format")) {
	case "json":
		h = slog.NewJSONHandler(os.Stderr, opts)
	case "text":
		h = slog.NewTextHandler(os.Stderr, opts)
	default:
		return nil, fmt.Errorf("--log-format: %q is neither text nor json", cmd.String("log-format"))
	}
	// Lines about an invoice carry its invoice_id and workflow_id (see
	// internal/logging), the Temporal SDK's included.
	l := logging.Wrap(slog.New(h))
	slog.SetDefault(l)
	return l, nil
}
