// Package wire is the API's form on the wire that every front door
// serving JSON shares (the API and the provider hooks): the error body and
// the strict JSON decoder.
package wire

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

// Invalid is a 400 naming the offending field; the message starts with it.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalid, Field: field, Message: field + ": " + fmt.Sprintf(format, args...)}
}

// NoNUL refuses a JSON body carrying a NUL character, raw or as the
// escape \u0000: no text column can store it (PostgreSQL refuses it), so
// it would otherwise come back as a 500 after the body was accepted.
func NoNUL(raw []byte) error {
	if bytes.IndexByte(raw, 0) >= 0 {
		return Invalid("body", "must not contain NUL characters")
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
			return Invalid("body", "must not contain NUL characters (\\u0000)")
		}
		i = j + 5
	}
}

// CleanValues refuses form or query values no database can store: a NUL
// byte or invalid UTF-8.
func CleanValues(values map[string][]string) error {
	for name, vs := range values {
		for _, v := range vs {
			if strings.ContainsRune(v, 0) || !utf8.ValidString(v) {
				return Invalid(name, "must be valid UTF-8 without NUL bytes")
			}
		}
	}
	return nil
}

// Decode reads a JSON body into v strictly: unknown fields, wrong types and
// trailing data are client errors naming the field.
func Decode(c echo.Context, v any) error {
	raw, err := io.ReadAll(c.Request().Body)
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge, Field: "body", Message: fmt.Sprintf("body: larger than %d bytes", maxErr.Limit)}
	}
	if err != nil {
		return Invalid("body", "could not be read: %v", err)
	}
	if err := NoNUL(raw); err != nil {
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
			return Invalid(field, "must be a %s", jsonType(typeErr.Type.Kind().String()))
		case errors.As(err, &syntaxErr):
			return Invalid("body", "malformed JSON at offset %d", syntaxErr.Offset)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			if field == "" {
				return Invalid("body", "a field with an empty name")
			}
			return Invalid(field, "unknown field")
		case err.Error() == "EOF":
			return Invalid("body", "a JSON object is required")
		default:
			return Invalid("body", "malformed JSON: %v", err)
		}
	}
	if dec.More() {
		return Invalid("body", "unexpected data after the JSON object")
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
