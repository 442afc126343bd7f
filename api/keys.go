package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/db"
)

// API keys over the API, for admins: list (never a secret), create and
// revoke, through the same NewKey and store the `collections keys` command
// uses.

// KeyRequest is the body of POST /v1/keys.
type KeyRequest struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// KeyView is an API key as the API shows it. Key, the secret, is shown once,
// when the key is created; only its hash is kept.
type KeyView struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Role       string     `json:"role"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	Key        string     `json:"key,omitempty"`
}

func keyView(k *db.APIKey, lastUsed map[string]time.Time) KeyView {
	v := KeyView{ID: k.ID, Name: k.Name, Role: k.Role, Prefix: k.Prefix, CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt}
	if t, ok := lastUsed[k.ID]; ok {
		v.LastUsedAt = &t
	}
	return v
}

func (s *Server) keyRoutes(g *echo.Group) {
	g.GET("/keys", s.listKeys)
	g.POST("/keys", s.createKey)
	g.DELETE("/keys/:id", s.revokeKey)
	g.GET("/audit", s.listAudit)
}

func (s *Server) listKeys(c echo.Context) error {
	ctx := c.Request().Context()
	keys, err := s.Store.ListAPIKeys(ctx)
	if err != nil {
		return err
	}
	used, err := s.Store.APIKeysLastUsed(ctx)
	if err != nil {
		return err
	}
	out := make([]KeyView, 0, len(keys))
	for i := range keys {
		out = append(out, keyView(&keys[i], used))
	}
	return c.JSON(http.StatusOK, map[string]any{"keys": out})
}

func (s *Server) createKey(c echo.Context) error {
	var req KeyRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	name := strings.TrimSpace(req.Name)
	switch {
	case name == "":
		return invalid("name", "is required: who or what uses the key")
	case utf8.RuneCountInString(name) > 200:
		return invalid("name", "is longer than 200 characters")
	}
	if err := validRole(req.Role); err != nil {
		return invalid("role", "%v", err)
	}
	secret, rec, err := NewKey(name, req.Role, s.now())
	if err != nil {
		return err
	}
	if err := s.Store.InsertAPIKey(c.Request().Context(), rec); err != nil {
		return err
	}
	v := keyView(rec, nil)
	v.Key = secret
	return c.JSON(http.StatusCreated, v)
}

func (s *Server) revokeKey(c echo.Context) error {
	err := s.Store.RevokeAPIKey(c.Request().Context(), c.Param("id"), s.now())
	if errors.Is(err, db.ErrNotFound) {
		return notFound("no active API key %q", c.Param("id"))
	}
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// keyUseEvery is how often a key's last use is written: a key in constant
// use costs one write a minute.
const keyUseEvery = time.Minute

// keysTouched remembers when this process last wrote each key's use.
var keysTouched sync.Map // key id -> time.Time

// touchKey records a key's use, at most once a minute per key and process;
// a failure only loses the note.
func (s *Server) touchKey(ctx context.Context, key *db.APIKey) {
	now := s.now()
	if last, ok := keysTouched.Load(key.ID); ok && now.Sub(last.(time.Time)) < keyUseEvery {
		return
	}
	keysTouched.Store(key.ID, now)
	if err := s.Store.TouchAPIKey(ctx, key.ID, now, now.Add(-keyUseEvery)); err != nil {
		s.log().Debug("key use not recorded", "key", key.Prefix, "error", err)
	}
}
