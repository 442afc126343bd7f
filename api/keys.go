package api

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/collect"
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
	k, err := s.cases().CreateKey(c.Request().Context(), collect.CreateKey{Actor: keyActor(c), Name: req.Name, Role: req.Role})
	if err != nil {
		return fromCase(err)
	}
	v := keyView(k.Key, nil)
	v.Key = k.Secret
	return c.JSON(http.StatusCreated, v)
}

func (s *Server) revokeKey(c echo.Context) error {
	if err := s.cases().RevokeKey(c.Request().Context(), collect.RevokeKey{Actor: keyActor(c), ID: c.Param("id")}); err != nil {
		return fromCase(err)
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
