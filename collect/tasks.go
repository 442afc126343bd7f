package collect

import (
	"context"
	"errors"
	"strings"

	"github.com/google/uuid"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/workflows"
)

// Tasks are created by invoices' workflows (call the customer, review the
// dispute, contact management); people complete them or hand them on.

// CompleteTask marks a task done.
type CompleteTask struct {
	TaskID  string
	Outcome string // required, e.g. reached, no_answer, promised, disputed
	Note    string
	By      string // who did it, as the invoice's timeline names them
	Actor   Actor
}

// CompleteTask marks a task done and tells its invoice's workflow, which
// records it in the timeline; a team task (an unmatched reply's) has no
// invoice, and completing it takes its reply out of the team's queue. Completing it again changes nothing. The
// task is done once stored: a workflow that cannot be told is logged, not
// an error.
func (s *Service) CompleteTask(ctx context.Context, cmd CompleteTask) (*db.Task, error) {
	outcome := strings.TrimSpace(cmd.Outcome)
	if outcome == "" {
		return nil, invalidf("outcome", "is required, e.g. reached or no_answer")
	}
	t, completed, err := s.Store.CompleteTask(ctx, cmd.TaskID, outcome, cmd.Note, s.now())
	if errors.Is(err, db.ErrNotFound) {
		return nil, notFoundf("task %q not found", cmd.TaskID)
	}
	if err != nil {
		return nil, err
	}
	if !completed {
		return t, nil
	}
	s.log().Info("task completed", "task_id", t.ID, "invoice_id", t.InvoiceID, "outcome", outcome, "actor", cmd.Actor.String())
	if t.InvoiceID == "" {
		return t, nil // a team task: no workflow to tell
	}
	inv, err := s.Store.GetInvoice(ctx, t.InvoiceID)
	if err == nil && inv.ClosedAt == nil {
		if err := s.Workflows.TaskCompleted(ctx, inv.WorkflowID, workflows.TaskCompleted{
			TaskID: t.ID, Kind: t.Kind, Outcome: outcome, Note: cmd.Note, Actor: cmd.By,
		}); err != nil {
			s.log().Warn("task completion not signalled", "task_id", t.ID, "error", err)
		}
	}
	return t, nil
}

// ReassignTask gives an open task to someone else.
type ReassignTask struct {
	TaskID   string
	Assignee string // required: who takes it over (an email address or a name)
	Note     string // why, kept in the note on the invoice
	By       string // who moved it, the note's author
	Actor    Actor
}

// ReassignTask gives an open task to someone else and keeps a note of it on
// the task's invoice, in one transaction.
func (s *Service) ReassignTask(ctx context.Context, cmd ReassignTask) (*db.Task, error) {
	assignee, by := strings.TrimSpace(cmd.Assignee), strings.TrimSpace(cmd.By)
	switch {
	case assignee == "":
		return nil, invalidf("assignee", "is required: who takes the task over (an email address or a name)")
	case len(assignee) > 200:
		return nil, invalidf("assignee", "is longer than 200 characters")
	case len(cmd.Note) > 10000:
		return nil, invalidf("note", "is longer than 10000 characters")
	}
	old, err := s.Store.GetTask(ctx, cmd.TaskID)
	if errors.Is(err, db.ErrNotFound) {
		return nil, notFoundf("task %q not found", cmd.TaskID)
	}
	if err != nil {
		return nil, err
	}
	body := "Task \"" + old.Title + "\" reassigned from " + orNobody(old.Assignee) + " to " + assignee
	if n := strings.TrimSpace(cmd.Note); n != "" {
		body += ": " + n
	}
	note := &db.Note{ID: uuid.Must(uuid.NewV7()).String(), Kind: "other", Body: body, Author: by, CreatedAt: s.now()}
	t, err := s.Store.ReassignTask(ctx, old.ID, assignee, note)
	switch {
	case errors.Is(err, db.ErrTaskDone):
		return nil, conflictf("id", "task %q is already done and cannot be reassigned", old.ID)
	case errors.Is(err, db.ErrNotFound):
		return nil, notFoundf("task %q not found", cmd.TaskID)
	case err != nil:
		return nil, err
	}
	s.log().Info("task reassigned", "task_id", t.ID, "assignee", assignee, "actor", cmd.Actor.String())
	return t, nil
}

func orNobody(s string) string {
	if s == "" {
		return "nobody"
	}
	return s
}
