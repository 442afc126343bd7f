package hooks

import (
	"bufio"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/api/wire"
	"github.com/collections-engine/collections/channels"
	"github.com/collections-engine/collections/collect"
)

// SendGrid Inbound Parse: customers' replies to our email. SendGrid posts
// each email it receives on the inbound domain (INBOUND_EMAIL_DOMAIN, whose
// MX points at mx.sendgrid.net) as multipart/form-data: from, to, subject,
// text, html, headers, envelope, attachments and attachment1…N. It does not
// sign these posts, so the route is protected by a secret
// (INBOUND_PARSE_SECRET) in its path, /webhooks/sendgrid/inbound/<secret>,
// or as the password of HTTP basic auth on /webhooks/sendgrid/inbound.

// MaxInboundBytes bounds an inbound-parse post: the reply, its headers and
// its attachments, base64 and all. Larger is refused with 413.
const MaxInboundBytes = 20 << 20

// maxInboundMemory is how much of a post is held in memory while it is
// read; the rest (large attachments) spills to temporary files that are
// removed when the request is done.
const maxInboundMemory = 4 << 20

// maxInboundFields bounds the form fields and files of one post.
const maxInboundFields = 64

// InboundPath is the route's path; a path secret follows it.
const InboundPath = "/webhooks/sendgrid/inbound"

// LargeBody reports whether a request path may carry a body up to
// MaxInboundBytes rather than the API's usual bound.
func LargeBody(path string) bool {
	return path == InboundPath || strings.HasPrefix(path, InboundPath+"/")
}

// inboundAuthorized checks the path secret or basic auth in constant time.
func (h *Hooks) inboundAuthorized(c echo.Context) error {
	secret := h.Config.InboundParseSecret
	if secret == "" {
		return unauthorized("sendgrid inbound refused: INBOUND_PARSE_SECRET is not configured")
	}
	given := c.Param("secret")
	if given == "" {
		_, pw, ok := c.Request().BasicAuth()
		if !ok {
			c.Response().Header().Set("WWW-Authenticate", `Basic realm="inbound"`)
			return unauthorized("sendgrid inbound: the secret is required in the path or as the basic-auth password")
		}
		given = pw
	}
	if subtle.ConstantTimeCompare([]byte(given), []byte(secret)) != 1 {
		return unauthorized("sendgrid inbound: wrong secret")
	}
	return nil
}

// sendgridInbound takes one email from SendGrid Inbound Parse.
func (h *Hooks) sendgridInbound(c echo.Context) error {
	if err := h.inboundAuthorized(c); err != nil {
		return err
	}
	req := c.Request()
	req.Body = http.MaxBytesReader(c.Response(), req.Body, MaxInboundBytes)
	mt, params, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return &wire.Error{Status: http.StatusUnsupportedMediaType, Code: wire.CodeInvalid, Field: "Content-Type",
			Message: "Content-Type: must be multipart/form-data, as SendGrid Inbound Parse posts"}
	}
	form, err := readInboundForm(multipart.NewReader(req.Body, params["boundary"]))
	if err != nil {
		return err
	}
	defer func() { _ = form.RemoveAll() }()
	reply, err := h.decodeInbound(form)
	if err != nil {
		return err
	}
	res, err := h.Cases().TakeEmailReply(req.Context(), reply)
	if err != nil {
		return err
	}
	webhookResult(c, string(res.Outcome), 1)
	return c.JSON(http.StatusOK, map[string]any{"status": res.Outcome, "auto_reply": res.AutoReply, "matched_by": res.MatchedBy,
		"invoice_id": res.InvoiceID, "message_id": res.MessageID, "task_id": res.TaskID, "flags": res.Flags, "refused_attachments": res.Refused})
}

// readInboundForm reads the multipart body with bounds on its parts, its
// size and its memory.
func readInboundForm(r *multipart.Reader) (*multipart.Form, error) {
	form, err := r.ReadForm(maxInboundMemory)
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		return nil, &wire.Error{Status: http.StatusRequestEntityTooLarge, Code: wire.CodeTooLarge, Field: "body",
			Message: "body: larger than " + strconv.Itoa(MaxInboundBytes) + " bytes"}
	case errors.Is(err, multipart.ErrMessageTooLarge):
		return nil, &wire.Error{Status: http.StatusRequestEntityTooLarge, Code: wire.CodeTooLarge, Field: "body", Message: "body: too many or too large parts"}
	case err != nil:
		return nil, wire.Invalid("body", "not a readable multipart form: %v", err)
	}
	n := len(form.File)
	for _, vs := range form.Value {
		n += len(vs)
	}
	if n > maxInboundFields {
		_ = form.RemoveAll()
		return nil, wire.Invalid("body", "more than %d fields and files", maxInboundFields)
	}
	return form, nil
}

