package app_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/internal/app"
)

func TestPoliciesLoadFromADirectoryOnce(t *testing.T) {
	for _, d := range dbtest.All(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			store := db.NewStore(d.DB)
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			dir := t.TempDir()
			doc, err := os.ReadFile(filepath.Join("..", "..", "policy", "testdata", "policies", "gentle.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "gentle.yaml"), doc, 0o644); err != nil {
				t.Fatal(err)
			}
			for range 2 { // loading again changes nothing
				if err := app.LoadPolicies(ctx, store, dir, log); err != nil {
					t.Fatal(err)
				}
			}
			stored, err := store.ListPolicies(ctx)
			if err != nil || len(stored) != 1 || stored[0].Name != "gentle" {
				t.Fatalf("stored: %+v %v", stored, err)
			}
			// The same version with other content is refused: edits need a new version.
			edited := strings.Replace(string(doc), "promise_grace: 5d", "promise_grace: 6d", 1)
			if edited == string(doc) {
				t.Fatal("test document changed; adjust the edit")
			}
			if err := os.WriteFile(filepath.Join(dir, "gentle.yaml"), []byte(edited), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := app.LoadPolicies(ctx, store, dir, log); err == nil || !strings.Contains(err.Error(), "raise its version") {
				t.Fatalf("edited without a new version: %v", err)
			}
		})
	}
}
