//go:build chaos

package devstack_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"go.temporal.io/api/enums/v1"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/internal/devstack"
	"github.com/collections-engine/collections/internal/fakeprovider"
)

// TestChaosWorkerCrashes runs a few hundred invoices through a compressed
// policy while `collections worker` processes are killed with SIGKILL at
// random moments and restarted, and, three times, at the worst moment: right
// after the provider accepted a message and before the worker could record
// it. Afterwards every invoice is in the right end state, every step was
// either sent once or recorded as superseded, paid invoices got nothing
// after their payment, and each message reached the provider once; a
// second copy is counted and must be explained by a kill during its send:
// at the kill, the provider had the message and our outbox still had it
// pending.
func TestChaosWorkerCrashes(t *testing.T) {
	invoices := 200
	if testing.Short() {
		invoices = 40
	}
	bin, err := buildWorkerBinary(t)
	if err != nil {
		t.Fatal(err)
	}
	s := startStack(t, t.TempDir(), os.Getenv("CHAOS_DATABASE_URL"), false, func(o *devstack.Options) { o.NoWorker = true; o.RateLimit = 100000 })
	defer s.Stop()
	fake := fakeprovider.Start()
	defer fake.Close()

	var procs *workerProcs
	var armed atomic.Int32 // kills still to inflict on a provider's acceptance
	type acceptance struct {
		key string
		at  time.Time
	}
	var recentMu sync.Mutex
	var recent []acceptance   // acceptances, for explaining duplicates
	var killTimes []time.Time // every kill
	acceptKills := []string{} // keys accepted right before an accept-kill
	var noteAtRisk func()
	fake.OnAccept = func(key string) {
		recentMu.Lock()
		recent = append(recent, acceptance{key, time.Now()})
		recentMu.Unlock()
		if armed.Load() > 0 && armed.Add(-1) >= 0 {
			recentMu.Lock()
			acceptKills = append(acceptKills, key)
			killTimes = append(killTimes, time.Now())
			recentMu.Unlock()
			procs.kill(-1, time.Second)
			go noteAtRisk()
		}
	}
	env := append(os.Environ(),
		"DATABASE_URL="+s.DatabaseDSN, "TEMPORAL_ADDRESS="+s.TemporalAddr, "TEMPORAL_NAMESPACE=default", "COLLECTIONS_CODEC=off",
		"LOG_FORMAT=json", "LOG_LEVEL=warn", "SHUTDOWN_TIMEOUT=5s",
		"SENDGRID_API_KEY="+fakeSendGridKey, "SENDGRID_FROM_EMAIL=ar@example.com", "SENDGRID_BASE_URL="+fake.URL,
		"TWILIO_ACCOUNT_SID="+fakeTwilioAccount, "TWILIO_AUTH_TOKEN="+fakeTwilioToken, "TWILIO_FROM_NUMBER=+15005550006", "TWILIO_BASE_URL="+fake.URL,
	)
	// A kill leaves, as pending in the outbox, the messages the dead worker
	// had handed to a provider without recording the outcome: exactly the
	// ones a retry may send again. Each kill takes note of them.
	atRisk := map[string]bool{}
	noteAtRisk = func() {
		var pending []db.Message
		if err := s.DB.NewSelect().Model(&pending).Where("status = ?", db.MessagePending).Scan(context.Background()); err != nil {
			t.Errorf("pending messages at a kill: %v", err)
			return
		}
		accepted := fake.Accepted()
		recentMu.Lock()
		defer recentMu.Unlock()
		for _, m := range pending {
			if key := providerKey(m); accepted[key] > 0 {
				atRisk[key] = true
			}
		}
	}
	procs = startWorkerProcs(t, 2, bin, env)
	defer func() {
		procs.close()
		if t.Failed() {
			t.Log(procs.logTail())
		}
	}()

	c := client{t: t, base: s.APIURL, key: s.APIKey}
	gap := 10 * time.Second
	spacedPolicy(c, "spaced", gap)
	c.must("POST", "/v1/customers", map[string]string{"id": "acme", "name": "Acme", "email": "ap@acme.test", "phone": "+4930123456", "timezone": "UTC"}, 201)
	began := time.Now()
	ids := make([]string, invoices)
	for i := range invoices {
		ids[i] = newSpacedInvoice(c, fmt.Sprintf("CR-%03d", i), "spaced")
	}
	t.Logf("%d invoices created in %s", invoices, time.Since(began).Round(time.Millisecond))

	// Every fourth invoice is paid in full at a random moment of its chase.
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	paidAt := map[string]time.Time{}
	var paidMu sync.Mutex
	var payers sync.WaitGroup
	for i := 0; i < invoices; i += 4 {
		id, after := ids[i], time.Duration(rng.IntN(60000))*time.Millisecond
		payers.Add(1)
		go func() {
			defer payers.Done()
			time.Sleep(after)
			st, out := c.do("POST", "/v1/invoices/"+id+"/payments", map[string]string{"amount": "1000.00", "currency": "EUR", "reference": "tx-" + id})
			for st == 503 { // Temporal busy or a worker down: the API says try again
				time.Sleep(time.Second)
				st, out = c.do("POST", "/v1/invoices/"+id+"/payments", map[string]string{"amount": "1000.00", "currency": "EUR", "reference": "tx-" + id})
			}
			if st != 201 && st != 200 {
				t.Errorf("payment for %s: %d %v", id, st, out)
				return
			}
			paidMu.Lock()
			paidAt[id] = time.Now()
			paidMu.Unlock()
		}()
	}

	// Random kills for the first 80 s, and three kills at the worst moment.
	killing := time.Now().Add(80 * time.Second)
	var killer sync.WaitGroup
	killer.Add(1)
	go func() {
		defer killer.Done()
		for _, at := range []time.Duration{12 * time.Second, 33 * time.Second, 55 * time.Second} {
			go func() { time.Sleep(at - time.Since(began)); armed.Add(1) }()
		}
		for time.Now().Before(killing) {
			time.Sleep(time.Duration(3000+rng.IntN(5000)) * time.Millisecond)
			recentMu.Lock()
			killTimes = append(killTimes, time.Now())
			recentMu.Unlock()
			procs.kill(rng.IntN(2), time.Duration(500+rng.IntN(1500))*time.Millisecond)
			noteAtRisk()
		}
	}()
	payers.Wait()
	killer.Wait()

	ctx := context.Background()
	finished := func(id string) bool {
		d, err := s.Client.DescribeWorkflowExecution(ctx, "invoice:"+id, "")
		if err != nil {
			return false
		}
		if d.GetWorkflowExecutionInfo().GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
			return true
		}
		if _, paid := paidAt[id]; paid {
			// A paid invoice ends by completing, also one the agency held
			// when it was paid: its saved stage may still say agency until
			// the payment's status is saved.
			return false
		}
		inv, err := db.NewStore(s.DB).GetInvoice(ctx, id)
		return err == nil && inv.Stage == "agency"
	}
	eventually(t, 10*time.Minute, "every invoice paid or with the agency", func() bool {
		for _, id := range ids {
			if !finished(id) {
				return false
			}
		}
		pending, err := s.DB.NewSelect().Model((*db.Message)(nil)).Where("status = ?", db.MessagePending).Count(ctx)
		return err == nil && pending == 0
	})
	took := time.Since(began)
	procs.close()

	// End states, and every step accounted for.
	store := db.NewStore(s.DB)
	channelsOf := map[string][]string{"notify": {"email"}, "confirm-delivery": {"sms"}, "remind": {"email"}, "inquire": {"email", "sms"},
		"escalate": {"email", "sms"}, "agency": {"agency"}}
	var superseded, sentSteps int
	for _, id := range ids {
		inv, err := store.GetInvoice(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var msgs []db.Message
		if err := s.DB.NewSelect().Model(&msgs).Where("invoice_id = ?", id).Scan(ctx); err != nil {
			t.Fatal(err)
		}
		sent := map[string]int{}
		for _, m := range msgs {
			if m.Status == db.MessageSent || m.Status == db.MessageDelivered {
				sent[m.Step+"/"+m.Channel]++
			}
		}
		view := c.must("GET", "/v1/invoices/"+id, nil, 200)
		supersededSteps := map[string]bool{}
		for _, e := range view["timeline"].([]any) {
			e := e.(map[string]any)
			if e["kind"] == "superseded" {
				supersededSteps[e["step"].(string)] = true
			}
		}
		paid, wasPaid := paidAt[id]
		if wasPaid {
			// Paid after the agency placement, the invoice is "collected".
			if (inv.Stage != "paid" && inv.Stage != "collected") || inv.BalanceMinor != 0 || inv.ClosedAt == nil {
				t.Errorf("%s: paid, yet stage %s balance %d", inv.Number, inv.Stage, inv.BalanceMinor)
			}
			for _, m := range msgs {
				if (m.Status == db.MessageSent || m.Status == db.MessageDelivered) && m.CreatedAt.After(paid) {
					t.Errorf("%s: %s/%s claimed at %s, after the payment was answered at %s", inv.Number, m.Step, m.Channel,
						m.CreatedAt.Format(time.StampMilli), paid.Format(time.StampMilli))
				}
			}
			continue
		}
		if inv.Stage != "agency" {
			t.Errorf("%s: stage %s, want agency", inv.Number, inv.Stage)
		}
		for _, step := range spacedSteps {
			all := true
			for _, ch := range channelsOf[step] {
				switch sent[step+"/"+ch] {
				case 0:
					all = false
				case 1:
				default:
					t.Errorf("%s: %s/%s recorded sent %d times", inv.Number, step, ch, sent[step+"/"+ch])
				}
			}
			switch {
			case all && !supersededSteps[step]:
				sentSteps++
			case !all && supersededSteps[step] && step != "escalate" && step != "agency":
				superseded++
			default:
				t.Errorf("%s: step %s neither sent on %v nor superseded (sent %v, superseded %v)", inv.Number, step, channelsOf[step], sent, supersededSteps)
			}
		}
	}

	// At the provider: each message once, or explained.
	var msgs []db.Message
	if err := s.DB.NewSelect().Model(&msgs).Where("direction = ? AND channel IN (?)", db.Outbound, bun.In([]string{"email", "sms", "manager"})).
		Scan(ctx); err != nil {
		t.Fatal(err)
	}
	accepted := fake.Accepted()
	recentMu.Lock()
	explained := func(key string) bool { return atRisk[key] }
	doubled, unexplained := 0, 0
	for _, m := range msgs {
		key := providerKey(m)
		n := accepted[key]
		delete(accepted, key)
		switch {
		case m.Status == db.MessageSent || m.Status == db.MessageDelivered:
			if n == 0 {
				t.Errorf("%s %s/%s: recorded sent, never reached the provider", m.InvoiceID, m.Step, m.Channel)
			}
		case m.Status == db.MessageSkipped && strings.Contains(m.Detail, "outcome is unknown"):
		default:
			if n != 0 {
				t.Errorf("%s %s/%s: %s (%q), yet accepted %d times", m.InvoiceID, m.Step, m.Channel, m.Status, m.Detail, n)
			}
		}
		if n > 1 {
			doubled++
			if !explained(key) {
				unexplained++
				t.Errorf("%s %s/%s: accepted %d times with no kill during its send", m.InvoiceID, m.Step, m.Channel, n)
			}
		}
	}
	for key, n := range accepted {
		t.Errorf("the provider accepted %q %d times; the outbox does not know it", key, n)
	}
	total, _ := fake.Total()
	t.Logf("CHAOS worker-crash: %d invoices (%d paid mid-run) in %s; %d worker starts, %d SIGKILLs (%d right after a provider accepted: %v); "+
		"steps sent %d, superseded %d; provider accepted %d messages, %d doubled (%d unexplained)",
		invoices, len(paidAt), took.Round(time.Second), procs.starts, procs.kills.Load(), len(acceptKills), acceptKills,
		sentSteps, superseded, total, doubled, unexplained)
	recentMu.Unlock()
}
