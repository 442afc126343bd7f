package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"golang.org/x/time/rate"

	"github.com/collections-engine/collections/collect"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/internal/keys"
)

// API keys: `Authorization: Bearer <key>` on every route but health, the
// spec, the docs and the webhooks (which are authenticated by signatures).
// Only a key's SHA-256 is stored.

const keyPrefix = "ck_"

// NewKey makes a key: the secret to hand out once, and its stored record.
func NewKey(name, role string, now time.Time) (string, *db.APIKey, error) {
	return collect.NewKey(name, role, now)
}

// KeyRecord is the stored record of a given secret (for a key chosen by the
// operator, such as COLLECTIONS_API_KEY in dev); see collect.KeyRecord.
func KeyRecord(secret, name, role string, now time.Time) *db.APIKey {
	return collect.KeyRecord(secret, name, role, now)
}

// HashKey is the stored form of a key.
func HashKey(secret string) string { return keys.Hash(secret) }

const ctxAPIKey = "api_key"

func isOpen(path string) bool {
	switch path {
	case "/healthz", "/readyz", "/metrics", "/openapi.yaml", "/docs":
		return true
	}
	return strings.HasPrefix(path, "/webhooks/")
}

// authenticate checks the bearer key and the role the route needs
// (routeRoles), notes the key's use, and records changes in the audit log.
func (s *Server) authenticate() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			// The collectors' page signs in with a session of its own (package deskpage).
			if isOpen(c.Request().URL.Path) || isPage(c.Request().URL.Path) || s.codecUIRequest(c.Request()) {
				return next(c)
			}
			auth := c.Request().Header.Get("Authorization")
			secret, ok := strings.CutPrefix(auth, "Bearer ")
			if !ok || strings.TrimSpace(secret) == "" {
				return unauthorized("an API key is required: Authorization: Bearer <key>")
			}
			key, err := s.Store.APIKeyByHash(c.Request().Context(), HashKey(strings.TrimSpace(secret)))
			if errors.Is(err, db.ErrNotFound) {
				return unauthorized("the API key is not valid or has been revoked")
			}
			if err != nil {
				if db.IsUnavailable(err) {
					c.Response().Header().Set("Retry-After", "5")
					return unavailable("could not check the API key: the database is unavailable; retry in a few seconds")
				}
				return unavailable("could not check the API key: %v", err)
			}
			// The role each route needs is in one table (roles.go).
			if need := requiredRole(c.Request().Method, c.Path(), c.Request().URL.Path); !allows(key.Role, need) {
				return forbidden(key.Role, need)
			}
			c.Set(ctxAPIKey, key)
			s.touchKey(c.Request().Context(), key)
			return next(c)
		}
	}
}

// rateLimit allows each key RateLimit requests a second (bursts of twice
// that); beyond it, 429 with Retry-After.
func (s *Server) rateLimit() echo.MiddlewareFunc {
	limit := s.RateLimit
	if limit <= 0 {
		limit = 50
	}
	store := middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
		Rate: rate.Limit(limit), Burst: int(2 * limit), ExpiresIn: 3 * time.Minute,
	})
	return middleware.RateLimiterWithConfig(middleware.RateLimiterConfig{
		Skipper: func(c echo.Context) bool { return c.Get(ctxAPIKey) == nil },
		Store:   store,
		IdentifierExtractor: func(c echo.Context) (string, error) {
			return c.Get(ctxAPIKey).(*db.APIKey).ID, nil
		},
		DenyHandler: func(c echo.Context, _ string, _ error) error {
			c.Response().Header().Set("Retry-After", strconv.Itoa(1))
			return &Error{Status: http.StatusTooManyRequests, Code: "rate_limited",
				Message: fmt.Sprintf("more than %v requests a second with this key; retry after a second", limit)}
		},
	})
}

// IdempotencyTTL is how long an Idempotency-Key is remembered.
const IdempotencyTTL = 24 * time.Hour

// idempotency gives every POST the semantics payment APIs use for an
// Idempotency-Key header: the same key and body return the stored response;
// the same key with another body is a 422; keys expire after 24 hours. A
// request that failed on our side (5xx) is forgotten so it can be retried.
func (s *Server) idempotency() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			idem := strings.TrimSpace(req.Header.Get("Idempotency-Key"))
			key, _ := c.Get(ctxAPIKey).(*db.APIKey)
			if req.Method != http.MethodPost || idem == "" || key == nil {
				return next(c)
			}
			if len(idem) > 255 {
				return invalid("Idempotency-Key", "is longer than 255 characters")
			}
			body, err := io.ReadAll(req.Body)
			var maxErr *http.MaxBytesError
			if errors.As(err, &maxErr) {
				return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge, Field: "body", Message: fmt.Sprintf("body: larger than %d bytes", maxErr.Limit)}
			}
			if err != nil {
				return invalid("body", "could not be read: %v", err)
			}
			req.Body = io.NopCloser(bytes.NewReader(body))
			h := sha256.New()
			h.Write([]byte(req.Method + " " + req.URL.RequestURI() + "\n"))
			h.Write(body)
			hash := hex.EncodeToString(h.Sum(nil))
			ctx := req.Context()
			now := s.now()
			stored, claimed, err := s.Store.ClaimIdempotencyKey(ctx, &db.IdempotencyKey{APIKeyID: key.ID, Key: idem,
				RequestHash: hash, CreatedAt: now}, now.Add(-IdempotencyTTL))
			if err != nil {
				return err
			}
			if !claimed {
				switch {
				case stored.RequestHash != hash:
					return &Error{Status: http.StatusUnprocessableEntity, Code: "idempotency_key_reused", Field: "Idempotency-Key",
						Message: "Idempotency-Key was used with a different request; use a new key"}
				case stored.Status == 0:
					return conflict("Idempotency-Key", "a request with this Idempotency-Key is still running")
				}
				c.Response().Header().Set("Idempotent-Replayed", "true")
				return c.Blob(stored.Status, echo.MIMEApplicationJSONCharsetUTF8, []byte(stored.Response))
			}
			rec := &recorder{ResponseWriter: c.Response().Writer}
			c.Response().Writer = rec
			err = next(c)
			if err != nil {
				c.Error(err) // write the error now, so its response is what gets stored
			}
			if status := c.Response().Status; status >= 500 || status == 0 {
				_ = s.Store.ReleaseIdempotencyKey(ctx, key.ID, idem)
			} else if ferr := s.Store.FinishIdempotencyKey(ctx, key.ID, idem, status, rec.body.String()); ferr != nil {
				s.log().Error("idempotent response not stored", "error", ferr)
			}
			return nil
		}
	}
}

// recorder copies a response body as it is written.
type recorder struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}
