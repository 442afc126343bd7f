package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/db"
)

// The audit log: every change of how the engine behaves (a policy, a
// webhook subscription, an API key and its role) is recorded with the key
// that made it, readable by admins at GET /v1/audit.

// auditSubjects are the routes whose successful requests are recorded, and
// what kind of thing each changes.
var auditSubjects = map[string]string{
	"POST /v1/policies":                    "policy",
	"POST /v1/webhook-subscriptions":       "webhook_subscription",
	"DELETE /v1/webhook-subscriptions/:id": "webhook_subscription",
	"POST /v1/keys":                        "api_key",
	"DELETE /v1/keys/:id":                  "api_key",
}

// auditFields are the response fields an entry keeps; secrets (a key, a
// signing secret) are never among them.
var auditFields = []string{"id", "name", "version", "role", "prefix", "url", "events", "description"}

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

// audited runs next and, when the route is one that changes how the engine
// behaves and the change succeeded, records it.
func (s *Server) audited(c echo.Context, key *db.APIKey, next echo.HandlerFunc) error {
	route := c.Request().Method + " " + c.Path()
	kind, ok := auditSubjects[route]
	if !ok {
		return next(c)
	}
	capture := &capturer{ResponseWriter: c.Response().Writer}
	c.Response().Writer = capture
	err := next(c)
	status := c.Response().Status
	if err != nil || status < 200 || status >= 300 || c.Response().Header().Get("Idempotent-Replayed") != "" {
		return err
	}
	var resp map[string]any
	_ = json.Unmarshal(capture.body.Bytes(), &resp)
	detail := map[string]any{}
	for _, f := range auditFields {
		if v, ok := resp[f]; ok {
			detail[f] = v
		}
	}
	subject := c.Param("id")
	if subject == "" {
		subject, _ = resp["id"].(string)
	}
	if kind == "policy" {
		subject = fmt.Sprintf("%v@%v", resp["name"], resp["version"])
	}
	enc, _ := json.Marshal(detail)
	entry := &db.AuditEntry{ID: uuid.Must(uuid.NewV7()).String(), At: s.now(), ActorKeyID: key.ID, Actor: key.Name,
		ActorRole: key.Role, Action: route, SubjectKind: kind, SubjectID: subject, Detail: string(enc)}
	// The change is made: a failure here is logged loudly, and does not
	// turn a done change into an error.
	if err := s.Store.InsertAuditEntry(c.Request().Context(), entry); err != nil {
		s.log().Error("audit entry not recorded", "action", route, "subject", subject, "actor", key.Name, "error", err)
	}
	return nil
}

// capturer copies what a handler writes, up to 64 KiB.
type capturer struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (w *capturer) Write(b []byte) (int, error) {
	if room := 64<<10 - w.body.Len(); room > 0 {
		w.body.Write(b[:min(len(b), room)])
	}
	return w.ResponseWriter.Write(b)
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
