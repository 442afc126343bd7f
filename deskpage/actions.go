package deskpage

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/collect"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/desk"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/money"
	"github.com/collections-engine/collections/workflows"
)

// The day's actions, from the account page: each form posts to one of the
// routes below, which calls the same business action (package collect) as
// the API, with the signed-in key as the actor, and answers the way a
// person expects from a page:
//
//   - success: 303 to the account page with ?done=<what>&invoice=<id>,
//     which shows what happened (post/redirect/get);
//   - a refused form: the form again, on a page of its own, with what was
//     typed and the error beside its field (400 for a malformed field, 422
//     for one the invoice's state refuses, 404, 409 as the API answers);
//   - no or a wrong anti-forgery token, or a key whose role is too low:
//     403, nothing done.
//
// The anti-forgery token is an HMAC of the session cookie under the page's
// secret: one per session, in a hidden field of every form, compared in
// constant time. The cookie itself is SameSite=Strict, and the page's
// headers refuse cross-site form posts (Sec-Fetch-Site) before either.

const (
	ctxSession = "deskpage.session" // the session cookie's value
	csrfField  = "csrf"
	nonceField = "nonce"
)

// actionRoutes registers the forms' routes on the signed-in group.
func (pg *Page) actionRoutes(in *echo.Group) {
	rw, mgr := db.RoleReadWrite, db.RoleManager
	in.POST("/invoices/:id/calls", pg.act(rw, "call", pg.logCall))
	in.POST("/invoices/:id/notes", pg.act(rw, "note", pg.addInvoiceNote))
	in.POST("/customers/:id/notes", pg.act(rw, "customer-note", pg.addCustomerNote))
	in.POST("/invoices/:id/payments", pg.act(rw, "payment", pg.recordPayment))
	in.POST("/invoices/:id/disputes", pg.act(rw, "dispute", pg.openDispute))
	in.POST("/invoices/:id/disputes/resolve", pg.act(rw, "resolve", pg.resolveDispute))
	in.POST("/invoices/:id/pause", pg.act(rw, "pause", pg.pause))
	in.POST("/invoices/:id/resume", pg.act(rw, "resume", pg.resume))
	in.POST("/tasks/:id/complete", pg.act(rw, "complete", pg.completeTask))
	in.POST("/tasks/:id/reassign", pg.act(rw, "reassign", pg.reassignTask))
	in.POST("/invoices/:id/escalation/decision", pg.act(mgr, "decision", pg.decide))
	in.POST("/invoices/:id/agency-outcome", pg.act(rw, "agency", pg.agencyOutcome))
	in.POST("/replies/:id/attach", pg.act(rw, "attach", pg.attachReply)) // replies.go
	in.POST("/replies/:id/dismiss", pg.act(rw, "dismiss", pg.dismissReply))
}

// roleAtLeast reports whether a key's role reaches need (db.Roles, lowest
// first). An unknown role reaches nothing.
func roleAtLeast(have, need string) bool {
	h := slices.Index(db.Roles, have)
	return h >= 0 && h >= slices.Index(db.Roles, need)
}

func sessionKey(c echo.Context) *db.APIKey {
	k, _ := c.Get(ctxKey).(*db.APIKey)
	return k
}

// actor is the signed-in key, as every action records it.
func actor(c echo.Context) collect.Actor {
	k := sessionKey(c)
	if k == nil {
		return collect.Actor{Kind: collect.ActorKey, Name: "anonymous"}
	}
	return collect.Actor{Kind: collect.ActorKey, Name: cmp.Or(k.Name, k.Prefix), KeyID: k.ID, Role: k.Role}
}

