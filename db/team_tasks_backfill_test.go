package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
)

// Replies left unmatched before team tasks existed get a task for the team
// when the backfill migration runs; answered ones and ones with a task
// already are left as they are.
func TestUnmatchedRepliesGetTeamTasksOnMigrate(t *testing.T) {
	for _, d := range dbtest.All(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
			resolved := at.Add(time.Hour)
			taskID := "already"
			emails := []db.InboundEmail{
				{ID: "open", ReceivedAt: at, Sender: "who@else.test", Subject: "", Body: "which invoice is this?", Status: db.InboundUnmatched},
				{ID: "answered", ReceivedAt: at, Sender: "a@else.test", Subject: "Re: 1", Status: db.InboundUnmatched, ResolvedAt: &resolved},
				{ID: "tasked", ReceivedAt: at, Sender: "b@else.test", Subject: "Re: 2", Status: db.InboundUnmatched, TaskID: &taskID},
				{ID: "auto", ReceivedAt: at, Sender: "c@else.test", Subject: "Away", Status: db.InboundAutoReply},
			}
			if _, err := d.DB.NewInsert().Model(&emails).Exec(ctx); err != nil {
				t.Fatal(err)
			}
			for range 2 { // applied twice, it adds nothing the second time
				if _, err := d.DB.NewDelete().Table("bun_migrations").Where("name = ?", "20261207100002").Exec(ctx); err != nil {
					t.Fatal(err)
				}
				if err := db.Migrate(ctx, d.DB, nil); err != nil {
					t.Fatal(err)
				}
			}
			var tasks []db.Task
			if err := d.DB.NewSelect().Model(&tasks).Where("kind = ?", db.TaskUnmatchedReply).Scan(ctx); err != nil {
				t.Fatal(err)
			}
			if len(tasks) != 1 {
				t.Fatalf("team tasks = %d, want 1 (the open reply's): %+v", len(tasks), tasks)
			}
			task := tasks[0]
			if task.Key != "inbound:open" || task.Status != db.TaskOpen || task.InvoiceID != "" || task.CustomerID != "" ||
				task.Title != "Reply from who@else.test matched no invoice: (no subject)" || task.Detail != "which invoice is this?" {
				t.Errorf("task = %+v", task)
			}
			var open db.InboundEmail
			if err := d.DB.NewSelect().Model(&open).Where("id = ?", "open").Scan(ctx); err != nil {
				t.Fatal(err)
			}
			if open.TaskID == nil || *open.TaskID != task.ID {
				t.Errorf("open reply's task_id = %v, want %s", open.TaskID, task.ID)
			}
		})
	}
}
