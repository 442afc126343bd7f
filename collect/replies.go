package collect

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"html"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/microcosm-cc/bluemonday"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/workflows"
)

// EmailReply is an email a customer sent in reply to ours (SendGrid
// Inbound Parse), as the front door decoded it. The front door also reads
// which of our messages it names: by the reply-to address's token and by
// its In-Reply-To/References headers, each verified against our inbound
// domain and secret.
type EmailReply struct {
	Actor   Actor
	From    string // the sender's address
	To      string // the To header as written
	Subject string
	Text    string // the text/plain part
	HTML    string // the text/html part, unsanitised
	// Headers are the ones the rules read (canonical names): Message-ID,
	// Auto-Submitted, X-Autoreply, Precedence ...
	Headers map[string]string
	// TokenIDs are our message ids named by a verified reply-to token;
	// ThreadIDs those named by In-Reply-To, then References.
	TokenIDs, ThreadIDs []string
	Attachments         []ReplyAttachment
}

// ReplyAttachment is a file that came with a reply.
type ReplyAttachment struct {
	Filename    string
	ContentType string
	Content     []byte
	// Size is the file's size when the front door did not read a file too
	// large to keep (Content nil).
	Size int64
}

// Limits on what a reply brings in. The front door bounds the whole post
// (hooks); these bound what is kept.
const (
	MaxReplyText        = 100_000        // characters of text and of sanitised HTML kept
	MaxAttachmentBytes  = 5 << 20        // one attachment
	MaxAttachmentsBytes = 10 << 20       // all of a reply's attachments
	MaxAttachments      = 10             // files per reply
	replyTaskDue        = 24 * time.Hour // the account manager's task
	replySummaryLen     = 500            // of the timeline entry and the task's title
)

// AttachmentTypes are the content types kept: documents and images
// remittance advice comes as. Anything else is refused (the reply is kept
// without it, and the record says so).
var AttachmentTypes = map[string]bool{
	"application/pdf": true, "image/png": true, "image/jpeg": true, "image/gif": true, "image/tiff": true, "image/heic": true,
	"text/plain": true, "text/csv": true, "application/vnd.ms-excel": true,
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":       true,
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document": true,
	"application/msword": true, "application/xml": true, "text/xml": true,
}

// ReplyResult is what became of a reply.
type ReplyResult struct {
	Outcome   Outcome // accepted, duplicate, unmatched
	AutoReply bool
	MatchedBy string // token, in_reply_to, subject
	InvoiceID string
	MessageID string // the reply's id in the communication log
	TaskID    string
	Flags     []string
	Refused   []string // attachments not kept, and why
}

var replyPolicy = bluemonday.UGCPolicy()
var stripPolicy = bluemonday.StrictPolicy()

