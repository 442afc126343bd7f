package desk

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/money"
)

// OpenStages are the stages an invoice on the worklist can be in (the
// worklist's stage filter offers them).
var OpenStages = []invoice.Stage{invoice.StageIssued, invoice.StageNotified, invoice.StageReminded, invoice.StageInquired,
	invoice.StagePressing, invoice.StageEscalated, invoice.StageAgency, invoice.StageDisputed, invoice.StagePromised,
	invoice.StagePaused}

// Buckets are the overdue buckets the worklist filters by.
var Buckets = db.Buckets

// MaxLimit is the most rows one worklist page holds.
const MaxLimit = 500

// FieldError is bad input in one query parameter.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// ParseQuery reads a worklist query from request parameters (get returns
// a parameter's value, "" when absent): manager, currency, stage, bucket,
// min_amount (a decimal in currency, which it needs), has_task (true or
// false), cursor and limit (1 to MaxLimit, defLimit when absent). A bad
// value is a *FieldError naming the parameter.
func ParseQuery(get func(string) string, defLimit int) (Query, error) {
	q := Query{Manager: strings.TrimSpace(get("manager")), Limit: defLimit}
	bad := func(field, format string, args ...any) (Query, error) {
		return Query{}, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
	}
	if cur := strings.TrimSpace(get("currency")); cur != "" {
		code, err := money.Currency(cur)
		if err != nil {
			return bad("currency", "%v", err)
		}
		q.Currency = code
	}
	if st := strings.TrimSpace(get("stage")); st != "" {
		if !slices.Contains(OpenStages, invoice.Stage(st)) {
			return bad("stage", "must be one of the open stages %s", joinStages(OpenStages))
		}
		q.Stage = invoice.Stage(st)
	}
	if b := strings.TrimSpace(get("bucket")); b != "" {
		if b == "90" { // "90+" with its plus sign decoded as a space
			b = db.BucketOver90
		}
		if !slices.Contains(Buckets, b) {
			return bad("bucket", "must be one of %s", strings.Join(Buckets, ", "))
		}
		q.Bucket = b
	}
	if m := strings.TrimSpace(get("min_amount")); m != "" {
		if q.Currency == "" {
			return bad("min_amount", "needs a currency: amounts in different currencies are not compared")
		}
		n, err := money.ParseAmount(m, q.Currency)
		if err != nil {
			return bad("min_amount", "%v", err)
		}
		if n < 0 {
			return bad("min_amount", "must not be negative")
		}
		q.MinBalanceMinor = n
	}
	if h := strings.TrimSpace(get("has_task")); h != "" {
		v, err := strconv.ParseBool(h)
		if err != nil {
			return bad("has_task", "must be true or false")
		}
		q.HasTask = &v
	}
	if c := strings.TrimSpace(get("cursor")); c != "" {
		if _, err := db.DecodeWorklistCursor(c); err != nil {
			return bad("cursor", "%v", err)
		}
		q.Cursor = c
	}
	if l := strings.TrimSpace(get("limit")); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > MaxLimit {
			return bad("limit", "must be a whole number from 1 to %d", MaxLimit)
		}
		q.Limit = n
	}
	return q, nil
}

func joinStages(ss []invoice.Stage) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return strings.Join(out, ", ")
}

// AsFieldError unwraps a *FieldError (ok false for other errors); a cursor
// the database refused counts as one for the cursor field.
func AsFieldError(err error) (*FieldError, bool) {
	var fe *FieldError
	if errors.As(err, &fe) {
		return fe, true
	}
	if errors.Is(err, db.ErrBadCursor) {
		return &FieldError{Field: "cursor", Message: err.Error()}, true
	}
	return nil, false
}

// ParseAccountQuery reads an account page's query: limit (rows per list,
// 1 to MaxAccountItems) and a cursor per list (invoices_cursor,
// payments_cursor, messages_cursor, notes_cursor, tasks_cursor). A bad
// value is a *FieldError naming the parameter.
func ParseAccountQuery(get func(string) string) (AccountQuery, error) {
	q := AccountQuery{Invoices: strings.TrimSpace(get("invoices_cursor")), Payments: strings.TrimSpace(get("payments_cursor")),
		Messages: strings.TrimSpace(get("messages_cursor")), Notes: strings.TrimSpace(get("notes_cursor")),
		Tasks: strings.TrimSpace(get("tasks_cursor"))}
	for field, c := range map[string]string{"invoices_cursor": q.Invoices, "payments_cursor": q.Payments,
		"messages_cursor": q.Messages, "notes_cursor": q.Notes, "tasks_cursor": q.Tasks} {
		if _, err := db.DecodePageKey(c); err != nil {
			return AccountQuery{}, &FieldError{Field: field, Message: err.Error()}
		}
	}
	if l := strings.TrimSpace(get("limit")); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > MaxAccountItems {
			return AccountQuery{}, &FieldError{Field: "limit", Message: fmt.Sprintf("must be a whole number from 1 to %d", MaxAccountItems)}
		}
		q.Limit = n
	}
	return q, nil
}
