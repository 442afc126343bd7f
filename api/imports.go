package api

// Bulk import: POST /v1/imports/customers and POST /v1/imports/invoices take a
// CSV file whose header names the JSON fields of CustomerRequest or
// InvoiceRequest. Each row goes through the business actions POST
// /v1/customers and POST /v1/invoices call (collect's CreateCustomer and
// ImportInvoice), so a row is validated, stored and started the same way; a failing row is reported and skipped,
// never aborting the import. The whole file is parsed before any row is
// stored: a malformed file, a bad header or too many rows store nothing.

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/collect"
)

const (
	// MaxImportRows bounds the data rows of one import request.
	MaxImportRows = 10000
	// CodeTooManyRows answers a file with more than MaxImportRows rows.
	CodeTooManyRows = "too_many_rows"
	// MIMENDJSON is what a client sends in Accept to get the import's
	// progress streamed as newline-delimited JSON.
	MIMENDJSON = "application/x-ndjson"

	importProgressEvery = 500
)

// ImportSummary is the answer to an import: how many data rows there were,
// how many were stored, were already stored identically, or failed, and why
// each failed row failed.
type ImportSummary struct {
	Total    int              `json:"total"`
	Created  int              `json:"created"`
	Existing int              `json:"existing"`
	Failed   int              `json:"failed"`
	Errors   []ImportRowError `json:"errors"`
}

// ImportRowError is why one row was not imported. Row is the 1-based number
// of the data row (the header is not counted; blank lines are skipped);
// Field, Code and Message are those the single-item endpoint would answer.
type ImportRowError struct {
	Row     int    `json:"row"`
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ImportProgress is one progress line of a streamed import:
// {"progress": {...}} every 500 rows, before the final ImportSummary line.
type ImportProgress struct {
	Rows     int `json:"rows"`
	Total    int `json:"total"`
	Created  int `json:"created"`
	Existing int `json:"existing"`
	Failed   int `json:"failed"`
}

// importKind is what can be imported: its columns and how one row is stored.
type importKind struct {
	name     string   // "customers", "invoices"
	columns  []string // the request's JSON fields, in its order
	required []string // columns the header must have
	// key is the column naming a row's record: a file may name each once.
	key string
	// put stores one row, answering 201 (created) or 200 (already stored).
	put func(s *Server, ctx context.Context, actor collect.Actor, value func(column string) string) (status int, err error)
}

var customerImport = importKind{
	name: "customers",
	columns: []string{"id", "name", "email", "phone", "timezone", "locale", "account_manager", "default_policy",
		"credit_limit", "credit_currency", "payment_terms_days"},
	required: []string{"id", "name", "email", "timezone"},
	key:      "id",
	put: func(s *Server, ctx context.Context, actor collect.Actor, v func(string) string) (int, error) {
		terms := 0
		if t := strings.TrimSpace(v("payment_terms_days")); t != "" {
			n, err := strconv.Atoi(t)
			if err != nil {
				return 0, invalid("payment_terms_days", "%q is not a whole number of days", t)
			}
			terms = n
		}
		req := CustomerRequest{ID: v("id"), Name: v("name"), Email: v("email"), Phone: v("phone"),
			Timezone: v("timezone"), Locale: v("locale"), AccountManager: v("account_manager"), DefaultPolicy: v("default_policy"),
			CreditLimit: v("credit_limit"), CreditCurrency: v("credit_currency"), PaymentTermsDays: terms}
		res, err := s.cases().CreateCustomer(ctx, collect.CreateCustomer{Actor: actor, Customer: req.details()})
		return createdStatus(res.Created), fromCase(err)
	},
}

var invoiceImport = importKind{
	name:     "invoices",
	columns:  []string{"number", "customer_id", "amount", "currency", "issued_at", "due_at", "policy"},
	required: []string{"number", "customer_id", "amount", "currency", "issued_at"}, // due_at may come from the customer's terms
	key:      "number",
	put: func(s *Server, ctx context.Context, actor collect.Actor, v func(string) string) (int, error) {
		res, err := s.cases().ImportInvoice(ctx, collect.CreateInvoice{Actor: actor, Number: v("number"), CustomerID: v("customer_id"),
			Amount: v("amount"), Currency: v("currency"), IssuedAt: v("issued_at"), DueAt: v("due_at"), Policy: v("policy")})
		return createdStatus(res.Created), fromCase(err)
	},
}

// createdStatus is the status a single-item endpoint answers a stored item
// with: 201 when it is new, 200 when it was there already.
func createdStatus(created bool) int {
	if created {
		return http.StatusCreated
	}
	return http.StatusOK
}

// importRoutes registers the imports on the group (/v1).
func (s *Server) importRoutes(g *echo.Group) {
	g.POST("/imports/customers", s.importHandler(&customerImport))
	g.POST("/imports/invoices", s.importHandler(&invoiceImport))
}

// importHandler takes a text/csv body (or a multipart/form-data one with the
// CSV in the field "file"). With Accept: application/x-ndjson the answer is
// streamed: a {"progress": ...} line every 500 rows, then the summary line.
func (s *Server) importHandler(k *importKind) echo.HandlerFunc {
	return func(c echo.Context) error {
		body, err := importBody(c.Request())
		if err != nil {
			return err
		}
		cols, width, rows, err := k.parse(body)
		if err != nil {
			return err
		}
		return s.runImport(c, k, cols, width, rows)
	}
}

// importBody reads the CSV file out of the request.
func importBody(req *http.Request) ([]byte, error) {
	mt, params, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	if err != nil {
		mt = ""
	}
	switch mt {
	case "text/csv":
		if cs := params["charset"]; cs != "" && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "us-ascii") {
			return nil, unsupportedMedia("Content-Type: the CSV must be UTF-8, not %s", cs)
		}
		body, err := io.ReadAll(req.Body)
		return body, readError(err)
	case "multipart/form-data":
		mr, err := req.MultipartReader()
		if err != nil {
			return nil, invalid("Content-Type", "multipart/form-data needs a boundary parameter")
		}
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return nil, invalid("file", "is required: send the CSV in the multipart field \"file\"")
			}
			if err != nil {
				return nil, readError(err)
			}
			if part.FormName() != "file" {
				continue // NextPart skips the rest of this part
			}
			body, err := io.ReadAll(part)
			return body, readError(err)
		}
	}
	return nil, unsupportedMedia("Content-Type: send the CSV as text/csv, or as multipart/form-data with the field \"file\"")
}

