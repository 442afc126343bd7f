package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/api/wire"
	"github.com/collections-engine/collections/collect"
	"github.com/collections-engine/collections/db"
)

// Error is the body of every error response:
// {"error": {"code": "...", "message": "...", "field": "..."}}.
type Error = wire.Error

// Error codes.
const (
	CodeInvalid     = wire.CodeInvalid
	CodeNotFound    = wire.CodeNotFound
	CodeConflict    = wire.CodeConflict
	CodeUnavailable = wire.CodeUnavailable
	CodeInternal    = wire.CodeInternal
	CodeTooLarge    = wire.CodeTooLarge
)

// decode reads a JSON body into v strictly (wire.Decode).
func decode(c echo.Context, v any) error { return wire.Decode(c, v) }

// noNUL refuses a JSON body carrying a NUL character (wire.NoNUL).
func noNUL(raw []byte) error { return wire.NoNUL(raw) }

// cleanValues refuses form or query values no database can store
// (wire.CleanValues).
func cleanValues(values map[string][]string) error { return wire.CleanValues(values) }

func invalid(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalid, Field: field, Message: field + ": " + fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) *Error {
	return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: fmt.Sprintf(format, args...)}
}

func conflict(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusConflict, Code: CodeConflict, Field: field, Message: fmt.Sprintf(format, args...)}
}

func unauthorized(format string, args ...any) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: "unauthenticated", Message: fmt.Sprintf(format, args...)}
}

func unavailable(format string, args ...any) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: fmt.Sprintf(format, args...)}
}

// fromCase answers a business action's failure (a *collect.Error) in HTTP
// terms; any other error (the database's, a bug) passes as it is, for
// errorHandler. This is the one place a kind becomes a status:
//
//	Invalid      400 invalid_argument (a malformed field)
//	Refused      422 invalid_argument (well formed, refused by the state)
//	NotFound     404 not_found
//	Conflict     409 conflict
//	Closed       409 conflict (the invoice is closed)
//	Unavailable  503 unavailable (retry)
func fromCase(err error) error {
	var ce *collect.Error
	if !errors.As(err, &ce) {
		return err
	}
	e := &Error{Field: ce.Field, Message: ce.Message}
	switch ce.Kind {
	case collect.Invalid:
		e.Status, e.Code = http.StatusBadRequest, CodeInvalid
	case collect.Refused:
		e.Status, e.Code = http.StatusUnprocessableEntity, CodeInvalid
	case collect.NotFound:
		e.Status, e.Code = http.StatusNotFound, CodeNotFound
	case collect.Conflict, collect.Closed:
		e.Status, e.Code = http.StatusConflict, CodeConflict
	case collect.Unavailable:
		e.Status, e.Code = http.StatusServiceUnavailable, CodeUnavailable
	default:
		return err
	}
	return e
}

// errorHandler writes every error as JSON. Our own *Error goes out as is;
// Echo's errors (unknown route, body too large) keep their status; anything
// else is logged and reported as a 500 without its details.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	err = fromCase(err)
	var apiErr *Error
	var he *echo.HTTPError
	switch {
	case errors.As(err, &apiErr):
	case errors.As(err, &he):
		apiErr = &Error{Status: he.Code, Code: codeFor(he.Code), Message: strings.ToLower(http.StatusText(he.Code))}
		if m, ok := he.Message.(string); ok && m != "" {
			apiErr.Message = m
		}
	case db.IsUnavailable(err):
		// An outage, not a bug: the same request may succeed soon.
		c.Response().Header().Set("Retry-After", "5")
		apiErr = unavailable("the database is unavailable; retry in a few seconds")
		s.log().Warn("request unavailable: database", "method", c.Request().Method, "path", c.Path(), "error", err)
		_ = c.JSON(apiErr.Status, map[string]*Error{"error": apiErr})
		return
	default:
		s.log().Error("request failed", "method", c.Request().Method, "path", c.Path(), "error", err)
		apiErr = &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error; see the server log"}
	}
	if apiErr.Status >= 500 && apiErr.Code != CodeInternal {
		s.log().Warn("request unavailable", "method", c.Request().Method, "path", c.Path(), "error", apiErr.Message)
	}
	_ = c.JSON(apiErr.Status, map[string]*Error{"error": apiErr})
}

func codeFor(status int) string {
	switch status {
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		return CodeNotFound
	case http.StatusRequestEntityTooLarge:
		return CodeTooLarge
	case http.StatusServiceUnavailable:
		return CodeUnavailable
	}
	if status >= 500 {
		return CodeInternal
	}
	return CodeInvalid
}
