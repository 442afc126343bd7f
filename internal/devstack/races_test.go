package devstack_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"go.temporal.io/api/enums/v1"
	sdkclient "go.temporal.io/sdk/client"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/internal/devstack"
)

// timelineKinds lists the kinds of an invoice's timeline events, in order.
func timelineKinds(c client, id string) []string {
	var kinds []string
	for _, e := range c.must("GET", "/v1/invoices/"+id, nil, 200)["timeline"].([]any) {
		kinds = append(kinds, e.(map[string]any)["kind"].(string))
	}
	return kinds
}

func count(list []string, v string) int {
	n := 0
	for _, s := range list {
		if s == v {
			n++
		}
	}
	return n
}

// TestRacesEndInExactBalancesAndConsistentStates inflicts the races a busy
// accounts team produces, against the real stack:
//
//   - 55 payments of 20.00 posted at once on a 1000.00 invoice: exactly 50
//     are taken, the other five are refused as exceeding the balance (or
//     the invoice closed), the balance is exactly 0.00, the invoice closes
//     once, and the payments table holds exactly 1000.00;
//   - payments made in the very second a reminder is due: no message is
//     claimed after the API answered the payment, and no later step is sent;
//   - a dispute and a full payment posted at once: the payment is taken, the
//     invoice ends paid and closed, and the dispute is either refused (409)
//     or on the timeline before the payment.
func TestRacesEndInExactBalancesAndConsistentStates(t *testing.T) {
	s := startStack(t, t.TempDir(), "", false, func(o *devstack.Options) { o.RateLimit = 10000 })
	defer s.Stop()
	runRaces(t, raceTarget{base: s.APIURL, key: s.APIKey, adminKey: s.APIKey, db: s.DB, temporal: s.Client})
}

// TestProductionRaces inflicts the same races on the production shape: two
// worker processes and an API process on PostgreSQL, the codec on.
func TestProductionRaces(t *testing.T) {
	p := startProduction(t, 2)
	runRaces(t, raceTarget{base: p.APIURL, key: p.Key, adminKey: p.AdminKey, db: p.DB, temporal: p.Temporal})
}

// raceTarget is a running deployment the races are inflicted on.
type raceTarget struct {
	base, key, adminKey string // the API, a read-write key and an admin key
	db                  *bun.DB
	temporal            sdkclient.Client
}

func (tg raceTarget) client(t *testing.T) client { return client{t: t, base: tg.base, key: tg.key} }