func unsupportedMedia(format string, args ...any) *Error {
	return &Error{Status: http.StatusUnsupportedMediaType, Code: CodeInvalid, Field: "Content-Type", Message: fmt.Sprintf(format, args...)}
}

// readError turns a failed body read into the answer decode gives.
func readError(err error) error {
	var maxErr *http.MaxBytesError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &maxErr):
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge, Field: "body", Message: fmt.Sprintf("body: larger than %d bytes", maxErr.Limit)}
	case errors.Is(err, multipart.ErrMessageTooLarge):
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge, Field: "body", Message: "body: the multipart form is too large"}
	}
	return invalid("body", "could not be read: %v", err)
}

var utf8BOM = []byte("\ufeff")

// parse checks the whole file: text, CSV syntax, header, row count. cols maps
// each column of the header to its index; width is the header's length.
func (k *importKind) parse(body []byte) (cols map[string]int, width int, rows [][]string, err error) {
	body = bytes.TrimPrefix(body, utf8BOM) // as spreadsheets write it
	if err := checkText(body); err != nil {
		return nil, 0, nil, err
	}
	r := csv.NewReader(bytes.NewReader(body))
	r.FieldsPerRecord = -1 // a row of the wrong width is that row's error
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, 0, nil, invalid("body", "is empty: a header row naming the columns is required (%s)", strings.Join(k.columns, ","))
	}
	if err != nil {
		return nil, 0, nil, csvError(err)
	}
	if cols, err = k.header(header); err != nil {
		return nil, 0, nil, err
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, 0, nil, csvError(err)
		}
		if len(rows) == MaxImportRows {
			return nil, 0, nil, &Error{Status: http.StatusBadRequest, Code: CodeTooManyRows, Field: "body",
				Message: fmt.Sprintf("body: more than %d rows; split the file", MaxImportRows)}
		}
		rows = append(rows, rec)
	}
	return cols, len(header), rows, nil
}

// checkText rejects bodies that are not UTF-8 text, naming the line.
func checkText(b []byte) error {
	line := 1
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return invalid("body", "is not UTF-8 text (line %d)", line)
		case r == 0:
			return invalid("body", "contains a NUL byte (line %d)", line)
		case r == '\n':
			line++
		}
		i += size
	}
	return nil
}

func csvError(err error) error {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return invalid("body", "malformed CSV: %v", err)
	}
	if pe.StartLine != pe.Line {
		return invalid("body", "malformed CSV at line %d, column %d (in the row starting at line %d): %v", pe.Line, pe.Column, pe.StartLine, pe.Err)
	}
	return invalid("body", "malformed CSV at line %d, column %d: %v", pe.Line, pe.Column, pe.Err)
}

// header maps the header's columns to their indexes: every column must be
// one of the kind's (case and surrounding spaces aside), once, and the
// required ones must all be there.
func (k *importKind) header(header []string) (map[string]int, error) {
	all := strings.Join(k.columns, ", ")
	cols := make(map[string]int, len(header))
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		switch {
		case name == "":
			return nil, invalid("body", "header column %d has no name; the columns are %s", i+1, all)
		case !slices.Contains(k.columns, name):
			return nil, &Error{Status: http.StatusBadRequest, Code: CodeInvalid, Field: strings.TrimSpace(h),
				Message: fmt.Sprintf("%s: unknown column; the columns are %s", strings.TrimSpace(h), all)}
		}
		if _, dup := cols[name]; dup {
			return nil, invalid(name, "the header names this column twice")
		}
		cols[name] = i
	}
	var missing []string
	for _, r := range k.required {
		if _, ok := cols[r]; !ok {
			missing = append(missing, r)
		}
	}
	if len(missing) > 0 {
		return nil, &Error{Status: http.StatusBadRequest, Code: CodeInvalid, Field: missing[0],
			Message: fmt.Sprintf("header: missing required column(s) %s; the columns are %s", strings.Join(missing, ", "), all)}
	}
	return cols, nil
}