// TakeEmailReply takes a customer's emailed reply. It is matched to the
// message it answers — by the reply-to token, then In-Reply-To/References,
// then the sender's address and an invoice number in the subject — and
// kept in the communication log of that message's invoice with its
// attachments (within limits), on the invoice's timeline, and as a
// "customer replied" task for the account manager; the workflow holds the
// chase per its policy. An automatic reply (TriageReply) is logged only.
// An unmatched reply is kept for the team (GET /v1/inbound-emails) with
// its attachments and a task of kind unmatched_reply (teamTask), never an
// error; AttachReply puts it on an invoice later. A repeat of the same email (its Message-ID) is a Duplicate.
func (s *Service) TakeEmailReply(ctx context.Context, r EmailReply) (ReplyResult, error) {
	from := strings.ToLower(strings.TrimSpace(r.From))
	if from == "" {
		return ReplyResult{}, invalidf("from", "is required: the sender's address")
	}
	text := r.Text
	if strings.TrimSpace(text) == "" && r.HTML != "" {
		text = htmlToText(r.HTML)
	}
	text = truncateRunes(strings.TrimSpace(text), MaxReplyText)
	safeHTML := ""
	if r.HTML != "" {
		safeHTML = truncateRunes(replyPolicy.Sanitize(r.HTML), MaxReplyText)
	}
	key := r.Headers["Message-Id"]
	if key == "" {
		sum := sha256.Sum256([]byte(from + "\x00" + r.Subject + "\x00" + text))
		key = "sha256:" + hex.EncodeToString(sum[:])
	}
	provider, eventID := r.Actor.Name+"-inbound", truncateRunes(key, 200)
	own := OwnText(text)
	tr := TriageReply(r.Headers, r.Subject, own, len(r.Attachments))
	res := ReplyResult{Outcome: Accepted, AutoReply: tr.AutoReply, Flags: tr.Flags}
	now := s.now()
	email := &db.InboundEmail{ID: uuid.Must(uuid.NewV7()).String(), ReceivedAt: now, Sender: truncateRunes(from, 320), Recipient: truncateRunes(r.To, 1000),
		Subject: truncateRunes(r.Subject, 500), Body: text, Flags: strings.Join(tr.Flags, ","), Attachments: len(r.Attachments)}

	atts, refused := keepAttachments(r.Attachments, now)
	res.Refused = refused
	email.HTML, email.NotKept = safeHTML, truncateRunes(strings.Join(refused, "; "), 1000)

	orig, inv, matchedBy, err := s.matchReply(ctx, r, from)
	if err != nil {
		return ReplyResult{}, err
	}
	if inv == nil {
		// The team's: a task with no invoice, the account manager's when
		// the sender is one customer's address (an auto-reply has none).
		email.Status = db.InboundUnmatched
		var task *db.Task
		if tr.AutoReply {
			email.Status = db.InboundAutoReply
		} else if task, err = s.teamTask(ctx, email, own); err != nil {
			return ReplyResult{}, err
		}
		if first, err := s.Store.StoreInboundEmail(ctx, db.InboundReply{Provider: provider, EventID: eventID, Email: email, Attachments: atts, Task: task}); err != nil || !first {
			return ReplyResult{Outcome: Duplicate}, err
		}
		s.log().Warn("email reply matched no invoice", "inbound_id", email.ID, "auto_reply", tr.AutoReply)
		res.Outcome = Unmatched
		if task != nil {
			res.TaskID = task.ID
		}
		return res, nil
	}
	res.MatchedBy, res.InvoiceID = matchedBy, inv.ID
	email.MatchedBy, email.InvoiceID = matchedBy, &inv.ID
	email.Status = db.InboundMatched
	if tr.AutoReply {
		email.Status = db.InboundAutoReply
	}
	f := replyFacts{EmailID: email.ID, From: from, Subject: r.Subject, Text: text, HTML: safeHTML, Own: own, Flags: tr.Flags,
		Provider: r.Actor.Name, ProviderMessageID: key, NotKept: refused}
	if tr.AutoReply {
		f.AutoWhy = "automatic reply (" + tr.Why + ")"
	}
	if orig != nil {
		f.InReplyTo = orig.ID
	}
	msg, task, err := s.replyOnInvoice(ctx, inv, f, now)
	if err != nil {
		return ReplyResult{}, err
	}
	res.MessageID, email.MessageID = msg.ID, &msg.ID
	if task != nil {
		res.TaskID = task.ID
	}
	first, err := s.Store.StoreInboundEmail(ctx, db.InboundReply{Provider: provider, EventID: eventID, Email: email, Message: msg, Attachments: atts, Task: task})
	if err != nil || !first {
		return ReplyResult{Outcome: Duplicate}, err
	}
	s.log().Info("email reply taken", "invoice_id", inv.ID, "message_id", msg.ID, "matched_by", matchedBy, "auto_reply", tr.AutoReply, "flags", tr.Flags)
	s.signalReply(ctx, inv, msg, task, f)
	return res, nil
}

// replyFacts are what a reply brings to the invoice it is on.
type replyFacts struct {
	EmailID, From, Subject, Text, HTML, Own string
	Flags                                   []string
	AutoWhy                                 string // non-empty: an automatic reply, and why
	InReplyTo                               string // our message it answers, if known
	Provider, ProviderMessageID             string
	NotKept                                 []string // attachments refused, and why
}

