package db_test

import (
	"context"
	"testing"

	"github.com/uptrace/bun/migrate"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/db/migrations"
)

// Every migration (the worklist's included) rolls back and applies again,
// on both databases: the down files undo what the up files did.
func TestMigrationsRollBackAndApplyAgain(t *testing.T) {
	for _, d := range dbtest.All(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			m := migrate.NewMigrator(d.DB, migrations.Migrations)
			group, err := m.Rollback(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if group.IsZero() {
				t.Fatal("nothing rolled back")
			}
			if err := db.Migrate(ctx, d.DB, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}
