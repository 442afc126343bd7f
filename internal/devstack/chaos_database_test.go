//go:build chaos

package devstack_test

import (
	"context"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/collections-engine/collections/api"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/internal/devstack"
)

// tcpProxy forwards a local port to a database server; Down cuts every
// connection and refuses new ones until Up, as a network partition or a
// database failover would.
type tcpProxy struct {
	addr, target string
	mu           sync.Mutex
	l            net.Listener
	conns        map[net.Conn]bool
}

func startProxy(t *testing.T, target string) *tcpProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{addr: l.Addr().String(), target: target, conns: map[net.Conn]bool{}}
	p.serve(l)
	t.Cleanup(p.Down)
	return p
}

func (p *tcpProxy) serve(l net.Listener) {
	p.mu.Lock()
	p.l = l
	p.mu.Unlock()
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", p.target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns[in], p.conns[out] = true, true
			p.mu.Unlock()
			go func() { _, _ = io.Copy(out, in); out.Close(); in.Close() }()
			go func() { _, _ = io.Copy(in, out); out.Close(); in.Close() }()
		}
	}()
}

func (p *tcpProxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.l != nil {
		p.l.Close()
		p.l = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

func (p *tcpProxy) Up(t *testing.T) {
	l, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatalf("proxy back up on %s: %v", p.addr, err)
	}
	p.serve(l)
}

// TestChaosDatabaseOutage cuts the application database (PostgreSQL,
// through a proxy) away from a running stack for 20 s while invoices are
// chased. During the outage the API answers 503 with a clear error, for
// reads, writes and a payment webhook alike; afterwards the activities that
// failed have retried and every invoice reached the agency with every step
// sent or superseded, the writes refused during the outage left nothing
// behind, and the payment the processor re-delivered counted once.
func TestChaosDatabaseOutage(t *testing.T) {
	pg := dbtest.Postgres(t) // a fresh database; skipped without TEST_DATABASE_URL
	u, err := url.Parse(pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startProxy(t, u.Host)
	u.Host = proxy.addr
	q := u.Query()
	q.Set("dial_timeout", "2s")
	u.RawQuery = q.Encode()
	s := startStack(t, t.TempDir(), u.String(), false, func(o *devstack.Options) {
		o.RateLimit = 10000
		o.Webhooks = api.WebhookConfig{PaymentsSecret: paymentsSecret}
	})
	defer s.Stop()
	c := client{t: t, base: s.APIURL, key: s.APIKey}
	spacedPolicy(c, "spaced", 5*time.Second)
	c.must("POST", "/v1/customers", map[string]string{"id": "acme", "name": "Acme", "email": "ap@acme.test", "phone": "+4930123456", "timezone": "UTC"}, 201)
	const invoices = 10
	var ids []string
	for i := range invoices {
		ids = append(ids, newSpacedInvoice(c, "DB-"+string(rune('A'+i)), "spaced"))
	}
	time.Sleep(6 * time.Second) // notify and confirm-delivery out
	proxy.Down()
	down := time.Now()

	// The API, during the outage: 503, code unavailable, naming the database.
	answers := map[string]int{}
	check := func(what string, status int, out map[string]any) {
		t.Helper()
		answers[what]++
		e, _ := out["error"].(map[string]any)
		msg, _ := e["message"].(string)
		if status != 503 || e["code"] != "unavailable" || !strings.Contains(msg, "database is unavailable") {
			t.Errorf("%s during the outage: %d %v, want 503 naming the database", what, status, out)
		}
	}
	for time.Since(down) < 20*time.Second {
		st, out := c.do("GET", "/v1/invoices/"+ids[0], nil)
		check("read", st, out)
		st, out = c.do("POST", "/v1/invoices", map[string]string{"number": "DB-OUTAGE", "customer_id": "acme", "amount": "1.00", "currency": "EUR",
			"issued_at": rfc3339(time.Now()), "due_at": rfc3339(time.Now().Add(time.Hour))})
		check("create invoice", st, out)
		st, out = postPayment(t, s.APIURL, map[string]string{"event_id": "evt-outage", "type": "payment.succeeded", "invoice_id": ids[1],
			"amount": "1000.00", "currency": "EUR", "reference": "ch_outage"}, time.Now(), paymentsSecret)
		check("payment webhook", st, out)
		time.Sleep(2 * time.Second)
	}
	proxy.Up(t)
	up := time.Now()

	// The processor delivers the payment again; the invoice closes once.
	eventually(t, time.Minute, "the payment webhook to be taken after the outage", func() bool {
		st, out := postPayment(t, s.APIURL, map[string]string{"event_id": "evt-outage", "type": "payment.succeeded", "invoice_id": ids[1],
			"amount": "1000.00", "currency": "EUR", "reference": "ch_outage"}, time.Now(), paymentsSecret)
		return st == 200 && out["status"] == "accepted"
	})
	eventually(t, 3*time.Minute, "every invoice paid or with the agency", func() bool {
		for _, id := range ids {
			if st := stageOf(c, id); st != "agency" && st != "paid" {
				return false
			}
		}
		return true
	})
	ctx := context.Background()
	if n, err := s.DB.NewSelect().Model((*db.Invoice)(nil)).Where("number = ?", "DB-OUTAGE").Count(ctx); err != nil || n != 0 {
		t.Errorf("the invoice refused during the outage was stored: %d %v", n, err)
	}
	if n, err := s.DB.NewSelect().Model((*db.PaymentEvent)(nil)).Count(ctx); err != nil || n != 1 {
		t.Errorf("payment events: %d %v, want the one re-delivered after the outage", n, err)
	}
	if inv := c.must("GET", "/v1/invoices/"+ids[1], nil, 200); inv["stage"] != "paid" || inv["balance"] != "0.00" {
		t.Errorf("the paid invoice: %v %v", inv["stage"], inv["balance"])
	}
	var msgs []db.Message
	if err := s.DB.NewSelect().Model(&msgs).Scan(ctx); err != nil {
		t.Fatal(err)
	}
	late := 0
	for _, m := range msgs {
		if m.Status != db.MessageSent && m.Status != db.MessageSkipped {
			t.Errorf("%s %s/%s: %s %q", m.InvoiceID, m.Step, m.Channel, m.Status, m.Detail)
		}
		if m.Status == db.MessageSent && m.ScheduledAt.After(down) && m.ScheduledAt.Before(up) {
			late++
			if m.SentAt.Before(up) {
				t.Errorf("%s %s/%s sent at %s, during the outage", m.InvoiceID, m.Step, m.Channel, m.SentAt)
			}
		}
	}
	for _, id := range ids {
		if id == ids[1] {
			continue
		}
		view := c.must("GET", "/v1/invoices/"+id, nil, 200)
		superseded := map[string]bool{}
		for _, e := range view["timeline"].([]any) {
			switch e := e.(map[string]any); e["kind"] {
			case "superseded":
				superseded[e["step"].(string)] = true
			case "delivery_confirmed": // the dev outbox delivers: no SMS needed
				superseded["confirm-delivery"] = true
			}
		}
		sent := map[string]bool{}
		for _, m := range msgs {
			if m.InvoiceID == id && m.Status == db.MessageSent {
				sent[m.Step] = true
			}
		}
		for _, step := range spacedSteps {
			if sent[step] == superseded[step] {
				t.Errorf("%s: step %s sent %v, superseded %v", id, step, sent[step], superseded[step])
			}
		}
	}
	t.Logf("CHAOS database-outage: down %s; answers during it %v (all 503); %d messages due during the outage sent after it",
		up.Sub(down).Round(time.Millisecond), answers, late)
}