// wantsNDJSON reports whether Accept asks for application/x-ndjson.
func wantsNDJSON(accept string) bool {
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || mt != MIMENDJSON {
			continue
		}
		if q, err := strconv.ParseFloat(params["q"], 64); err == nil && q <= 0 {
			continue
		}
		return true
	}
	return false
}

// runImport stores the rows one by one and answers the summary.
func (s *Server) runImport(c echo.Context, k *importKind, cols map[string]int, width int, rows [][]string) error {
	ctx := c.Request().Context()
	sum := ImportSummary{Total: len(rows), Errors: []ImportRowError{}}
	var stream *json.Encoder
	if wantsNDJSON(c.Request().Header.Get(echo.HeaderAccept)) {
		c.Response().Header().Set(echo.HeaderContentType, MIMENDJSON)
		c.Response().WriteHeader(http.StatusOK)
		stream = json.NewEncoder(c.Response())
	}
	start := time.Now()
	s.log().Info("import started", "kind", k.name, "total", len(rows), "stream", stream != nil)
	seen := make(map[string]int, len(rows)) // key -> first row naming it
	for i, rec := range rows {
		if ctx.Err() != nil {
			s.log().Warn("import stopped: the client went away", "kind", k.name, "rows", i,
				"created", sum.Created, "existing", sum.Existing, "failed", sum.Failed)
			return nil
		}
		row := i + 1
		status, err := s.importRow(ctx, k, keyActor(c), cols, width, rec, row, seen)
		switch {
		case err != nil:
			sum.Failed++
			sum.Errors = append(sum.Errors, s.rowError(k, row, err))
		case status == http.StatusCreated:
			sum.Created++
		default:
			sum.Existing++
		}
		if row%importProgressEvery == 0 {
			s.log().Info("import progress", "kind", k.name, "rows", row, "created", sum.Created, "failed", sum.Failed,
				"existing", sum.Existing, "total", sum.Total)
			if stream != nil {
				_ = stream.Encode(map[string]ImportProgress{"progress": {Rows: row, Total: sum.Total,
					Created: sum.Created, Existing: sum.Existing, Failed: sum.Failed}})
				s.flush(c)
			}
		}
	}
	s.log().Info("import finished", "kind", k.name, "total", sum.Total, "created", sum.Created,
		"existing", sum.Existing, "failed", sum.Failed, "duration", time.Since(start))
	if stream != nil {
		_ = stream.Encode(sum)
		s.flush(c)
		return nil
	}
	return c.JSON(http.StatusOK, sum)
}

// flush pushes a streamed line out. A writer that cannot flush (a wrapping
// middleware) gets the lines at the end instead; echo's Response.Flush
// would panic there.
func (s *Server) flush(c echo.Context) {
	if err := http.NewResponseController(c.Response().Writer).Flush(); err != nil {
		s.log().Debug("import progress not flushed", "error", err)
	}
}

// importRow stores one row: its width must be the header's, and its key must
// not be on an earlier row of the file.
func (s *Server) importRow(ctx context.Context, k *importKind, actor collect.Actor, cols map[string]int, width int, rec []string, row int, seen map[string]int) (int, error) {
	if len(rec) != width {
		return 0, invalid("row", "has %d fields; the header has %d", len(rec), width)
	}
	value := func(col string) string {
		if i, ok := cols[col]; ok {
			return rec[i]
		}
		return ""
	}
	if key := strings.TrimSpace(value(k.key)); key != "" {
		if first, dup := seen[key]; dup {
			return 0, conflict(k.key, "%s: %q is also on row %d of this file; a file may name each once", k.key, key, first)
		}
		seen[key] = row
	}
	return k.put(s, ctx, actor, value)
}

// rowError reports a row's error as the single-item endpoint would.
func (s *Server) rowError(k *importKind, row int, err error) ImportRowError {
	var apiErr *Error
	if !errors.As(err, &apiErr) {
		s.log().Error("import row failed", "kind", k.name, "row", row, "error", err)
		return ImportRowError{Row: row, Code: CodeInternal, Message: "internal error; see the server log"}
	}
	if apiErr.Status >= 500 {
		s.log().Warn("import row unavailable", "kind", k.name, "row", row, "error", apiErr.Message)
	}
	return ImportRowError{Row: row, Field: apiErr.Field, Code: apiErr.Code, Message: apiErr.Message}
}