// replyOnInvoice builds what a reply puts on its invoice: its message in
// the communication log and, unless it is automatic, the account manager's
// "customer replied" task. Matched on arrival (TakeEmailReply) or attached
// by someone later (AttachReply), a reply lands the same way.
func (s *Service) replyOnInvoice(ctx context.Context, inv *db.Invoice, f replyFacts, now time.Time) (*db.Message, *db.Task, error) {
	msg := &db.Message{ID: uuid.Must(uuid.NewV7()).String(), InvoiceID: inv.ID, CustomerID: inv.CustomerID, Step: "reply:" + f.EmailID,
		Channel: "email", Direction: db.Inbound, Recipient: truncateRunes(f.From, 320), Subject: truncateRunes(f.Subject, 500), Body: f.Text, HTML: f.HTML,
		Status: "received", Provider: f.Provider, ProviderMessageID: truncateRunes(f.ProviderMessageID, 200), ScheduledAt: now, CreatedAt: now, SentAt: &now}
	var details []string
	if f.AutoWhy != "" {
		details = append(details, f.AutoWhy)
	}
	if len(f.Flags) > 0 {
		details = append(details, "flags: "+strings.Join(f.Flags, ", "))
	}
	if f.InReplyTo != "" {
		details = append(details, "in reply to "+f.InReplyTo)
	}
	if len(f.NotKept) > 0 {
		details = append(details, "not kept: "+strings.Join(f.NotKept, "; "))
	}
	msg.Detail = truncateRunes(strings.Join(details, "; "), 500)
	if f.AutoWhy != "" {
		return msg, nil, nil
	}
	cust, err := s.Store.GetCustomer(ctx, inv.CustomerID)
	if err != nil {
		return nil, nil, err
	}
	title := "Customer replied about invoice " + inv.Number
	if len(f.Flags) > 0 {
		title += " (" + strings.ReplaceAll(strings.Join(f.Flags, ", "), "_", " ") + ")"
	}
	task := &db.Task{ID: uuid.Must(uuid.NewV7()).String(), InvoiceID: inv.ID, CustomerID: inv.CustomerID, Key: "reply:" + msg.ID,
		Kind: "reply", Assignee: cust.AccountManager, Title: truncateRunes(title, 500), Detail: truncateRunes(cmpOr(f.Own, f.Text), 10000),
		Status: db.TaskOpen, DueAt: now.Add(replyTaskDue), CreatedAt: now}
	return msg, task, nil
}

// signalReply tells an open invoice's workflow about a stored reply with a
// task: its timeline takes it in and the policy may hold the chase. The
// reply is stored already: a workflow that cannot be told is logged, and
// the reply and its task stand.
func (s *Service) signalReply(ctx context.Context, inv *db.Invoice, msg *db.Message, task *db.Task, f replyFacts) {
	if task == nil || inv.ClosedAt != nil {
		return
	}
	if err := s.Workflows.Replied(ctx, inv.WorkflowID, workflows.Replied{MessageID: msg.ID, TaskID: task.ID, From: f.From,
		Summary: truncateRunes(cmpOr(f.Own, f.Text), replySummaryLen), Flags: f.Flags}); err != nil {
		s.log().Warn("reply not signalled", "invoice_id", inv.ID, "workflow_id", inv.WorkflowID, "error", err)
	}
}

// teamTask is the task for a reply that matched no invoice: the account
// manager's when the sender's address is exactly one customer's (on that
// customer's account), else unassigned, the whole team's.
func (s *Service) teamTask(ctx context.Context, email *db.InboundEmail, own string) (*db.Task, error) {
	t := &db.Task{ID: uuid.Must(uuid.NewV7()).String(), Key: "inbound:" + email.ID, Kind: db.TaskUnmatchedReply,
		Title:  truncateRunes("Reply from "+email.Sender+" matched no invoice: "+cmpOr(email.Subject, "(no subject)"), 500),
		Detail: truncateRunes(cmpOr(own, email.Body), 10000), Status: db.TaskOpen, DueAt: email.ReceivedAt.Add(replyTaskDue), CreatedAt: email.ReceivedAt}
	custs, err := s.Store.CustomersByEmail(ctx, email.Sender, 2)
	if err != nil {
		return nil, err
	}
	if len(custs) == 1 {
		t.CustomerID, t.Assignee = custs[0].ID, custs[0].AccountManager
	}
	return t, nil
}

