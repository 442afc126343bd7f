//go:build chaos

package devstack_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/internal/devserver"
	"github.com/collections-engine/collections/internal/fakeprovider"
)

func buildDevBinary(t *testing.T) (string, error) {
	bin := filepath.Join(t.TempDir(), "collections")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/collections-engine/collections/cmd/collections").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// TestChaosDevStackKilledAndRestarted runs `collections dev` as a process,
// kills it with SIGKILL while invoices are being chased (the embedded
// Temporal server, the worker, the API and both SQLite files go down at
// once), keeps it down while steps fall due, and starts it again on the same
// data directory. Every invoice is still there; every step due during the
// outage fires after it or, when a later one is already due, is recorded as
// superseded; the steps that were sent went out in policy order, once each.
func TestChaosDevStackKilledAndRestarted(t *testing.T) {
	bin, err := buildDevBinary(t)
	if err != nil {
		t.Fatal(err)
	}
	fake := fakeprovider.Start()
	defer fake.Close()
	port := func() string {
		p, err := devserver.FreePort("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("127.0.0.1:%d", p)
	}
	dataDir, httpAddr, temporalAddr := t.TempDir(), port(), port()
	const key = "chaos-restart-admin-key-0123456789"
	logPath := filepath.Join(t.TempDir(), "dev.log")
	var proc *exec.Cmd
	var done chan struct{}
	start := func() {
		log, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		proc = exec.Command(bin, "dev", "--data-dir", dataDir, "--http-addr", httpAddr, "--temporal-addr", temporalAddr, "--ui-addr", "")
		proc.Env = append(os.Environ(), "COLLECTIONS_API_KEY="+key, "LOG_FORMAT=json", "LOG_LEVEL=warn",
			"SENDGRID_API_KEY="+fakeSendGridKey, "SENDGRID_FROM_EMAIL=ar@example.com", "SENDGRID_BASE_URL="+fake.URL,
			"TWILIO_ACCOUNT_SID="+fakeTwilioAccount, "TWILIO_AUTH_TOKEN="+fakeTwilioToken, "TWILIO_FROM_NUMBER=+15005550006", "TWILIO_BASE_URL="+fake.URL)
		proc.Stdout, proc.Stderr = log, log
		if err := proc.Start(); err != nil {
			t.Fatal(err)
		}
		d := make(chan struct{})
		go func(cmd *exec.Cmd) { _ = cmd.Wait(); log.Close(); close(d) }(proc)
		done = d
		eventually(t, 2*time.Minute, "the dev stack to answer", func() bool {
			res, err := http.Get("http://" + httpAddr + "/readyz")
			if err != nil {
				return false
			}
			res.Body.Close()
			return res.StatusCode == 200
		})
	}
	defer func() {
		if proc != nil {
			_ = proc.Process.Signal(os.Interrupt)
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				_ = proc.Process.Kill()
				<-done
			}
		}
		if t.Failed() {
			raw, _ := os.ReadFile(logPath)
			lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
			t.Logf("dev log (last lines):\n%s", strings.Join(lines[max(0, len(lines)-30):], "\n"))
		}
	}()
	start()
	c := client{t: t, base: "http://" + httpAddr, key: key}
	gap := 6 * time.Second
	spacedPolicy(c, "spaced", gap)
	c.must("POST", "/v1/customers", map[string]string{"id": "acme", "name": "Acme", "email": "ap@acme.test", "phone": "+4930123456", "timezone": "UTC"}, 201)
	const invoices = 20
	var ids []string
	issued := time.Now()
	for i := range invoices {
		ids = append(ids, newSpacedInvoice(c, fmt.Sprintf("RS-%02d", i), "spaced"))
	}
	// notify at 0, confirm-delivery at 6 s; kill at ~8 s, 12 s down:
	// remind (12 s) and inquire (18 s) fall due during the outage.
	time.Sleep(time.Until(issued.Add(8 * time.Second)))
	if err := proc.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-done
	killedAt := time.Now()
	proc = nil
	time.Sleep(12 * time.Second)
	restartBegan := time.Now()
	start()
	restartedAt := time.Now()
	t.Logf("killed at +%s, answering again at +%s", killedAt.Sub(issued).Round(time.Millisecond), restartedAt.Sub(issued).Round(time.Millisecond))

	// Every invoice reaches the agency (escalate at 24 s, final deadline 3 s).
	eventually(t, 3*time.Minute, "every invoice with the agency", func() bool {
		for _, id := range ids {
			if stageOf(c, id) != "agency" {
				return false
			}
		}
		return true
	})

	// Read the outbox straight from the stack's SQLite file.
	bdb, err := db.Open(filepath.Join(dataDir, "collections.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	var msgs []db.Message
	if err := bdb.NewSelect().Model(&msgs).Where("channel IN (?)", bun.In([]string{"email", "sms", "agency"})).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	byInvoice := map[string][]db.Message{}
	for _, m := range msgs {
		byInvoice[m.InvoiceID] = append(byInvoice[m.InvoiceID], m)
	}
	order := map[string]int{}
	for i, s := range spacedSteps {
		order[s] = i
	}
	afterOutage, supersededInOutage := 0, 0
	for _, id := range ids {
		view := c.must("GET", "/v1/invoices/"+id, nil, 200)
		superseded := map[string]bool{}
		for _, e := range view["timeline"].([]any) {
			if e := e.(map[string]any); e["kind"] == "superseded" {
				superseded[e["step"].(string)] = true
			}
		}
		list := byInvoice[id]
		seen := map[string]int{}
		for _, m := range list {
			if m.Status != db.MessageSent && m.Status != db.MessageDelivered {
				t.Errorf("%s %s/%s: %s %q", id, m.Step, m.Channel, m.Status, m.Detail)
				continue
			}
			seen[m.Step+"/"+m.Channel]++
			if m.ScheduledAt.After(killedAt) && m.SentAt.Before(restartBegan) {
				t.Errorf("%s %s: due at %s during the outage, sent at %s", id, m.Step, m.ScheduledAt.Format(time.StampMilli), m.SentAt.Format(time.StampMilli))
			}
			if m.ScheduledAt.After(killedAt) && m.ScheduledAt.Before(restartBegan) {
				afterOutage++
			}
		}
		for k, n := range seen {
			if n != 1 {
				t.Errorf("%s: %s sent %d times", id, k, n)
			}
		}
		for _, step := range spacedSteps {
			sent := seen[step+"/email"]+seen[step+"/sms"]+seen[step+"/agency"] > 0
			if sent == superseded[step] {
				t.Errorf("%s: step %s sent %v, superseded %v: want exactly one", id, step, sent, superseded[step])
			}
			if superseded[step] {
				supersededInOutage++
			}
		}
		// Sent in policy order: sorting by sent time keeps the steps' order.
		sorted := slices.Clone(list)
		sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].SentAt.Before(*sorted[j].SentAt) })
		for i := 1; i < len(sorted); i++ {
			if order[sorted[i].Step] < order[sorted[i-1].Step] {
				t.Errorf("%s: %s sent after %s", id, sorted[i].Step, sorted[i-1].Step)
			}
		}
	}
	accepted, doubled := fake.Total()
	if doubled != 0 {
		t.Errorf("%d messages reached the provider twice: %v", doubled, fake.Accepted())
	}
	t.Logf("CHAOS dev-restart: %d invoices; down %s; %d messages due during the outage sent after it, %d steps superseded; provider accepted %d, doubled %d",
		invoices, restartedAt.Sub(killedAt).Round(time.Millisecond), afterOutage, supersededInOutage, accepted, doubled)
}
