package api

import (
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/collect"
	"github.com/collections-engine/collections/db"
)

// InboundEmailView is an email that came in through SendGrid Inbound Parse.
type InboundEmailView struct {
	ID          string    `json:"id"`
	ReceivedAt  time.Time `json:"received_at"`
	From        string    `json:"from"`
	To          string    `json:"to"`
	Subject     string    `json:"subject"`
	Body        string    `json:"body"`
	Status      string    `json:"status"` // matched, unmatched, auto_reply
	MatchedBy   string    `json:"matched_by,omitempty"`
	Flags       string    `json:"flags,omitempty"`
	InvoiceID   *string   `json:"invoice_id"`
	MessageID   *string   `json:"message_id"`
	Attachments int       `json:"attachments"` // files that came with it, kept or not
	// Files are the attachments kept; NotKept says which were not, and why.
	Files      []AttachmentView `json:"files"`
	NotKept    string           `json:"not_kept,omitempty"`
	TaskID     *string          `json:"task_id"` // the team's task, while unmatched
	ResolvedAt *time.Time       `json:"resolved_at,omitempty"`
}

// listInboundEmails lists inbound emails, newest first: status=unmatched is
// the team's queue of replies that found no invoice.
func (s *Server) listInboundEmails(c echo.Context) error {
	status := c.QueryParam("status")
	switch status {
	case "", db.InboundMatched, db.InboundUnmatched, db.InboundAutoReply:
	default:
		return invalid("status", "must be matched, unmatched or auto_reply")
	}
	n, err := queryLimit(c)
	if err != nil {
		return err
	}
	list, err := s.Store.ListInboundEmails(c.Request().Context(), status, c.QueryParam("open") == "true", n)
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(list))
	for _, e := range list {
		ids = append(ids, e.ID)
	}
	atts, err := s.Store.InboundAttachments(c.Request().Context(), ids)
	if err != nil {
		return err
	}
	files := attachmentViews(atts)
	out := make([]InboundEmailView, 0, len(list))
	for i := range list {
		out = append(out, inboundView(&list[i], files[list[i].ID]))
	}
	return c.JSON(http.StatusOK, map[string]any{"inbound_emails": out})
}

// AttachmentView is a file that came with an inbound email; url downloads it.
type AttachmentView struct {
	ID          string `json:"id"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	SizeBytes   int64  `json:"size_bytes"`
	URL         string `json:"url"`
}

func attachmentViews(list []db.Attachment) map[string][]AttachmentView {
	out := map[string][]AttachmentView{}
	for _, a := range list {
		out[a.InboundEmailID] = append(out[a.InboundEmailID], AttachmentView{ID: a.ID, Filename: a.Filename, ContentType: a.ContentType,
			SizeBytes: a.SizeBytes, URL: "/v1/attachments/" + url.PathEscape(a.ID)})
	}
	return out
}

func inboundView(e *db.InboundEmail, files []AttachmentView) InboundEmailView {
	if files == nil {
		files = []AttachmentView{}
	}
	return InboundEmailView{ID: e.ID, ReceivedAt: e.ReceivedAt, From: e.Sender, To: e.Recipient, Subject: e.Subject, Body: e.Body,
		Status: e.Status, MatchedBy: e.MatchedBy, Flags: e.Flags, InvoiceID: e.InvoiceID, MessageID: e.MessageID,
		Attachments: e.Attachments, Files: files, NotKept: e.NotKept, TaskID: e.TaskID, ResolvedAt: e.ResolvedAt}
}

// inboundRoutes: the team's queue of unmatched replies and what to do
// with one, and the download of a reply's attachment.
func (s *Server) inboundRoutes(v1 *echo.Group) {
	v1.GET("/inbound-emails", s.listInboundEmails)
	v1.POST("/inbound-emails/:id/attach", s.attachInboundEmail)
	v1.POST("/inbound-emails/:id/dismiss", s.dismissInboundEmail)
	v1.GET("/attachments/:id", s.downloadAttachment)
}

// InboundAttach is the body of POST /v1/inbound-emails/{id}/attach.
type InboundAttach struct {
	Invoice string `json:"invoice"` // the invoice's id or number
}

// InboundAttachResult is what attaching did.
type InboundAttachResult struct {
	InboundEmail InboundEmailView `json:"inbound_email"`
	InvoiceID    string           `json:"invoice_id"`
	MessageID    string           `json:"message_id"`
	TaskID       string           `json:"task_id,omitempty"`
	Already      bool             `json:"already"`
}

// attachInboundEmail attaches an unmatched reply to an invoice
// (collect.AttachReply).
func (s *Server) attachInboundEmail(c echo.Context) error {
	var b InboundAttach
	if err := decode(c, &b); err != nil {
		return err
	}
	ctx := c.Request().Context()
	res, err := s.cases().AttachReply(ctx, collect.AttachReply{Actor: keyActor(c), InboundEmailID: c.Param("id"), Invoice: b.Invoice})
	if err != nil {
		return fromCase(err)
	}
	atts, err := s.Store.InboundAttachments(ctx, []string{res.Email.ID})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, InboundAttachResult{InboundEmail: inboundView(res.Email, attachmentViews(atts)[res.Email.ID]),
		InvoiceID: res.Invoice.ID, MessageID: res.MessageID, TaskID: res.TaskID, Already: res.Already})
}

// InboundDismiss is the body of POST /v1/inbound-emails/{id}/dismiss.
type InboundDismiss struct {
	Note string `json:"note"`
}

// dismissInboundEmail takes an unmatched reply out of the queue without an
// invoice (collect.DismissReply).
func (s *Server) dismissInboundEmail(c echo.Context) error {
	var b InboundDismiss
	if err := decode(c, &b); err != nil {
		return err
	}
	ctx := c.Request().Context()
	e, err := s.cases().DismissReply(ctx, collect.DismissReply{Actor: keyActor(c), InboundEmailID: c.Param("id"), Note: b.Note})
	if err != nil {
		return fromCase(err)
	}
	atts, err := s.Store.InboundAttachments(ctx, []string{e.ID})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, inboundView(e, attachmentViews(atts)[e.ID]))
}

// downloadAttachment sends a reply's attachment as a download.
func (s *Server) downloadAttachment(c echo.Context) error {
	f, err := s.cases().Attachment(c.Request().Context(), c.Param("id"))
	if err != nil {
		return fromCase(err)
	}
	f.Header(c.Response().Header())
	return c.Blob(http.StatusOK, f.ContentType, f.Content)
}