// inboundHeaders are the headers of the email the match and the rules read.
var inboundHeaders = []string{"Message-Id", "In-Reply-To", "References", "Auto-Submitted", "X-Autoreply", "X-Autorespond",
	"X-Auto-Response-Suppress", "Precedence"}

// decodeInbound turns the form into the business action's command. Text
// fields must be UTF-8 without NUL (SendGrid converts to UTF-8 when the
// charsets field says so; anything else is refused, nothing stored).
func (h *Hooks) decodeInbound(form *multipart.Form) (collect.EmailReply, error) {
	get := func(k string) string {
		if vs := form.Value[k]; len(vs) > 0 {
			return vs[0]
		}
		return ""
	}
	if err := wire.CleanValues(form.Value); err != nil {
		return collect.EmailReply{}, err
	}
	r := collect.EmailReply{Actor: providerActor("sendgrid"), To: get("to"), Subject: strings.TrimSpace(get("subject")),
		Text: get("text"), HTML: get("html"), Headers: map[string]string{}}
	from, err := mail.ParseAddress(get("from"))
	if err != nil {
		if get("from") == "" {
			return r, wire.Invalid("from", "is required")
		}
		return r, wire.Invalid("from", "is not an email address: %v", err)
	}
	r.From = from.Address
	if raw := get("headers"); raw != "" {
		tp := textproto.NewReader(newLineReader(raw))
		hdr, err := tp.ReadMIMEHeader()
		if err != nil && len(hdr) == 0 {
			return r, wire.Invalid("headers", "not a block of mail headers: %v", err)
		}
		dec := new(mime.WordDecoder)
		for _, k := range inboundHeaders {
			if v := hdr.Get(k); v != "" {
				if d, err := dec.DecodeHeader(v); err == nil && utf8.ValidString(d) {
					v = d
				}
				r.Headers[k] = strings.TrimSpace(v)
			}
		}
	}
	var envelope struct {
		To []string `json:"to"`
	}
	if raw := get("envelope"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &envelope); err != nil {
			return r, wire.Invalid("envelope", "is not SendGrid's envelope JSON: %v", err)
		}
	}
	domain, key := h.Config.InboundDomain, h.Config.InboundSecret
	if domain != "" && key != "" {
		r.TokenIDs = channels.ReplyTokens(key, domain, append([]string{r.To, get("cc")}, envelope.To...)...)
	}
	if domain != "" {
		r.ThreadIDs = append(channels.ParseMessageIDs(domain, r.Headers["In-Reply-To"]), channels.ParseMessageIDs(domain, r.Headers["References"])...)
	}
	for i := 1; i <= maxInboundFields; i++ {
		files := form.File["attachment"+strconv.Itoa(i)]
		if len(files) == 0 {
			continue
		}
		fh := files[0]
		if fh.Size > collect.MaxAttachmentBytes {
			// Not read: keepAttachments records it as too large.
			r.Attachments = append(r.Attachments, collect.ReplyAttachment{Filename: cleanName(fh.Filename), ContentType: fh.Header.Get("Content-Type"),
				Size: fh.Size})
			continue
		}
		f, err := fh.Open()
		if err != nil {
			return r, wire.Invalid("attachment"+strconv.Itoa(i), "could not be read: %v", err)
		}
		content, err := io.ReadAll(f)
		_ = f.Close()
		if err != nil {
			return r, wire.Invalid("attachment"+strconv.Itoa(i), "could not be read: %v", err)
		}
		r.Attachments = append(r.Attachments, collect.ReplyAttachment{Filename: cleanName(fh.Filename), ContentType: fh.Header.Get("Content-Type"), Content: content})
	}
	return r, nil
}

// cleanName keeps a file name's last path element, printable and UTF-8.
func cleanName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.ToValidUTF8(name, "")
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, name)
}

// newLineReader reads a header block that may end without the blank line
// textproto wants.
func newLineReader(raw string) *bufio.Reader {
	raw = strings.ReplaceAll(raw, "\r\n", "\n")
	if !strings.HasSuffix(raw, "\n\n") {
		raw = strings.TrimRight(raw, "\n") + "\n\n"
	}
	return bufio.NewReader(strings.NewReader(raw))
}

// RedactURI hides the path secret of the inbound route from logs.
func RedactURI(uri string) string {
	if strings.HasPrefix(uri, InboundPath+"/") {
		return InboundPath + "/[REDACTED]"
	}
	return uri
}
