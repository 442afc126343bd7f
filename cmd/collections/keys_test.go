package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/collections-engine/collections/db"
)

// A key made or revoked at the command line is in the audit log, as one
// made through /v1/keys is: who (the operator), what, when.
func TestKeysMadeAtTheCommandLineAreAudited(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "app.db")
	run := func(args ...string) {
		t.Helper()
		stdout := os.Stdout
		devnull, _ := os.Open(os.DevNull)
		os.Stdout = devnull
		defer func() { os.Stdout = stdout; devnull.Close() }()
		if err := rootCommand().Run(context.Background(), append([]string{"collections", "--log-level", "warn", "keys"}, args...)); err != nil {
			t.Fatalf("keys %s: %v", strings.Join(args, " "), err)
		}
	}
	run("create", "--database-url", dsn, "--name", "ops", "--role", "admin")
	bdb, err := db.Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	store := db.NewStore(bdb)
	keys, err := store.ListAPIKeys(context.Background())
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys: %v %v", keys, err)
	}
	run("revoke", "--database-url", dsn, keys[0].Prefix)
	entries, err := store.ListAuditEntries(context.Background(), db.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Actor, "command line") || e.SubjectKind != "api_key" {
			t.Errorf("entry %+v: want the command line acting on an api_key", e)
		}
		got = append(got, e.Action)
	}
	if strings.Join(got, ",") != "revoke key,create key" {
		t.Fatalf("audit log %v, want the revocation then the creation (newest first)", got)
	}
}
