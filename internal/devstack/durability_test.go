package devstack_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/collections-engine/collections/channels"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/internal/app"
	"github.com/collections-engine/collections/internal/devserver"
	"github.com/collections-engine/collections/internal/devstack"
	"github.com/collections-engine/collections/internal/fakeprovider"
)

// TestDevStackProcess is not a test of its own: TestSIGKILLKeepsEveryInvoice
// runs it in a child process (DEVSTACK_CHILD_DIR set) as the stack to kill.
func TestDevStackProcess(t *testing.T) {
	dir := os.Getenv("DEVSTACK_CHILD_DIR")
	if dir == "" {
		t.Skip("runs only as TestSIGKILLKeepsEveryInvoice's child process")
	}
	s, err := devstack.Start(context.Background(), devstack.Options{DataDir: dir, TemporalAddr: os.Getenv("DEVSTACK_CHILD_TEMPORAL"), APIKey: "durability-test-key",
		Config: app.Config{HTTPAddr: os.Getenv("DEVSTACK_CHILD_HTTP"), RateLimit: 1e6,
			// The parent's fake providers, named in this process's environment.
			Messages: app.MessageConfig{Channels: channels.ConfigFromEnv(os.Getenv)},
			Log:      slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("ready %s\n", s.APIURL)
	select {} // until killed
}

// A dev stack killed with SIGKILL while invoices are being created comes
// back with every invoice it acknowledged, each with its workflow running:
// the embedded server's tuning (docs/benchmarks.md) keeps SQLite's WAL and
// synchronous=NORMAL, under which an acknowledged commit survives the
// process.
func TestSIGKILLKeepsEveryInvoice(t *testing.T) {
	if os.Getenv("DEVSTACK_CHILD_DIR") != "" {
		t.Skip("in the child")
	}
	dir := t.TempDir()
	port := func() string {
		p, err := devserver.FreePort("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("127.0.0.1:%d", p)
	}
	httpAddr, temporalAddr := port(), port()
	// The child's messages go to the fake providers, here in the parent,
	// which count what they accept across the kill: the outbox has one row
	// per (invoice, step, channel) whatever happens, so only the provider
	// can tell a message sent twice.
	fake := fakeprovider.Start()
	defer fake.Close()
	start := func() (*exec.Cmd, string) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestDevStackProcess$", "-test.v")
		cmd.Env = append(os.Environ(), "DEVSTACK_CHILD_DIR="+dir, "DEVSTACK_CHILD_HTTP="+httpAddr, "DEVSTACK_CHILD_TEMPORAL="+temporalAddr,
			"SENDGRID_API_KEY="+fakeSendGridKey, "SENDGRID_FROM_EMAIL=ar@example.com", "SENDGRID_BASE_URL="+fake.URL,
			"TWILIO_ACCOUNT_SID="+fakeTwilioAccount, "TWILIO_AUTH_TOKEN="+fakeTwilioToken, "TWILIO_FROM_NUMBER=+15005550006", "TWILIO_BASE_URL="+fake.URL)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ready := make(chan string, 1)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if url, ok := strings.CutPrefix(sc.Text(), "ready "); ok {
					ready <- url
				}
			}
		}()
		select {
		case url := <-ready:
			return cmd, url
		case <-time.After(2 * time.Minute):
			_ = cmd.Process.Kill()
			t.Fatal("the child stack did not start")
		}
		return nil, ""
	}
	kill := func(cmd *exec.Cmd) {
		if err := cmd.Process.Kill(); err != nil { // SIGKILL: no shutdown of any kind
			t.Fatal(err)
		}
		_ = cmd.Wait()
	}

	cmd, base := start()
	c := client{t: t, base: base, key: "durability-test-key"}
	c.must("POST", "/v1/customers", map[string]string{"id": "acme", "name": "Acme", "email": "ap@acme.test", "timezone": "UTC"}, 201)
	now := time.Now()
	var ids []string
	for i := range 30 {
		inv := c.must("POST", "/v1/invoices", map[string]string{"number": fmt.Sprintf("K-%02d", i), "customer_id": "acme", "amount": "100.00",
			"currency": "EUR", "issued_at": rfc3339(now), "due_at": rfc3339(now.Add(30 * 24 * time.Hour)), "policy": "demo"}, 201)
		ids = append(ids, inv["id"].(string))
	}
	kill(cmd) // right after the last acknowledgement, workflows' first tasks still in flight

	// A message the provider accepted while its claim was still pending at
	// the kill may be sent again after the lease (its outcome is unknown):
	// the only kind of second copy allowed.
	outbox, err := db.Open(filepath.Join(dir, "collections.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer outbox.Close()
	atRisk := map[string]bool{}
	var pending []db.Message
	if err := outbox.NewSelect().Model(&pending).Where("status = ?", db.MessagePending).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	accepted := fake.Accepted()
	for _, m := range pending {
		if key := providerKey(m); accepted[key] > 0 {
			atRisk[key] = true
		}
	}

	restarted := time.Now()
	cmd, base = start()
	defer kill(cmd)
	c.base = base
	for _, id := range ids {
		eventually(t, time.Minute, "invoice "+id+" answering from its workflow", func() bool {
			status, inv := c.do("GET", "/v1/invoices/"+id, nil)
			return status == 200 && inv["status_source"] == "workflow" && inv["closed_at"] == nil
		})
	}
	// The invoices carry on where they were: each sends its next messages
	// (the demo policy's steps are seconds apart), and no message goes out
	// twice. (A step not sent before the kill may be superseded by a later
	// one falling due by the time the stack is back, as designed; one whose
	// send the killed process had claimed waits out activities.ClaimLease.)
	eventually(t, 3*time.Minute, "every invoice sending after the restart", func() bool {
		invoices := map[string]bool{}
		for _, m := range c.must("GET", "/v1/outbox?limit=500", nil, 200)["messages"].([]any) {
			m := m.(map[string]any)
			if m["status"] != "sent" {
				continue
			}
			if at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(m["sent_at"])); err == nil && at.After(restarted) {
				invoices[m["invoice_id"].(string)] = true
			}
		}
		return len(invoices) == len(ids)
	})
	// Counted at the provider: each message accepted once (twice only when
	// the kill left it at risk), each one the outbox has as sent accepted,
	// and nothing accepted the outbox does not know.
	accepted = fake.Accepted() // before reading the outbox: every accepted message has its row by then
	var msgs []db.Message
	if err := outbox.NewSelect().Model(&msgs).Where("direction = ? AND channel IN (?)", db.Outbound, bun.In([]string{"email", "sms"})).
		Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	doubled := 0
	for _, m := range msgs {
		key := providerKey(m)
		n := accepted[key]
		delete(accepted, key)
		switch {
		case (m.Status == db.MessageSent || m.Status == db.MessageDelivered) && n == 0:
			t.Errorf("%s %s/%s: recorded sent, never reached the provider", m.InvoiceID, m.Step, m.Channel)
		case n > 1 && !atRisk[key]:
			t.Errorf("%s %s/%s: sent twice: the provider accepted it %d times", m.InvoiceID, m.Step, m.Channel, n)
		case n > 2:
			t.Errorf("%s %s/%s: the provider accepted it %d times", m.InvoiceID, m.Step, m.Channel, n)
		case n == 2:
			doubled++
		}
	}
	for key, n := range accepted {
		t.Errorf("the provider accepted %q %d times; the outbox does not know it", key, n)
	}
	total, _ := fake.Total()
	t.Logf("the provider accepted %d messages; %d were at risk at the kill, %d of them sent again", total, len(atRisk), doubled)
}
