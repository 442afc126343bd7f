package hooks_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"go.temporal.io/sdk/client"

	"github.com/collections-engine/collections/api"
	"github.com/collections-engine/collections/channels"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/hooks"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/workflows"
)

const (
	inboundDomain      = "reply.acme.test"
	inboundTagSecret   = "inbound-tag-secret-0123456789"
	inboundParseSecret = "parse-secret-abcdef"
	sentMessageID      = "0190aaaa-0000-7000-8000-000000000001"
)

// recordedSignals records the signals the hooks send.
type recordedSignals struct {
	client.Client
	mu   sync.Mutex
	sent []recordedSignal
}

type recordedSignal struct {
	WorkflowID, Name string
	Arg              any
}

func (r *recordedSignals) SignalWorkflow(_ context.Context, id, _ string, name string, arg any) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, recordedSignal{id, name, arg})
	return nil
}

func (r *recordedSignals) replies() []workflows.Replied {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []workflows.Replied
	for _, s := range r.sent {
		if s.Name == workflows.SignalReplied {
			out = append(out, s.Arg.(workflows.Replied))
		}
	}
	return out
}

type inboundEnv struct {
	e       *echo.Echo
	store   *db.Store
	signals *recordedSignals
}

// newInboundEnv serves the webhooks on a database (each of dbtest.All)
// holding customer acme (account manager mia), its open invoice INV-1 and
// the reminder we emailed it.
func newInboundEnv(t testing.TB, database dbtest.Database) *inboundEnv {
	store := db.NewStore(database.DB)
	ctx := context.Background()
	now := time.Now().UTC()
	if _, err := store.InsertCustomer(ctx, &db.Customer{ID: "acme", Name: "Acme", Email: "ap@acme.test", AccountManager: "mia@us.test",
		Timezone: "UTC", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.InsertInvoice(ctx, &db.Invoice{ID: "inv-1", Number: "INV-1", CustomerID: "acme", AmountMinor: 100000, BalanceMinor: 100000,
		Currency: "EUR", IssuedAt: now, DueAt: now.AddDate(0, 0, 30), Stage: invoice.StageReminded, PolicyName: "standard", PolicyVersion: 1,
		WorkflowID: "invoice:inv-1", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.ClaimMessage(ctx, &db.Message{ID: sentMessageID, InvoiceID: "inv-1", CustomerID: "acme", Step: "remind", Channel: "email",
		Direction: "out", Recipient: "AP@acme.test", Subject: "Invoice INV-1 is due", Body: "Please pay.", Status: db.MessageDelivered,
		ScheduledAt: now, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	sig := &recordedSignals{}
	s := &api.Server{Store: store, Temporal: sig, Log: slog.New(slog.DiscardHandler),
		Webhooks: hooks.Config{InboundDomain: inboundDomain, InboundSecret: inboundTagSecret, InboundParseSecret: inboundParseSecret}}
	return &inboundEnv{e: s.Handler(), store: store, signals: sig}
}

// inboundPost is one SendGrid Inbound Parse post.
type inboundPost struct {
	fields map[string]string
	files  []inboundFile
}

type inboundFile struct {
	name, contentType string
	content           []byte
}

func (p inboundPost) body() (*bytes.Buffer, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range p.fields {
		_ = w.WriteField(k, v)
	}
	for i, f := range p.files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="attachment%d"; filename="%s"`, i+1, f.name))
		h.Set("Content-Type", f.contentType)
		part, _ := w.CreatePart(h)
		_, _ = part.Write(f.content)
	}
	if len(p.files) > 0 {
		_ = w.WriteField("attachments", fmt.Sprint(len(p.files)))
	}
	_ = w.Close()
	return &buf, w.FormDataContentType()
}

func (env *inboundEnv) post(t *testing.T, p inboundPost) *httptest.ResponseRecorder {
	t.Helper()
	body, ct := p.body()
	req := httptest.NewRequest(http.MethodPost, hooks.InboundPath+"/"+inboundParseSecret, body)
	req.Header.Set(echo.HeaderContentType, ct)
	return serve(env.e, req)
}

// reply is a customer's reply as SendGrid posts it: quoted reminder, a
// PDF remittance advice, threading headers.
func reply(to, subject, headers string) inboundPost {
	return inboundPost{
		fields: map[string]string{
			"from":     `"Pat Payer" <ap@acme.test>`,
			"to":       to,
			"subject":  subject,
			"text":     "Hello, we paid this yesterday, remittance advice attached.\r\n\r\nOn Mon, 7 Dec 2026 at 09:00, Acme AR <ar@acme.test> wrote:\r\n> Invoice INV-1 is due.\r\n> Please pay.",
			"html":     `<p>Hello, we paid this yesterday, remittance advice attached.</p><script>alert(1)</script><img src=x onerror=alert(2)><blockquote>Invoice INV-1 is due.</blockquote>`,
			"headers":  "Received: by mx.sendgrid.net\r\nMessage-ID: <CAF" + fmt.Sprint(time.Now().UnixNano()) + "@mail.acme.test>\r\n" + headers + "Subject: " + subject + "\r\n",
			"envelope": `{"to":["` + envelopeTo(to) + `"],"from":"ap@acme.test"}`,
			"charsets": `{"to":"UTF-8","subject":"UTF-8","text":"UTF-8","html":"UTF-8","from":"UTF-8"}`,
		},
		files: []inboundFile{{"remittance.pdf", "application/pdf", []byte("%PDF-1.4 remittance")}},
	}
}

func envelopeTo(to string) string {
	if i := strings.LastIndexByte(to, '<'); i >= 0 {
		return strings.TrimSuffix(to[i+1:], ">")
	}
	return to
}

type inboundAnswer struct {
	Status    string   `json:"status"`
	AutoReply bool     `json:"auto_reply"`
	MatchedBy string   `json:"matched_by"`
	InvoiceID string   `json:"invoice_id"`
	MessageID string   `json:"message_id"`
	TaskID    string   `json:"task_id"`
	Flags     []string `json:"flags"`
	Refused   []string `json:"refused_attachments"`
}

func decodeAnswer(t *testing.T, rec *httptest.ResponseRecorder) inboundAnswer {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var a inboundAnswer
	if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestInboundReplyMatchedByEachPath(t *testing.T) {
	token := channels.ReplyAddress(inboundTagSecret, inboundDomain, sentMessageID)
	for _, c := range []struct {
		name string
		post inboundPost
		by   string
	}{
		{"token", reply(`"Acme AR" <`+token+`>`, "Re: Invoice INV-1 is due", ""), "token"},
		{"in_reply_to", reply("ar@acme.test", "Re: your reminder", "In-Reply-To: <"+sentMessageID+"@"+inboundDomain+">\r\n"), "in_reply_to"},
		{"references", reply("ar@acme.test", "Re: your reminder", "References: <x@elsewhere.test> <"+sentMessageID+"@"+inboundDomain+">\r\n"), "in_reply_to"},
		{"subject", reply("ar@acme.test", "Re: Invoice INV-1 is due", ""), "subject"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, database := range dbtest.All(t) {
				t.Run(database.Name, func(t *testing.T) {
					env := newInboundEnv(t, database)
					a := decodeAnswer(t, env.post(t, c.post))
					if a.Status != "accepted" || a.MatchedBy != c.by || a.InvoiceID != "inv-1" || a.AutoReply {
						t.Fatalf("answer %+v", a)
					}
					if len(a.Flags) != 1 || a.Flags[0] != "check_for_payment" {
						t.Errorf("flags %v", a.Flags)
					}
					ctx := context.Background()
					m, err := env.store.GetMessage(ctx, a.MessageID)
					if err != nil {
						t.Fatal(err)
					}
					if m.Direction != db.Inbound || m.InvoiceID != "inv-1" || m.Channel != "email" || m.Recipient != "ap@acme.test" ||
						!strings.Contains(m.Body, "we paid this yesterday") || !strings.Contains(m.Body, "> Invoice INV-1 is due.") {
						t.Errorf("message %+v", m)
					}
					if strings.Contains(m.HTML, "<script") || strings.Contains(m.HTML, "onerror") || !strings.Contains(m.HTML, "we paid this yesterday") {
						t.Errorf("html not sanitised: %q", m.HTML)
					}
					atts, err := env.store.ListAttachments(ctx, []string{m.ID})
					if err != nil || len(atts) != 1 || atts[0].Filename != "remittance.pdf" || atts[0].ContentType != "application/pdf" || atts[0].SizeBytes != 19 {
						t.Fatalf("attachments %+v %v", atts, err)
					}
					full, err := env.store.GetAttachment(ctx, atts[0].ID)
					if raw, _ := base64.StdEncoding.DecodeString(full.Content); err != nil || string(raw) != "%PDF-1.4 remittance" {
						t.Errorf("attachment content %q %v", raw, err)
					}
					task, err := env.store.GetTask(ctx, a.TaskID)
					if err != nil || task.Assignee != "mia@us.test" || task.Kind != "reply" || task.InvoiceID != "inv-1" ||
						!strings.Contains(task.Title, "Customer replied") || !strings.Contains(task.Title, "check for payment") ||
						strings.Contains(task.Detail, "> Invoice") {
						t.Errorf("task %+v %v", task, err)
					}
					rs := env.signals.replies()
					if len(rs) != 1 || rs[0].TaskID != task.ID || rs[0].MessageID != m.ID || rs[0].Summary != "Hello, we paid this yesterday, remittance advice attached." {
						t.Errorf("signals %+v", rs)
					}
					emails, _ := env.store.ListInboundEmails(ctx, db.InboundMatched, false, 10)
					if len(emails) != 1 || emails[0].MatchedBy != c.by || *emails[0].InvoiceID != "inv-1" {
						t.Errorf("inbound emails %+v", emails)
					}
					// The same email again (SendGrid retries) is taken once.
					if again := decodeAnswer(t, env.post(t, c.post)); again.Status != "duplicate" {
						t.Errorf("repeat: %+v", again)
					}
				})
			}
		})
	}
}

func TestInboundReplyUnmatchedBecomesTheTeamsNeverAnError(t *testing.T) {
	for _, database := range dbtest.All(t) {
		t.Run(database.Name, func(t *testing.T) {
			env := newInboundEnv(t, database)
			forged := strings.Replace(channels.ReplyAddress(inboundTagSecret, inboundDomain, sentMessageID), "0001.", "0002.", 1)
			for i, p := range []inboundPost{
				reply(forged, "Re: hello", ""), // a forged token matches nothing
				reply("ar@acme.test", "Re: Invoice INV-404", "In-Reply-To: <nope@"+inboundDomain+">\r\n"),
				{fields: map[string]string{"from": "stranger@else.test", "to": "ar@acme.test", "subject": "Re: Invoice INV-1", "text": "hi"}}, // number, wrong sender
			} {
				a := decodeAnswer(t, env.post(t, p))
				if a.Status != "unmatched" || a.MessageID != "" || a.TaskID == "" {
					t.Errorf("post %d: %+v", i, a)
					continue
				}
				// The team's task: no invoice; the customer's when the
				// sender is a customer's address.
				task, err := env.store.GetTask(context.Background(), a.TaskID)
				if err != nil || task.Kind != db.TaskUnmatchedReply || task.InvoiceID != "" || task.Status != db.TaskOpen {
					t.Errorf("post %d: team task %+v, %v", i, task, err)
				}
			}
			ctx := context.Background()
			open, _ := env.store.ListInboundEmails(ctx, db.InboundUnmatched, true, 10)
			if len(open) != 3 {
				t.Errorf("%d unmatched kept for the team, want 3", len(open))
			}
			msgs, _ := env.store.ListMessages(ctx, db.MessageFilter{InvoiceID: "inv-1"})
			tasks, _ := env.store.ListTasks(ctx, db.TaskFilter{InvoiceID: "inv-1"})
			if len(msgs) != 1 || len(tasks) != 0 || len(env.signals.replies()) != 0 {
				t.Errorf("messages %d tasks %d signals %d", len(msgs), len(tasks), len(env.signals.replies()))
			}
		})
	}
}

func TestInboundAutoReplyIsLoggedOnly(t *testing.T) {
	env := newInboundEnv(t, dbtest.SQLite(t))
	token := channels.ReplyAddress(inboundTagSecret, inboundDomain, sentMessageID)
	for i, p := range []inboundPost{
		reply(token, "Re: Invoice INV-1 is due", "Auto-Submitted: auto-replied\r\n"),
		reply(token, "Out of Office: back on Monday", ""),
		reply(token, "Invoice INV-1 is due", "X-Autoreply: yes\r\n"),
	} {
		a := decodeAnswer(t, env.post(t, p))
		if a.Status != "accepted" || !a.AutoReply || a.TaskID != "" || a.MessageID == "" {
			t.Errorf("post %d: %+v", i, a)
		}
	}
	tasks, _ := env.store.ListTasks(context.Background(), db.TaskFilter{InvoiceID: "inv-1"})
	autos, _ := env.store.ListInboundEmails(context.Background(), db.InboundAutoReply, false, 10)
	if len(tasks) != 0 || len(env.signals.replies()) != 0 || len(autos) != 3 {
		t.Errorf("tasks %d signals %d auto replies logged %d", len(tasks), len(env.signals.replies()), len(autos))
	}
}

func TestInboundAttachmentLimits(t *testing.T) {
	env := newInboundEnv(t, dbtest.SQLite(t))
	p := reply(channels.ReplyAddress(inboundTagSecret, inboundDomain, sentMessageID), "Re: INV-1", "")
	p.files = append(p.files, inboundFile{"run.exe", "application/x-msdownload", []byte("MZ")},
		inboundFile{"big.pdf", "application/pdf", bytes.Repeat([]byte("x"), 5<<20+1)})
	a := decodeAnswer(t, env.post(t, p))
	if len(a.Refused) != 2 || !strings.Contains(a.Refused[0], "run.exe") || !strings.Contains(a.Refused[1], "big.pdf") {
		t.Errorf("refused %v", a.Refused)
	}
	atts, _ := env.store.ListAttachments(context.Background(), []string{a.MessageID})
	if len(atts) != 1 {
		t.Errorf("%d attachments kept, want 1", len(atts))
	}
}

// TestInboundRefusesHostilePostsAndStoresNothing: no secret, a wrong one,
// an oversized post, a malformed one: each a 4xx, nothing stored.
func TestInboundRefusesHostilePostsAndStoresNothing(t *testing.T) {
	for _, database := range dbtest.All(t) {
		t.Run(database.Name, func(t *testing.T) {
			env := newInboundEnv(t, database)
			good := reply("ar@acme.test", "Re: Invoice INV-1", "")
			body := func() (*bytes.Buffer, string) { return good.body() }
			cases := []struct {
				name string
				req  func() *http.Request
				want int
			}{
				{"no secret", func() *http.Request {
					b, ct := body()
					r := httptest.NewRequest(http.MethodPost, hooks.InboundPath, b)
					r.Header.Set(echo.HeaderContentType, ct)
					return r
				}, 401},
				{"wrong path secret", func() *http.Request {
					b, ct := body()
					r := httptest.NewRequest(http.MethodPost, hooks.InboundPath+"/guess", b)
					r.Header.Set(echo.HeaderContentType, ct)
					return r
				}, 401},
				{"wrong basic auth", func() *http.Request {
					b, ct := body()
					r := httptest.NewRequest(http.MethodPost, hooks.InboundPath, b)
					r.Header.Set(echo.HeaderContentType, ct)
					r.SetBasicAuth("sendgrid", "guess")
					return r
				}, 401},
				{"oversized", func() *http.Request {
					p := good
					p.files = []inboundFile{{"huge.pdf", "application/pdf", bytes.Repeat([]byte("x"), hooks.MaxInboundBytes+1)}}
					b, ct := p.body()
					r := httptest.NewRequest(http.MethodPost, hooks.InboundPath+"/"+inboundParseSecret, b)
					r.Header.Set(echo.HeaderContentType, ct)
					return r
				}, 413},
				{"not multipart", func() *http.Request {
					r := httptest.NewRequest(http.MethodPost, hooks.InboundPath+"/"+inboundParseSecret, strings.NewReader(`{"from":"a@b.c"}`))
					r.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
					return r
				}, 415},
				{"broken multipart", func() *http.Request {
					r := httptest.NewRequest(http.MethodPost, hooks.InboundPath+"/"+inboundParseSecret, strings.NewReader("--b\r\nContent-Disposition: form-data; name=\"from\"\r\n\r\nx"))
					r.Header.Set(echo.HeaderContentType, "multipart/form-data; boundary=b")
					return r
				}, 400},
				{"no sender", func() *http.Request {
					p := inboundPost{fields: map[string]string{"to": "ar@acme.test", "subject": "Re: INV-1", "text": "hi"}}
					b, ct := p.body()
					r := httptest.NewRequest(http.MethodPost, hooks.InboundPath+"/"+inboundParseSecret, b)
					r.Header.Set(echo.HeaderContentType, ct)
					return r
				}, 400},
				{"NUL in text", func() *http.Request {
					p := inboundPost{fields: map[string]string{"from": "ap@acme.test", "subject": "Re: INV-1", "text": "a\x00b"}}
					b, ct := p.body()
					r := httptest.NewRequest(http.MethodPost, hooks.InboundPath+"/"+inboundParseSecret, b)
					r.Header.Set(echo.HeaderContentType, ct)
					return r
				}, 400},
				{"invalid UTF-8 subject", func() *http.Request {
					p := inboundPost{fields: map[string]string{"from": "ap@acme.test", "subject": "Re: INV-1 \xff", "text": "x"}}
					b, ct := p.body()
					r := httptest.NewRequest(http.MethodPost, hooks.InboundPath+"/"+inboundParseSecret, b)
					r.Header.Set(echo.HeaderContentType, ct)
					return r
				}, 400},
				{"bad envelope", func() *http.Request {
					p := inboundPost{fields: map[string]string{"from": "ap@acme.test", "subject": "Re: INV-1", "text": "x", "envelope": "{"}}
					b, ct := p.body()
					r := httptest.NewRequest(http.MethodPost, hooks.InboundPath+"/"+inboundParseSecret, b)
					r.Header.Set(echo.HeaderContentType, ct)
					return r
				}, 400},
			}
			for _, c := range cases {
				rec := serve(env.e, c.req())
				if rec.Code != c.want {
					t.Errorf("%s: %d %s, want %d", c.name, rec.Code, rec.Body, c.want)
				}
			}
			ctx := context.Background()
			emails, _ := env.store.ListInboundEmails(ctx, "", false, 10)
			msgs, _ := env.store.ListMessages(ctx, db.MessageFilter{InvoiceID: "inv-1"})
			tasks, _ := env.store.ListTasks(ctx, db.TaskFilter{InvoiceID: "inv-1"})
			if len(emails) != 0 || len(msgs) != 1 || len(tasks) != 0 || len(env.signals.replies()) != 0 {
				t.Errorf("stored: inbound %d messages %d tasks %d signals %d", len(emails), len(msgs), len(tasks), len(env.signals.replies()))
			}
			// Basic auth with the right secret is taken.
			b, ct := body()
			r := httptest.NewRequest(http.MethodPost, hooks.InboundPath, b)
			r.Header.Set(echo.HeaderContentType, ct)
			r.SetBasicAuth("sendgrid", inboundParseSecret)
			if a := decodeAnswer(t, serve(env.e, r)); a.Status != "accepted" {
				t.Errorf("basic auth: %+v", a)
			}
		})
	}
}

// FuzzSendGridInbound posts arbitrary multipart bodies, with the secret:
// whatever comes, the answer is never a 5xx.
func FuzzSendGridInbound(f *testing.F) {
	seed, ct := reply("ar@acme.test", "Re: Invoice INV-1", "In-Reply-To: <"+sentMessageID+"@"+inboundDomain+">\r\n").body()
	boundary := strings.TrimPrefix(ct, "multipart/form-data; boundary=")
	f.Add(boundary, seed.Bytes())
	f.Add("b", []byte("--b\r\nContent-Disposition: form-data; name=\"from\"\r\n\r\nap@acme.test\r\n--b\r\nContent-Disposition: form-data; name=\"headers\"\r\n\r\nAuto-Submitted\r\n--b--\r\n"))
	f.Add("b", []byte("--b\r\nContent-Disposition: form-data; name=\"attachment1\"; filename=\"../../etc/passwd\"\r\nContent-Type: text/plain\r\n\r\nroot\r\n--b--"))
	f.Add("", []byte{})
	env := newInboundEnv(f, dbtest.SQLite(f))
	f.Fuzz(func(t *testing.T, boundary string, body []byte) {
		r := httptest.NewRequest(http.MethodPost, hooks.InboundPath+"/"+inboundParseSecret, bytes.NewReader(body))
		r.Header.Set(echo.HeaderContentType, "multipart/form-data; boundary="+boundary)
		clientError(t, "inbound", body, serve(env.e, r))
	})
}
