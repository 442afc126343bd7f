package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/collect"
	"github.com/collections-engine/collections/db"
)

// TaskView is a task as the API shows it.
type TaskView struct {
	ID string `json:"id"`
	// InvoiceID is null only for a team task (kind unmatched_reply): a
	// reply that matched no invoice; CustomerID too when its sender is no
	// customer's address.
	InvoiceID  *string `json:"invoice_id"`
	CustomerID *string `json:"customer_id"`
	// Kind: call, management_contact, dispute_review, dispute_overdue,
	// reply, unmatched_reply ...
	Kind        string     `json:"kind"`
	Assignee    string     `json:"assignee"`
	Title       string     `json:"title"`
	Detail      string     `json:"detail,omitempty"`
	Status      string     `json:"status"` // open or done
	Outcome     string     `json:"outcome,omitempty"`
	Note        string     `json:"note,omitempty"`
	DueAt       time.Time  `json:"due_at"`
	CreatedAt   time.Time  `json:"created_at"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
}

func taskView(t *db.Task) TaskView {
	return TaskView{ID: t.ID, InvoiceID: orNull(t.InvoiceID), CustomerID: orNull(t.CustomerID), Kind: t.Kind, Assignee: t.Assignee,
		Title: t.Title, Detail: t.Detail, Status: t.Status, Outcome: t.Outcome, Note: t.Note, DueAt: t.DueAt,
		CreatedAt: t.CreatedAt, CompletedAt: t.CompletedAt}
}

// listTasks lists tasks, soonest due first (status, assignee, invoice_id, limit).
func (s *Server) listTasks(c echo.Context) error {
	f := db.TaskFilter{Status: c.QueryParam("status"), Assignee: c.QueryParam("assignee"), InvoiceID: c.QueryParam("invoice_id")}
	if f.Status != "" && f.Status != db.TaskOpen && f.Status != db.TaskDone {
		return invalid("status", "must be open or done")
	}
	n, err := queryLimit(c)
	if err != nil {
		return err
	}
	f.Limit = n
	list, err := s.Store.ListTasks(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := make([]TaskView, 0, len(list))
	for i := range list {
		out = append(out, taskView(&list[i]))
	}
	return c.JSON(http.StatusOK, map[string]any{"tasks": out})
}

// TaskCompletion is the body of POST /v1/tasks/{id}/complete.
type TaskCompletion struct {
	Outcome string `json:"outcome"` // e.g. reached, no_answer, promised, disputed
	Note    string `json:"note"`
	Actor   string `json:"actor"`
}

// completeTask marks a task done and tells the invoice's workflow, which
// records it in the timeline. Completing it again changes nothing.
func (s *Server) completeTask(c echo.Context) error {
	var b TaskCompletion
	if err := decode(c, &b); err != nil {
		return err
	}
	t, err := s.cases().CompleteTask(c.Request().Context(), collect.CompleteTask{TaskID: c.Param("id"),
		Outcome: b.Outcome, Note: b.Note, By: b.Actor, Actor: keyActor(c)})
	if err != nil {
		return fromCase(err)
	}
	return c.JSON(http.StatusOK, taskView(t))
}

func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
