package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/db"
)

// The audit log: every change of how the engine behaves (a policy, a
// webhook subscription, an API key and its role) is recorded with the key
// that made it, readable by admins at GET /v1/audit.

// AuditView is an entry as the API shows it.
type AuditView struct {
	ID          string          `json:"id"`
	At          time.Time       `json:"at"`
	ActorKeyID  string          `json:"actor_key_id"`
	Actor       string          `json:"actor"`
	ActorRole   string          `json:"actor_role"`
	Action      string          `json:"action"`
	SubjectKind string          `json:"subject_kind"`
	SubjectID   string          `json:"subject_id,omitempty"`
	Detail      json.RawMessage `json:"detail"`
}

// listAudit lists the audit log, newest first (?subject_kind=&limit=&cursor=).
func (s *Server) listAudit(c echo.Context) error {
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	if limit == 0 {
		limit = 100
	}
	list, err := s.Store.ListAuditEntries(c.Request().Context(), db.AuditFilter{
		SubjectKind: c.QueryParam("subject_kind"), Before: c.QueryParam("cursor"), Limit: limit})
	if err != nil {
		return err
	}
	out := make([]AuditView, 0, len(list))
	for _, e := range list {
		out = append(out, AuditView{ID: e.ID, At: e.At, ActorKeyID: e.ActorKeyID, Actor: e.Actor, ActorRole: e.ActorRole,
			Action: e.Action, SubjectKind: e.SubjectKind, SubjectID: e.SubjectID, Detail: json.RawMessage(e.Detail)})
	}
	page := map[string]any{"entries": out}
	if len(list) == limit {
		page["next_cursor"] = list[len(list)-1].ID
	}
	return c.JSON(http.StatusOK, page)
}