func runRaces(t *testing.T, tg raceTarget) {
	c := tg.client(t)
	ctx := context.Background()
	fastPolicy(client{t: t, base: tg.base, key: tg.adminKey})
	c.must("POST", "/v1/customers", map[string]string{"id": "acme", "name": "Acme", "email": "ap@acme.test", "phone": "+4930123456", "timezone": "UTC"}, 201)

	t.Run("55 concurrent payments on one invoice", func(t *testing.T) {
		c := tg.client(t)
		id := newInvoice(c, "RACE-PAY")
		const payments = 55
		statuses := make([]int, payments)
		bodies := make([]map[string]any, payments)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range payments {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				statuses[i], bodies[i] = c.do("POST", "/v1/invoices/"+id+"/payments",
					map[string]string{"amount": "20.00", "currency": "EUR", "reference": fmt.Sprintf("tx-%02d", i)})
			}()
		}
		close(start)
		wg.Wait()
		taken, refused := 0, 0
		reasons := map[string]int{}
		for i, st := range statuses {
			switch st {
			case 201:
				taken++
			case 409, 422:
				refused++
				reasons[fmt.Sprint(st, " ", bodies[i]["error"])]++
			default:
				t.Errorf("payment %d: %d %v", i, st, bodies[i])
			}
		}
		if taken != 50 || refused != 5 {
			t.Fatalf("%d payments taken, %d refused: want 50 and 5; refusals: %v", taken, refused, reasons)
		}
		waitClosedIn(t, tg.temporal, id)
		inv := c.must("GET", "/v1/invoices/"+id, nil, 200)
		if inv["balance"] != "0.00" || inv["stage"] != "paid" {
			t.Fatalf("after the race: balance %v stage %v", inv["balance"], inv["stage"])
		}
		kinds := timelineKinds(c, id)
		if count(kinds, "payment") != 50 || count(kinds, "paid") != 1 {
			t.Fatalf("timeline: %d payments, %d closings: %v", count(kinds, "payment"), count(kinds, "paid"), kinds)
		}
		var sum int64
		n, err := tg.db.NewSelect().Model((*db.Payment)(nil)).Where("invoice_id = ?", id).Count(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := tg.db.NewSelect().Model((*db.Payment)(nil)).ColumnExpr("COALESCE(SUM(amount_minor), 0)").Where("invoice_id = ?", id).Scan(ctx, &sum); err != nil {
			t.Fatal(err)
		}
		if n != 50 || sum != 100000 {
			t.Fatalf("payments stored: %d summing to %d minor units, want 50 and 100000", n, sum)
		}
	})

	t.Run("a payment in the second a reminder is due", func(t *testing.T) {
		// The fast policy: notify at 0s, confirm-delivery 1s, remind 2s,
		// inquire 3s, ... Each invoice is paid in full within the second
		// its reminder is due (issue + 2s .. 2.7s). A payment that could not
		// be sent in that second (the machine too slow to create the
		// invoice in time) proves nothing: that slot is tried again, a
		// bounded number of times, and the test fails if it never lands.
		c := tg.client(t)
		const invoices, attempts = 8, 3
		type paid struct {
			id                string
			due, sent, answer time.Time
		}
		var results []paid
		todo := make([]int, invoices)
		for i := range todo {
			todo[i] = i
		}
		for attempt := 0; attempt < attempts && len(todo) > 0; attempt++ {
			round := make([]paid, len(todo))
			var wg sync.WaitGroup
			for j, i := range todo {
				issued := time.Now().UTC().Truncate(time.Second) // issued_at has whole seconds
				id := c.must("POST", "/v1/invoices", map[string]string{"number": fmt.Sprintf("RACE-REM-%d-%d", i, attempt), "customer_id": "acme",
					"amount": "1000.00", "currency": "EUR", "issued_at": rfc3339(issued), "due_at": rfc3339(issued.Add(30 * 24 * time.Hour)),
					"policy": "fast"}, 201)["id"].(string)
				due := issued.Add(2 * time.Second)
				wg.Add(1)
				go func() {
					defer wg.Done()
					time.Sleep(time.Until(due.Add(time.Duration(i) * 100 * time.Millisecond)))
					sent := time.Now()
					c.must("POST", "/v1/invoices/"+id+"/payments", map[string]string{"amount": "1000.00", "currency": "EUR", "reference": "tx-" + id}, 201)
					round[j] = paid{id, due, sent, time.Now()}
				}()
			}
			wg.Wait()
			var missed []int
			for j, i := range todo {
				p := round[j]
				results = append(results, p)
				if p.sent.Before(p.due) || !p.sent.Before(p.due.Add(time.Second)) {
					t.Logf("attempt %d, slot %d: the payment was sent %s after its reminder fell due, outside that second; trying again",
						attempt, i, p.sent.Sub(p.due).Round(time.Millisecond))
					missed = append(missed, i)
				}
			}
			todo = missed
		}
		if len(todo) > 0 {
			t.Errorf("%d of %d payments never landed in their reminder's second in %d attempts: the race was not run", len(todo), invoices, attempts)
		}
		time.Sleep(3 * time.Second) // past the next steps: nothing more may go out
		inFlight, reminders := 0, map[string]int{}
		for _, p := range results {
			waitClosedIn(t, tg.temporal, p.id)
			var msgs []db.Message
			if err := tg.db.NewSelect().Model(&msgs).Where("invoice_id = ?", p.id).Scan(ctx); err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				if m.Step == "remind" {
					reminders[m.Status]++
				}
				if m.Status != db.MessageSent && m.Status != db.MessageDelivered {
					continue
				}
				if m.CreatedAt.After(p.answer) {
					t.Errorf("invoice %s: %s/%s claimed at %s, after the payment was answered at %s",
						p.id, m.Step, m.Channel, m.CreatedAt.Format(time.StampMilli), p.answer.Format(time.StampMilli))
				}
				if m.SentAt != nil && m.SentAt.After(p.answer) {
					inFlight++
				}
				if m.ScheduledAt.After(p.answer) {
					t.Errorf("invoice %s: step %s, due at %s, sent though the invoice was paid in full at %s",
						p.id, m.Step, m.ScheduledAt.Format(time.StampMilli), p.answer.Format(time.StampMilli))
				}
			}
		}
		t.Logf("%d invoices paid in the second their reminder was due (%d payments in all): reminders %v; %d message(s) were at the provider when the payment was answered",
			invoices-len(todo), len(results), reminders, inFlight)
	})

	t.Run("a dispute and a payment at once", func(t *testing.T) {
		c := tg.client(t)
		refused, first := 0, 0
		for i := range 6 {
			id := newInvoice(c, fmt.Sprintf("RACE-DISP-%d", i))
			var disputeStatus, payStatus int
			var payBody map[string]any
			var wg sync.WaitGroup
			start := make(chan struct{})
			wg.Add(2)
			go func() {
				defer wg.Done()
				<-start
				disputeStatus, _ = c.do("POST", "/v1/invoices/"+id+"/disputes", map[string]string{"reason": "wrong_amount", "note": "race"})
			}()
			go func() {
				defer wg.Done()
				<-start
				payStatus, payBody = c.do("POST", "/v1/invoices/"+id+"/payments", map[string]string{"amount": "1000.00", "currency": "EUR", "reference": "tx-" + id})
			}()
			close(start)
			wg.Wait()
			if payStatus != 201 {
				t.Fatalf("invoice %d: the payment got %d %v", i, payStatus, payBody)
			}
			waitClosedIn(t, tg.temporal, id)
			inv := c.must("GET", "/v1/invoices/"+id, nil, 200)
			if inv["balance"] != "0.00" || inv["stage"] != "paid" || inv["closed_at"] == nil {
				t.Fatalf("invoice %d: balance %v stage %v closed %v", i, inv["balance"], inv["stage"], inv["closed_at"])
			}
			kinds := timelineKinds(c, id)
			switch disputeStatus {
			case 409:
				refused++
				if count(kinds, "dispute_opened") != 0 {
					t.Fatalf("invoice %d: refused dispute on the timeline: %v", i, kinds)
				}
			case 200, 201:
				first++
				opened, paidAt := -1, -1
				for j, k := range kinds {
					switch k {
					case "dispute_opened":
						opened = j
					case "paid":
						paidAt = j
					}
				}
				if opened < 0 || paidAt < opened {
					t.Fatalf("invoice %d: dispute taken but the timeline is %v", i, kinds)
				}
			default:
				t.Fatalf("invoice %d: the dispute got %d", i, disputeStatus)
			}
			d, err := tg.temporal.DescribeWorkflowExecution(ctx, "invoice:"+id, "")
			if err != nil || d.GetWorkflowExecutionInfo().GetStatus() != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
				t.Fatalf("invoice %d: workflow %v %v", i, d.GetWorkflowExecutionInfo().GetStatus(), err)
			}
		}
		t.Logf("6 dispute/payment races: the dispute came first %d times, was refused %d times; every invoice ended paid", first, refused)
	})
}
