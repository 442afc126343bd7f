package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/collect"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/workflows"
)

// Error is the body of every error response:
// {"error": {"code": "...", "message": "...", "field": "..."}}.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *Error) Error() string { return e.Message }

// Error codes.
const (
	CodeInvalid     = "invalid_argument"
	CodeNotFound    = "not_found"
	CodeConflict    = "conflict"
	CodeUnavailable = "unavailable"
	CodeInternal    = "internal"
	CodeTooLarge    = "body_too_large"
)

func invalid(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalid, Field: field, Message: field + ": " + fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) *Error {
	return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: fmt.Sprintf(format, args...)}
}

func conflict(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusConflict, Code: CodeConflict, Field: field, Message: fmt.Sprintf(format, args...)}
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

// updateError maps what a workflow answered an update with to an HTTP
// error: its validator's refusal naming a field (422), a conflict with its
// state (409), a workflow that has ended (409, saying ended), or else a 503.
func updateError(err error, ended string) error {
	if err == nil {
		return nil
	}
	return fromCase(collect.FromWorkflow(workflows.CommandError(err), ended))
}

// errorHandler writes every error as JSON. Our own *Error goes out as is;
// Echo's errors (unknown route, body too large) keep their status; anything
// else is logged and reported as a 500 without its details.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
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

// noNUL refuses a JSON body carrying a NUL character, raw or as the
// escape \u0000: no text column can store it (PostgreSQL refuses it), so
// it would otherwise come back as a 500 after the body was accepted.
func noNUL(raw []byte) error {
	if bytes.IndexByte(raw, 0) >= 0 {
		return invalid("body", "must not contain NUL characters")
	}
	for i := 0; ; {
		j := bytes.Index(raw[i:], []byte(`u0000`))
		if j < 0 {
			return nil
		}
		j += i
		slashes := 0
		for k := j - 1; k >= 0 && raw[k] == '\\'; k-- {
			slashes++
		}
		if slashes%2 == 1 {
			return invalid("body", "must not contain NUL characters (\\u0000)")
		}
		i = j + 5
	}
}

// cleanValues refuses form or query values no database can store: a NUL
// byte or invalid UTF-8.
func cleanValues(values map[string][]string) error {
	for name, vs := range values {
		for _, v := range vs {
			if strings.ContainsRune(v, 0) || !utf8.ValidString(v) {
				return invalid(name, "must be valid UTF-8 without NUL bytes")
			}
		}
	}
	return nil
}

// decode reads a JSON body into v strictly: unknown fields, wrong types and
// trailing data are client errors naming the field.
func decode(c echo.Context, v any) error {
	raw, err := io.ReadAll(c.Request().Body)
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge, Field: "body", Message: fmt.Sprintf("body: larger than %d bytes", maxErr.Limit)}
	}
	if err != nil {
		return invalid("body", "could not be read: %v", err)
	}
	if err := noNUL(raw); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		var syntaxErr *json.SyntaxError
		var maxErr *http.MaxBytesError
		switch {
		case errors.As(err, &maxErr):
			return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge, Field: "body", Message: fmt.Sprintf("body: larger than %d bytes", maxErr.Limit)}
		case errors.As(err, &typeErr):
			field := typeErr.Field
			if field == "" { // the body itself is of the wrong type ([] or "x")
				field = "body"
			}
			return invalid(field, "must be a %s", jsonType(typeErr.Type.Kind().String()))
		case errors.As(err, &syntaxErr):
			return invalid("body", "malformed JSON at offset %d", syntaxErr.Offset)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			if field == "" {
				return invalid("body", "a field with an empty name")
			}
			return invalid(field, "unknown field")
		case err.Error() == "EOF":
			return invalid("body", "a JSON object is required")
		default:
			return invalid("body", "malformed JSON: %v", err)
		}
	}
	if dec.More() {
		return invalid("body", "unexpected data after the JSON object")
	}
	return nil
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "int", "int64", "int32", "float64":
		return "number"
	case "bool":
		return "boolean"
	case "slice":
		return "list"
	}
	return "JSON object"
}