// csrfToken is the anti-forgery token of a session.
func (pg *Page) csrfToken(session string) string {
	m := hmac.New(sha256.New, pg.secret)
	m.Write([]byte("collections desk csrf\x00" + session))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (pg *Page) csrfOf(c echo.Context) string {
	s, _ := c.Get(ctxSession).(string)
	if s == "" {
		return ""
	}
	return pg.csrfToken(s)
}

// form is what a handler reads and answers: the posted values, the form's
// name, and where to go afterwards.
type form struct {
	c    echo.Context
	name string
	v    url.Values
}

func (f form) get(k string) string { return f.v.Get(k) }

// nonce is the form's idempotency key: the same form posted twice (a double
// click, a retry after an error) is one command on the workflow.
func (f form) nonce() string {
	if n := f.v.Get(nonceField); validNonce.MatchString(n) {
		return "desk:" + n
	}
	return ""
}

var validNonce = regexp.MustCompile(`^[A-Za-z0-9_-]{16,64}$`)

func newNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// done is where a successful action sends the browser.
type done struct {
	customerID string
	what       string // a key of flashes
	invoiceID  string
	// to is a page of the desk to go to instead of the customer's
	// (the replies, after a dismissal or a team task with no customer).
	to string
}

// act wraps an action: the role, the anti-forgery token and clean values
// first, then the handler; its *collect.Error becomes the form again with
// the error beside the field.
func (pg *Page) act(need, name string, h func(form) (done, error)) echo.HandlerFunc {
	return func(c echo.Context) error {
		key := sessionKey(c)
		if key == nil || !roleAtLeast(key.Role, need) {
			role := ""
			if key != nil {
				role = key.Role
			}
			msg := fmt.Sprintf("This key's role is %s; this form needs %s.", role, need)
			if role == db.RoleReadOnly {
				msg = "This key is read-only: it can look, not change anything."
			}
			return pg.render(c, http.StatusForbidden, "error", errorPage{Title: "Forbidden", Message: msg})
		}
		values, err := c.FormParams()
		if err != nil {
			return pg.render(c, http.StatusBadRequest, "error", errorPage{Title: "Bad request", Message: "The form could not be read."})
		}
		want := pg.csrfOf(c)
		if got := values.Get(csrfField); want == "" || !hmac.Equal([]byte(got), []byte(want)) {
			return pg.render(c, http.StatusForbidden, "error", errorPage{Title: "Forbidden",
				Message: "This form's anti-forgery token is missing or out of date. Reload the page and send the form again."})
		}
		f := form{c: c, name: name, v: values}
		if field, msg := dirty(values); field != "" {
			return pg.refused(f, &collect.Error{Kind: collect.Invalid, Field: field, Message: field + ": " + msg})
		}
		d, err := h(f)
		if err != nil {
			var ce *collect.Error
			if errors.As(err, &ce) {
				return pg.refused(f, ce)
			}
			return pg.failure(c, err)
		}
		if d.to != "" || d.customerID == "" {
			return c.Redirect(http.StatusSeeOther, cmp.Or(d.to, repliesPath)+"?"+url.Values{"done": {d.what}}.Encode())
		}
		q := url.Values{"done": {d.what}}
		if d.invoiceID != "" {
			q.Set("invoice", d.invoiceID)
		}
		to := Prefix + "/customers/" + url.PathEscape(d.customerID) + "?" + q.Encode()
		if d.invoiceID != "" {
			to += "#inv-" + d.invoiceID
		}
		return c.Redirect(http.StatusSeeOther, to)
	}
}

// dirty names a value no database can store: invalid UTF-8 or a NUL.
func dirty(values url.Values) (field, msg string) {
	for k, vs := range values {
		for _, v := range vs {
			if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
				return k, "contains characters that cannot be stored"
			}
		}
	}
	return "", ""
}

