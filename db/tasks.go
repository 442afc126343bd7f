package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Tasks keeps what people must do for invoices.
type Tasks struct{ db bun.IDB }

// NewTasks wraps a database or a transaction.
func NewTasks(db bun.IDB) *Tasks { return &Tasks{db: db} }

// ClaimTask inserts t unless a task with the same (invoice, key) exists, and
// returns the task that stands.
func (r *Tasks) ClaimTask(ctx context.Context, t *Task) (stored *Task, created bool, err error) {
	res, err := r.db.NewInsert().Model(t).On("CONFLICT (invoice_id, task_key) DO NOTHING").Exec(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("claim task: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return t, true, nil
	}
	existing := new(Task)
	if err := r.db.NewSelect().Model(existing).Where("invoice_id = ? AND task_key = ?", t.InvoiceID, t.Key).Scan(ctx); err != nil {
		return nil, false, err
	}
	return existing, false, nil
}

// GetTask loads a task by id.
func (r *Tasks) GetTask(ctx context.Context, id string) (*Task, error) {
	t := new(Task)
	if err := r.db.NewSelect().Model(t).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "task", id)
	}
	return t, nil
}

// TaskFilter narrows ListTasks; zero values match everything.
type TaskFilter struct {
	Status    string
	Assignee  string
	InvoiceID string
	Limit     int
}

// ListTasks returns tasks, soonest due first.
func (r *Tasks) ListTasks(ctx context.Context, f TaskFilter) ([]Task, error) {
	var out []Task
	q := r.db.NewSelect().Model(&out).Order("due_at", "id").Limit(limit(f.Limit))
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.Assignee != "" {
		q = q.Where("assignee = ?", f.Assignee)
	}
	if f.InvoiceID != "" {
		q = q.Where("invoice_id = ?", f.InvoiceID)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

// CompleteTask marks an open task done; completed is false when it was
// already done (the stored task is returned either way).
// Completing a team task (an unmatched reply's) resolves its inbound
// email in the same transaction: the reply leaves the team's queue.
func (r *Tasks) CompleteTask(ctx context.Context, id, outcome, note string, now time.Time) (t *Task, completed bool, err error) {
	err = r.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*Task)(nil)).
			Set("status = ?", TaskDone).Set("outcome = ?", outcome).Set("note = ?", note).Set("completed_at = ?", now).
			Where("id = ? AND status = ?", id, TaskOpen).Exec(ctx)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		completed = n == 1
		t = new(Task)
		if err := tx.NewSelect().Model(t).Where("id = ?", id).Scan(ctx); err != nil {
			return notFound(err, "task", id)
		}
		if completed && t.Kind == TaskUnmatchedReply {
			_, err = tx.NewUpdate().Model((*InboundEmail)(nil)).Set("resolved_at = ?", now).
				Where("task_id = ? AND resolved_at IS NULL", id).Exec(ctx)
		}
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return t, completed, nil
}

// ErrTaskDone is returned when a finished task would be changed.
var ErrTaskDone = errors.New("task is already done")

// ReassignTask gives an open task to another person and records who moved
// it, to whom and why as a note on the task's invoice, in one transaction.
//
// The note belongs to Notes; it is written here, in the task's
// transaction, so that a reassignment is never without its reason.
func (r *Tasks) ReassignTask(ctx context.Context, id, assignee string, note *Note) (*Task, error) {
	err := r.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		t := new(Task)
		if err := tx.NewSelect().Model(t).Where("id = ?", id).Scan(ctx); err != nil {
			return notFound(err, "task", id)
		}
		if t.Status != TaskOpen {
			return ErrTaskDone
		}
		res, err := tx.NewUpdate().Model((*Task)(nil)).Set("assignee = ?", assignee).
			Where("id = ? AND status = ?", id, TaskOpen).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound(sql.ErrNoRows, "open task", id)
		}
		// A team task with no customer has no account to keep the note on.
		if note != nil && t.CustomerID != "" {
			note.CustomerID, note.InvoiceID = t.CustomerID, t.InvoiceID
			if _, err := tx.NewInsert().Model(note).Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r.GetTask(ctx, id)
}
