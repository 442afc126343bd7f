package deskpage

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/collect"
	"github.com/collections-engine/collections/db"
)

// The team's replies: /desk/replies lists the customers' emailed replies
// that matched no invoice and are still open, newest first, a page at a
// time (the database pages it by received time and id). Each can be
// attached to an invoice (collect.AttachReply, then the account page of
// the invoice's customer) or dismissed (collect.DismissReply, back here),
// with the same forms' mechanisms as the account page's (actions.go).
// /desk/attachments/{id} downloads a reply's file.

const (
	repliesPath    = Prefix + "/replies"
	repliesPerPage = 25
	excerptRunes   = 600
)

// replyView is one open unmatched reply as the page shows it.
type replyView struct {
	E         db.InboundEmail
	Excerpt   string // the start of its text; the template escapes it
	Truncated bool
	Flags     []string
	Files     []fileView
	Task      *db.Task
	Attach    *formView // nil for a key that may not write
	Dismiss   *formView
}

type fileView struct {
	ID, Name, Type, Size string
}

type repliesPage struct {
	Title    string
	KeyName  string
	Flash    string
	CanWrite bool
	Replies  []replyView
	First    bool
	NextURL  string
}

func fileViews(list []db.Attachment) []fileView {
	out := make([]fileView, 0, len(list))
	for _, a := range list {
		out = append(out, fileView{ID: a.ID, Name: a.Filename, Type: a.ContentType, Size: humanSize(a.SizeBytes)})
	}
	return out
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// excerpt is the start of a reply's text, cut on a rune.
func excerpt(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) <= excerptRunes {
		return s, false
	}
	return string([]rune(s)[:excerptRunes]), true
}

// inboundCursor writes and reads the page key: received time and id.
func inboundCursor(k *db.InboundKey) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(k.ReceivedAt.UnixNano(), 10) + " " + k.ID))
}

func parseInboundCursor(s string) (*db.InboundKey, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("cursor: is not one this page wrote")
	}
	ns, id, ok := strings.Cut(string(raw), " ")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil || id == "" || !utf8.ValidString(id) {
		return nil, errors.New("cursor: is not one this page wrote")
	}
	return &db.InboundKey{ReceivedAt: time.Unix(0, n).UTC(), ID: id}, nil
}

// repliesPage is GET /desk/replies?cursor=.
func (pg *Page) repliesPage(c echo.Context) error {
	ctx := c.Request().Context()
	var after *db.InboundKey
	if cur := c.QueryParam("cursor"); cur != "" {
		k, err := parseInboundCursor(cur)
		if err != nil {
			return pg.render(c, http.StatusBadRequest, "error", errorPage{Title: "Bad request", Message: err.Error()})
		}
		after = k
	}
	list, next, err := pg.store.InboundPage(ctx, db.InboundUnmatched, after, repliesPerPage)
	if err != nil {
		return pg.failure(c, err)
	}
	ids := make([]string, 0, len(list))
	for _, e := range list {
		ids = append(ids, e.ID)
	}
	atts, err := pg.store.InboundAttachments(ctx, ids)
	if err != nil {
		return pg.failure(c, err)
	}
	files := map[string][]db.Attachment{}
	for _, a := range atts {
		files[a.InboundEmailID] = append(files[a.InboundEmailID], a)
	}
	key := sessionKey(c)
	p := repliesPage{Title: "Replies", KeyName: keyName(c), First: after == nil,
		CanWrite: pg.cfg.Cases != nil && key != nil && roleAtLeast(key.Role, db.RoleReadWrite)}
	if msg, ok := flashes[c.QueryParam("done")]; ok {
		p.Flash = msg + "."
	}
	if next != nil {
		p.NextURL = repliesPath + "?" + url.Values{"cursor": {inboundCursor(next)}}.Encode()
	}
	for _, e := range list {
		rv := replyView{E: e, Files: fileViews(files[e.ID])}
		rv.Excerpt, rv.Truncated = excerpt(e.Body)
		if e.Flags != "" {
			rv.Flags = strings.Split(e.Flags, ",")
		}
		if e.TaskID != nil {
			t, err := pg.store.GetTask(ctx, *e.TaskID)
			if err != nil && !errors.Is(err, db.ErrNotFound) {
				return pg.failure(c, err)
			}
			rv.Task = t
		}
		if p.CanWrite {
			rv.Attach, rv.Dismiss = pg.replyForm(c, "attach", &rv.E), pg.replyForm(c, "dismiss", &rv.E)
		}
		p.Replies = append(p.Replies, rv)
	}
	return pg.render(c, http.StatusOK, "replies", p)
}

func (pg *Page) replyForm(c echo.Context, name string, e *db.InboundEmail) *formView {
	return &formView{Name: name, P: name + "-" + e.ID, CSRF: pg.csrfOf(c), Role: sessionKey(c).Role, Reply: e,
		V: url.Values{nonceField: {newNonce()}}, Err: map[string]string{}}
}

// attachReply is POST /desk/replies/{id}/attach: to the account page of
// the invoice's customer, at the invoice, whose timeline shows the reply.
func (pg *Page) attachReply(f form) (done, error) {
	res, err := pg.cases().AttachReply(f.ctx(), collect.AttachReply{Actor: actor(f.c), InboundEmailID: f.c.Param("id"), Invoice: f.get("invoice")})
	if err != nil {
		return done{}, err
	}
	what := "attach"
	if res.Already {
		what = "attach_already"
	}
	return done{customerID: res.Invoice.CustomerID, what: what, invoiceID: res.Invoice.ID}, nil
}

// dismissReply is POST /desk/replies/{id}/dismiss: back to the replies.
func (pg *Page) dismissReply(f form) (done, error) {
	if _, err := pg.cases().DismissReply(f.ctx(), collect.DismissReply{Actor: actor(f.c), InboundEmailID: f.c.Param("id"), Note: f.get("note")}); err != nil {
		return done{}, err
	}
	return done{to: repliesPath, what: "dismiss"}, nil
}

// attachment is GET /desk/attachments/{id}: a reply's file, as a download.
func (pg *Page) attachment(c echo.Context) error {
	if pg.cfg.Cases == nil {
		return pg.render(c, http.StatusNotFound, "error", errorPage{Title: "Not found", Message: "Files are not served here."})
	}
	f, err := pg.cases().Attachment(c.Request().Context(), c.Param("id"))
	var ce *collect.Error
	if errors.As(err, &ce) && ce.Kind == collect.NotFound {
		return pg.render(c, http.StatusNotFound, "error", errorPage{Title: "Not found", Message: fmt.Sprintf("id: there is no attachment %q.", c.Param("id"))})
	}
	if err != nil {
		return pg.failure(c, err)
	}
	f.Header(c.Response().Header())
	return c.Blob(http.StatusOK, f.ContentType, f.Content)
}