// statusOf is the status a refused form answers with, as the API's.
func statusOf(k collect.Kind) int {
	switch k {
	case collect.Invalid:
		return http.StatusBadRequest
	case collect.Refused:
		return http.StatusUnprocessableEntity
	case collect.NotFound:
		return http.StatusNotFound
	case collect.Conflict, collect.Closed:
		return http.StatusConflict
	case collect.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

// formPage is a refused form, alone on a page: what was typed, and the
// error beside its field.
type formPage struct {
	Title   string
	KeyName string
	Back    string
	Form    formView
}

// refused renders the form again with the error.
func (pg *Page) refused(f form, ce *collect.Error) error {
	c := f.c
	ctx := c.Request().Context()
	fv := formView{Name: f.name, CSRF: pg.csrfOf(c), V: f.v, Err: map[string]string{}, Role: sessionKey(c).Role}
	if !validNonce.MatchString(f.v.Get(nonceField)) {
		fv.V = cloneValues(f.v)
		fv.V.Set(nonceField, newNonce())
	}
	if ce.Field != "" && slices.Contains(formFields[f.name], ce.Field) {
		fv.Err[ce.Field] = ce.Message
	} else {
		fv.General = ce.Message
	}
	back := Prefix + "/"
	switch f.name {
	case "customer-note":
		cust, err := pg.store.GetCustomer(ctx, c.Param("id"))
		if errors.Is(err, db.ErrNotFound) {
			return pg.render(c, http.StatusNotFound, "error", errorPage{Title: "Not found", Message: ce.Message})
		} else if err != nil {
			return pg.failure(c, err)
		}
		fv.Cust, back = cust, Prefix+"/customers/"+url.PathEscape(cust.ID)
	case "complete", "reassign":
		t, err := pg.store.GetTask(ctx, c.Param("id"))
		if errors.Is(err, db.ErrNotFound) {
			return pg.render(c, http.StatusNotFound, "error", errorPage{Title: "Not found", Message: ce.Message})
		} else if err != nil {
			return pg.failure(c, err)
		}
		fv.Task, back = t, Prefix+"/customers/"+url.PathEscape(t.CustomerID)
		if t.CustomerID == "" {
			back = repliesPath
		}
	case "attach", "dismiss":
		e, err := pg.store.GetInboundEmail(ctx, c.Param("id"))
		if errors.Is(err, db.ErrNotFound) {
			return pg.render(c, http.StatusNotFound, "error", errorPage{Title: "Not found", Message: ce.Message})
		} else if err != nil {
			return pg.failure(c, err)
		}
		fv.Reply, back = e, repliesPath
	default:
		inv, err := pg.store.GetInvoice(ctx, c.Param("id"))
		if errors.Is(err, db.ErrNotFound) {
			return pg.render(c, http.StatusNotFound, "error", errorPage{Title: "Not found", Message: ce.Message})
		} else if err != nil {
			return pg.failure(c, err)
		}
		fv.Inv, back = formInvoiceOf(inv), Prefix+"/customers/"+url.PathEscape(inv.CustomerID)+"#inv-"+inv.ID
	}
	fv.P = "f-" + f.name
	return pg.render(c, statusOf(ce.Kind), "form", formPage{Title: formTitles[f.name], KeyName: keyName(c), Back: back, Form: fv})
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// formFields are the fields each form shows an error beside; an error about
// any other field (or none) stands at the top of the form.
var formFields = map[string][]string{
	"call":          {"outcome", "note", "promise_amount", "promise_date", "dispute_reason"},
	"note":          {"kind", "body"},
	"customer-note": {"kind", "body"},
	"payment":       {"amount", "currency", "reference"},
	"dispute":       {"reason", "note"},
	"resolve":       {"resolution", "amount", "note"},
	"pause":         {"until", "reason"},
	"resume":        {"reason"},
	"complete":      {"outcome", "note"},
	"reassign":      {"assignee", "note"},
	"decision":      {"decision", "until", "note"},
	"agency":        {"outcome", "amount", "reference"},
	"attach":        {"invoice"},
	"dismiss":       {"note"},
}

var formTitles = map[string]string{
	"call": "Log a call", "note": "Add a note", "customer-note": "Add a note on the customer", "payment": "Record a payment",
	"dispute": "Open a dispute", "resolve": "Resolve the dispute", "pause": "Pause chasing", "resume": "Resume chasing",
	"complete": "Complete the task", "reassign": "Reassign the task", "decision": "Decide on the escalation",
	"agency": "Record the agency's outcome", "attach": "Attach to an invoice", "dismiss": "Dismiss the reply",
}

// flashes say what a successful action did, by the ?done= it redirects with.
var flashes = map[string]string{
	"call": "Call logged", "call_promise": "Call logged with a promise to pay", "call_dispute": "Call logged and dispute opened",
	"call_task": "Call logged; a task to find the customer's number was given to the account manager",
	"note":      "Note added", "customer-note": "Note added on the customer", "payment": "Payment recorded",
	"payment_duplicate": "That payment reference was recorded already; nothing changed",
	"dispute":           "Dispute opened: chasing is paused until it is resolved", "resolve": "Dispute resolved",
	"pause": "Chasing paused", "resume": "Chasing resumed", "complete": "Task completed", "reassign": "Task reassigned",
	"decision": "Decision recorded", "agency": "Agency outcome recorded",
	"attach": "Reply attached", "attach_already": "That reply was attached already; nothing changed",
	"dismiss": "Reply dismissed",
}

// formInvoice is what a form shows of its invoice.
type formInvoice struct {
	ID, Number, Currency, Balance, CustomerID string
}

func formInvoiceOf(inv *db.Invoice) *formInvoice {
	return &formInvoice{ID: inv.ID, Number: inv.Number, Currency: inv.Currency, CustomerID: inv.CustomerID,
		Balance: money.FormatAmount(inv.BalanceMinor, inv.Currency)}
}

// formView is one form as the templates draw it.
type formView struct {
	Name    string
	P       string // the prefix of its elements' ids, unique on the page
	CSRF    string
	Role    string
	Inv     *formInvoice
	Cust    *db.Customer
	Task    *db.Task
	Reply   *db.InboundEmail // an unmatched reply's forms (replies.go)
	V       url.Values       // what was typed, for a form shown again
	Err     map[string]string
	General string
}

// Val is what the field held.
func (f formView) Val(k string) string { return f.V.Get(k) }

// E is the error beside the field, if any.
func (f formView) E(k string) string { return f.Err[k] }

// Is reports whether the field held v (a selected option).
func (f formView) Is(k, v string) bool { return f.V.Get(k) == v }

// Title is the form's heading.
func (f formView) Title() string { return formTitles[f.Name] }

// Action is where the form posts.
func (f formView) Action() string {
	switch {
	case f.Name == "customer-note" && f.Cust != nil:
		return Prefix + "/customers/" + url.PathEscape(f.Cust.ID) + "/notes"
	case f.Task != nil:
		return Prefix + "/tasks/" + url.PathEscape(f.Task.ID) + "/" + f.Name
	case f.Reply != nil:
		return repliesPath + "/" + url.PathEscape(f.Reply.ID) + "/" + f.Name
	case f.Inv != nil:
		return Prefix + "/invoices/" + url.PathEscape(f.Inv.ID) + "/" + formPaths[f.Name]
	}
	return Prefix + "/"
}

var formPaths = map[string]string{"call": "calls", "note": "notes", "payment": "payments", "dispute": "disputes",
	"resolve": "disputes/resolve", "pause": "pause", "resume": "resume", "decision": "escalation/decision", "agency": "agency-outcome"}

// fieldView is one field of a form as the templates draw it: its label, the
// value typed, the error beside it, and how the browser should help.
type fieldView struct {
	ID, Name, Label, Val, Err, Hint string
	Type, InputMode, Autocomplete   string
	Required                        bool
	MaxLen                          int
	Options                         []option
}

type option struct {
	Value, Label string
	Selected     bool
}

// F is a text field: F "reference" "Reference" "hint".
func (f formView) F(name, label, hint string) fieldView {
	return fieldView{ID: f.P + "-" + name, Name: name, Label: label, Val: f.V.Get(name), Err: f.Err[name], Hint: hint, Type: "text", MaxLen: 200}
}

// Amount is a decimal amount field in the form's invoice's currency.
func (f formView) Amount(name, label string) fieldView {
	fv := f.F(name, label, "")
	fv.InputMode, fv.MaxLen = "decimal", 32
	if f.Inv != nil {
		fv.Label += " (" + f.Inv.Currency + ")"
		fv.Hint = "e.g. 1250.00; the balance is " + f.Inv.Balance
	}
	return fv
}

// Date is a date field.
func (f formView) Date(name, label, hint string) fieldView {
	fv := f.F(name, label, hint)
	fv.Type, fv.MaxLen = "date", 40
	return fv
}

// Text is a text area.
func (f formView) Text(name, label string) fieldView {
	fv := f.F(name, label, "")
	fv.Type, fv.MaxLen = "textarea", 20000
	return fv
}

// Sel is a select of one of the choices named; blank adds an empty first
// option (the field is optional), else the first is chosen by default.
func (f formView) Sel(name, label, choices string, blank bool) fieldView {
	fv := f.F(name, label, "")
	fv.Type = "select"
	if blank {
		fv.Options = append(fv.Options, option{Value: "", Label: "—", Selected: fv.Val == ""})
	}
	for _, c := range formChoices[choices] {
		fv.Options = append(fv.Options, option{Value: c, Label: strings.ReplaceAll(c, "_", " "), Selected: fv.Val == c})
	}
	return fv
}

// Req marks a field required.
func (fv fieldView) Req() fieldView { fv.Required = true; return fv }

// formChoices are the options of the forms' selects.
var formChoices = map[string][]string{
	"callOutcomes":   collect.CallOutcomes,
	"disputeReasons": workflows.DisputeReasons,
	"noteKinds":      collect.NoteKinds,
	"resolutions":    {workflows.ResolutionRejected, workflows.ResolutionUpheld, workflows.ResolutionAdjusted},
	"decisions":      {"extend", "agency", "write_off"},
	"agencyOutcomes": {workflows.AgencyCollected, workflows.AgencyPartiallyCollected, workflows.AgencyReturned},
	"taskOutcomes":   {"reached", "no_answer", "left_voicemail", "promised", "disputed", "done"},
}

// accountActions is what the account page shows to act: a flash after an
// action, and the forms the key's role allows for each open invoice and
// task.
type accountActions struct {
	Flash     string
	CanWrite  bool
	CanManage bool
	CustNote  formView
	Invoices  map[string]invoiceForms
	Tasks     map[string]taskForms
}

type invoiceForms struct {
	Call, Note, Payment, Dispute, Resolve, Pause, Resume, Decision, Agency *formView
}

type taskForms struct {
	Complete, Reassign *formView
}

// actions builds the account page's forms for the signed-in key.
func (pg *Page) actions(c echo.Context, a desk.Account) *accountActions {
	key := sessionKey(c)
	out := &accountActions{Invoices: map[string]invoiceForms{}, Tasks: map[string]taskForms{}}
	if msg, ok := flashes[c.QueryParam("done")]; ok {
		out.Flash = msg
		for _, inv := range a.Invoices {
			if inv.ID == c.QueryParam("invoice") {
				out.Flash += " on invoice " + inv.Number
			}
		}
		out.Flash += "."
	}
	if key == nil || !roleAtLeast(key.Role, db.RoleReadWrite) {
		return out
	}
	out.CanWrite, out.CanManage = true, roleAtLeast(key.Role, db.RoleManager)
	csrf := pg.csrfOf(c)
	mk := func(name, id string) *formView {
		return &formView{Name: name, P: name + "-" + id, CSRF: csrf, Role: key.Role,
			V: url.Values{nonceField: {newNonce()}}, Err: map[string]string{}}
	}
	cn := mk("customer-note", a.Customer.ID)
	cn.Cust = &a.Customer
	out.CustNote = *cn
	for i := range a.Invoices {
		inv := &a.Invoices[i]
		if inv.ClosedAt != nil || inv.Stage.Closed() {
			continue
		}
		st := inv.Status
		stage := inv.Stage
		if st != nil {
			stage = st.Stage
		}
		fi := formInvoiceOf(inv)
		f := func(name string) *formView {
			v := mk(name, inv.ID)
			v.Inv = fi
			return v
		}
		disputed := st != nil && st.Dispute != nil && st.Dispute.Resolved == nil || stage == invoice.StageDisputed
		paused := st != nil && st.Paused || stage == invoice.StagePaused
		forms := invoiceForms{Call: f("call"), Note: f("note"), Payment: f("payment")}
		forms.Payment.V.Set("currency", inv.Currency)
		if disputed {
			forms.Resolve = f("resolve")
		} else if stage != invoice.StageAgency {
			forms.Dispute = f("dispute")
		}
		if paused {
			forms.Resume = f("resume")
		} else if stage != invoice.StageAgency {
			forms.Pause = f("pause")
		}
		if stage == invoice.StageEscalated && out.CanManage && (st == nil || st.Escalation == nil || st.Escalation.Decision == "") {
			forms.Decision = f("decision")
		}
		if stage == invoice.StageAgency {
			forms.Agency = f("agency")
		}
		out.Invoices[inv.ID] = forms
	}
	for i := range a.OpenTasks {
		t := &a.OpenTasks[i]
		tf := taskForms{Complete: mk("complete", t.ID), Reassign: mk("reassign", t.ID)}
		tf.Complete.Task, tf.Reassign.Task = t, t
		out.Tasks[t.ID] = tf
	}
	return out
}

// dateOnly is how a date input posts: 2026-12-15.
var dateOnly = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// formDate turns a date input's value into the RFC 3339 time the business
// actions take: the start of that day (UTC), or its last second for a
// deadline ("by the 15th"). Anything else passes as typed, for the action
// to refuse naming the field.
func formDate(v string, endOfDay bool) string {
	v = strings.TrimSpace(v)
	if !dateOnly.MatchString(v) {
		return v
	}
	d, err := time.Parse("2006-01-02", v)
	if err != nil {
		return v
	}
	if endOfDay {
		d = d.Add(24*time.Hour - time.Second)
	}
	return d.Format(time.RFC3339)
}

func (pg *Page) cases() *collect.Service { return pg.cfg.Cases }

func (f form) ctx() context.Context { return f.c.Request().Context() }

func (f form) on() collect.InvoiceCommand {
	return collect.InvoiceCommand{InvoiceID: f.c.Param("id"), Actor: actor(f.c), IdempotencyKey: f.nonce()}
}

func (f form) by() string { return actor(f.c).Name }

// --- the handlers ---------------------------------------------------------

func (pg *Page) logCall(f form) (done, error) {
	res, err := pg.cases().LogCall(f.ctx(), collect.LogCall{InvoiceCommand: f.on(), Outcome: f.get("outcome"), Note: f.get("note"),
		PromiseAmount: strings.TrimSpace(f.get("promise_amount")), PromiseDate: formDate(f.get("promise_date"), true),
		DisputeReason: f.get("dispute_reason"), Author: f.by()})
	if err != nil {
		return done{}, err
	}
	what := "call"
	switch {
	case res.Promised:
		what = "call_promise"
	case res.Disputed:
		what = "call_dispute"
	case res.Task != nil:
		what = "call_task"
	}
	return done{customerID: res.Invoice.CustomerID, what: what, invoiceID: res.Invoice.ID}, nil
}

func (pg *Page) addInvoiceNote(f form) (done, error) {
	n, err := pg.cases().AddNote(f.ctx(), collect.AddNote{InvoiceID: f.c.Param("id"), Kind: f.get("kind"), Body: f.get("body"),
		Author: f.by(), Actor: actor(f.c)})
	if err != nil {
		return done{}, err
	}
	return done{customerID: n.CustomerID, what: "note", invoiceID: n.InvoiceID}, nil
}

func (pg *Page) addCustomerNote(f form) (done, error) {
	id := f.c.Param("id")
	if strings.TrimSpace(id) == "" {
		return done{}, &collect.Error{Kind: collect.NotFound, Message: "no customer named"}
	}
	n, err := pg.cases().AddNote(f.ctx(), collect.AddNote{CustomerID: id, Kind: f.get("kind"), Body: f.get("body"),
		Author: f.by(), Actor: actor(f.c)})
	if err != nil {
		return done{}, err
	}
	return done{customerID: n.CustomerID, what: "customer-note"}, nil
}

func (pg *Page) recordPayment(f form) (done, error) {
	res, err := pg.cases().RecordPayment(f.ctx(), collect.RecordPayment{Actor: actor(f.c), InvoiceID: f.c.Param("id"),
		Amount: strings.TrimSpace(f.get("amount")), Currency: f.get("currency"), Reference: f.get("reference")})
	if err != nil {
		return done{}, err
	}
	what := "payment"
	if res.Duplicate {
		what = "payment_duplicate"
	}
	return done{customerID: res.Invoice.CustomerID, what: what, invoiceID: res.Invoice.ID}, nil
}

// invoiceDone is where an invoice command that answered with the invoice
// sends the browser.
func invoiceDone(what string, inv *db.Invoice, err error) (done, error) {
	if err != nil {
		return done{}, err
	}
	return done{customerID: inv.CustomerID, what: what, invoiceID: inv.ID}, nil
}

func (pg *Page) openDispute(f form) (done, error) {
	inv, err := pg.cases().OpenDispute(f.ctx(), collect.OpenDispute{InvoiceCommand: f.on(), Reason: f.get("reason"), Note: f.get("note")})
	return invoiceDone("dispute", inv, err)
}

func (pg *Page) resolveDispute(f form) (done, error) {
	inv, err := pg.cases().ResolveDispute(f.ctx(), collect.ResolveDispute{InvoiceCommand: f.on(), Resolution: f.get("resolution"),
		Amount: strings.TrimSpace(f.get("amount")), Note: f.get("note"), By: f.by()})
	return invoiceDone("resolve", inv, err)
}

func (pg *Page) pause(f form) (done, error) {
	inv, err := pg.cases().Pause(f.ctx(), collect.Pause{InvoiceCommand: f.on(), Until: formDate(f.get("until"), false),
		Reason: f.get("reason"), By: f.by()})
	return invoiceDone("pause", inv, err)
}

func (pg *Page) resume(f form) (done, error) {
	inv, err := pg.cases().Resume(f.ctx(), collect.Resume{InvoiceCommand: f.on(), Reason: f.get("reason"), By: f.by()})
	return invoiceDone("resume", inv, err)
}

func (pg *Page) decide(f form) (done, error) {
	inv, err := pg.cases().DecideEscalation(f.ctx(), collect.DecideEscalation{InvoiceCommand: f.on(), Decision: f.get("decision"),
		Until: formDate(f.get("until"), true), Note: f.get("note"), By: f.by()})
	return invoiceDone("decision", inv, err)
}

func (pg *Page) agencyOutcome(f form) (done, error) {
	rep, err := pg.cases().ReportAgencyOutcome(f.ctx(), collect.AgencyOutcome{InvoiceCommand: f.on(), Outcome: f.get("outcome"),
		Amount: strings.TrimSpace(f.get("amount")), Reference: f.get("reference")})
	if err != nil {
		return done{}, err
	}
	return done{customerID: rep.Invoice.CustomerID, what: "agency", invoiceID: rep.Invoice.ID}, nil
}

func (pg *Page) completeTask(f form) (done, error) {
	t, err := pg.cases().CompleteTask(f.ctx(), collect.CompleteTask{TaskID: f.c.Param("id"), Outcome: f.get("outcome"),
		Note: f.get("note"), By: f.by(), Actor: actor(f.c)})
	if err != nil {
		return done{}, err
	}
	return done{customerID: t.CustomerID, what: "complete", invoiceID: t.InvoiceID}, nil
}

func (pg *Page) reassignTask(f form) (done, error) {
	t, err := pg.cases().ReassignTask(f.ctx(), collect.ReassignTask{TaskID: f.c.Param("id"), Assignee: f.get("assignee"),
		Note: f.get("note"), By: f.by(), Actor: actor(f.c)})
	if err != nil {
		return done{}, err
	}
	return done{customerID: t.CustomerID, what: "reassign", invoiceID: t.InvoiceID}, nil
}