// matchReply finds the message, and so the invoice, a reply answers.
func (s *Service) matchReply(ctx context.Context, r EmailReply, from string) (*db.Message, *db.Invoice, string, error) {
	for _, path := range []struct {
		by  string
		ids []string
	}{{"token", r.TokenIDs}, {"in_reply_to", r.ThreadIDs}} {
		for _, id := range first(path.ids, 10) {
			m, err := s.Store.GetMessage(ctx, id)
			if errors.Is(err, db.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, nil, "", err
			}
			inv, err := s.Store.GetInvoice(ctx, m.InvoiceID)
			if err != nil {
				return nil, nil, "", err
			}
			return m, inv, path.by, nil
		}
	}
	for _, number := range first(invoiceNumbers(r.Subject), 10) {
		inv, err := s.Store.GetInvoiceByNumber(ctx, number)
		if errors.Is(err, db.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, nil, "", err
		}
		m, err := s.Store.LatestOutboundTo(ctx, inv.ID, from)
		if err == nil {
			return m, inv, "subject", nil
		}
		if !errors.Is(err, db.ErrNotFound) {
			return nil, nil, "", err
		}
		cust, err := s.Store.GetCustomer(ctx, inv.CustomerID)
		if err != nil {
			return nil, nil, "", err
		}
		if strings.EqualFold(strings.TrimSpace(cust.Email), from) {
			return nil, inv, "subject", nil
		}
	}
	return nil, nil, "", nil
}

var numberCandidate = regexp.MustCompile(`[A-Za-z0-9][A-Za-z0-9_/.#-]{1,62}[A-Za-z0-9]`)

// invoiceNumbers are the words of a subject that could be an invoice
// number: those with a digit, longest first tried as written.
func invoiceNumbers(subject string) []string {
	var out []string
	for _, w := range numberCandidate.FindAllString(subject, 20) {
		if strings.ContainsAny(w, "0123456789") {
			out = append(out, w)
		}
	}
	return out
}

func first(ids []string, n int) []string {
	if len(ids) > n {
		return ids[:n]
	}
	return ids
}

// keepAttachments keeps the attachments within the limits on type, size
// and number, and says why it left out the others.
func keepAttachments(in []ReplyAttachment, now time.Time) (kept []db.Attachment, refused []string) {
	var total int
	for _, a := range in {
		name := truncateRunes(strings.TrimSpace(a.Filename), 255)
		if name == "" {
			name = "attachment"
		}
		ct := strings.ToLower(strings.TrimSpace(strings.Split(a.ContentType, ";")[0]))
		size := max(int64(len(a.Content)), a.Size)
		switch {
		case len(kept) >= MaxAttachments:
			refused = append(refused, name+": more than the "+itoa(MaxAttachments)+" files kept per reply")
		case !AttachmentTypes[ct]:
			refused = append(refused, name+": type "+truncateRunes(ct, 100)+" is not kept")
		case size > MaxAttachmentBytes:
			refused = append(refused, name+": larger than "+itoa(MaxAttachmentBytes>>20)+" MiB")
		case int64(total)+size > MaxAttachmentsBytes:
			refused = append(refused, name+": the reply's files exceed "+itoa(MaxAttachmentsBytes>>20)+" MiB")
		default:
			total += len(a.Content)
			kept = append(kept, db.Attachment{ID: uuid.Must(uuid.NewV7()).String(), Filename: name,
				ContentType: ct, SizeBytes: int64(len(a.Content)), Content: base64.StdEncoding.EncodeToString(a.Content), CreatedAt: now})
		}
	}
	return kept, refused
}

// htmlToText reads an HTML-only reply as text: block ends become line
// breaks, every tag goes, entities are decoded.
func htmlToText(h string) string {
	r := strings.NewReplacer("<br>", "\n", "<br/>", "\n", "<br />", "\n", "</p>", "\n\n", "</div>", "\n", "</tr>", "\n", "</li>", "\n",
		"<BR>", "\n", "</P>", "\n\n", "</DIV>", "\n")
	return html.UnescapeString(stripPolicy.Sanitize(r.Replace(h)))
}

func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

func cmpOr(a, b string) string {
	if strings.TrimSpace(a) != "" {
		return a
	}
	return b
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	return string(b[i:])
}
