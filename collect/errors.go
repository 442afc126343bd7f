package collect

import (
	"errors"
	"fmt"
)

// Kind says what went wrong with a business action, so that each front door
// can answer in its own terms (an HTTP status, a message beside a form
// field, a row of an import report).
type Kind string

const (
	// NotFound: the invoice, customer, task or application named does not
	// exist.
	NotFound Kind = "not_found"
	// Invalid: the command itself is malformed (a missing or badly written
	// field); Field names it. Nothing was written.
	Invalid Kind = "invalid"
	// Refused: the command is well formed but the invoice's current state
	// refuses it (its workflow's validator said so, naming Field).
	Refused Kind = "refused"
	// Conflict: the command contradicts what is stored (the same number with
	// other details, a task already done, a key reused for other content).
	Conflict Kind = "conflict"
	// Closed: the invoice is closed (paid, cancelled, written off, with the
	// agency) and nothing more can change.
	Closed Kind = "closed"
	// Unavailable: Temporal or the database did not answer; the same
	// command may succeed if retried.
	Unavailable Kind = "unavailable"
)

// Error is a business action's failure.
type Error struct {
	Kind    Kind
	Field   string // the offending field of the command, when there is one
	Message string
	Err     error // the underlying cause, if any
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of err when it is (or wraps) an *Error.
func KindOf(err error) (Kind, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind, true
	}
	return "", false
}

// invalidf reports a malformed field; the message starts with the field's
// name, as every 4xx of the API does.
func invalidf(field, format string, args ...any) *Error {
	return &Error{Kind: Invalid, Field: field, Message: field + ": " + fmt.Sprintf(format, args...)}
}

func notFoundf(format string, args ...any) *Error {
	return &Error{Kind: NotFound, Message: fmt.Sprintf(format, args...)}
}

func conflictf(field, format string, args ...any) *Error {
	return &Error{Kind: Conflict, Field: field, Message: fmt.Sprintf(format, args...)}
}

func closedf(format string, args ...any) *Error {
	return &Error{Kind: Closed, Message: fmt.Sprintf(format, args...)}
}

func unavailablef(err error, format string, args ...any) *Error {
	return &Error{Kind: Unavailable, Message: fmt.Sprintf(format, args...), Err: err}
}
