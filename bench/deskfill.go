package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/money"
	"github.com/collections-engine/collections/policy"
)

// The desk scenario's book: customers with account managers in several
// currencies, open invoices spread over the stages by how overdue they are,
// and closed ones over three years, each with the short timeline its
// workflow would have saved (messages, promises, disputes, payments, tasks).
// Every row is generated from the seed and the invoice's index, so two runs
// with the same flags fill the same book (ids apart).

// deskBook sizes the book and fixes its clock.
type deskBook struct {
	open, closed int
	customers    int
	now          time.Time
	seed         uint64
	std          policy.Policy
}

func newDeskBook(open, closed int, seed uint64, now time.Time) deskBook {
	// One customer per 40 invoices, at least 50: a few large accounts and a
	// long tail of small ones (see customerOf).
	return deskBook{open: open, closed: closed, customers: max(50, (open+closed)/40), now: now.UTC().Truncate(time.Second),
		seed: seed, std: policy.Standard()}
}

// deskManagers are the account managers; customer i belongs to
// deskManagers[i % len].
var deskManagers = func() []string {
	first := []string{"mia", "noah", "lena", "omar", "sofia", "jonas", "aisha", "lukas", "emma", "ravi", "clara", "tomas"}
	last := []string{"schmidt", "okafor", "novak", "garcia"}
	var out []string
	for i := range 24 {
		out = append(out, fmt.Sprintf("%s.%s@ar.example", first[i%len(first)], last[i/len(first)+2*(i%2)]))
	}
	return out
}()

// deskCurrencies with their share of customers (in percent).
var deskCurrencies = []struct {
	code  string
	share int
}{{"EUR", 45}, {"USD", 25}, {"GBP", 15}, {"CHF", 7}, {"SEK", 4}, {"JPY", 4}}

type deskCustomer struct {
	db.Customer
	currency string
	terms    int
}

// customer is customer i of the book.
func (b deskBook) customer(i int) deskCustomer {
	r := rand.New(rand.NewPCG(b.seed, uint64(i)+1<<40))
	names := []string{"Acme", "Northwind", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka", "Tyrell",
		"Soylent", "Cyberdyne", "Vandelay", "Oscorp", "Gringotts", "Pied Piper", "Dunder", "Prestige", "Monarch", "Nakatomi"}
	forms := []string{"GmbH", "Ltd", "Inc", "SA", "AB", "BV", "AG", "LLC", "KK"}
	zones := []string{"Europe/Berlin", "Europe/London", "America/New_York", "Europe/Zurich", "Europe/Stockholm", "Asia/Tokyo", "UTC"}
	pick := r.IntN(100)
	cur := deskCurrencies[0]
	for _, c := range deskCurrencies {
		if pick < c.share {
			cur = c
			break
		}
		pick -= c.share
	}
	terms := []int{14, 30, 30, 30, 45, 60}[r.IntN(6)]
	id := fmt.Sprintf("cust-%05d", i)
	c := deskCustomer{currency: cur.code, terms: terms, Customer: db.Customer{
		ID: id, Name: fmt.Sprintf("%s %s %d", names[i%len(names)], forms[r.IntN(len(forms))], i),
		Email: fmt.Sprintf("ap@%s.example", id), Phone: fmt.Sprintf("+49301%07d", i), Timezone: zones[r.IntN(len(zones))],
		Locale: "en", AccountManager: deskManagers[i%len(deskManagers)], PaymentTermsDays: terms,
		CreatedAt: b.now.AddDate(-3, 0, -1), UpdatedAt: b.now.AddDate(-3, 0, -1),
	}}
	if r.IntN(10) < 3 {
		limit := int64(50000+r.IntN(450000)) * minorPerMajor(cur.code)
		c.CreditLimitMinor, c.CreditCurrency = &limit, cur.code
	}
	return c
}

func minorPerMajor(currency string) int64 {
	if currency == "JPY" {
		return 1
	}
	return 100
}

// customerOf picks the customer of an invoice: u² over the customers, so
// customer 0 is the largest account (about 1/√customers of the book) and
// most have a handful of invoices.
func (b deskBook) customerOf(r *rand.Rand) int {
	u := r.Float64()
	return min(b.customers-1, int(u*u*float64(b.customers)))
}

// deskRows is what one chunk of invoices adds to the database.
type deskRows struct {
	invoices []db.Invoice
	statuses []invoice.Status
	payments []db.Payment
	messages []db.Message
	tasks    []db.Task
	notes    []db.Note
}

// timeline builds one invoice's saved status and the rows beside it.
type timeline struct {
	b    deskBook
	r    *rand.Rand
	inv  *db.Invoice
	cust deskCustomer
	st   *invoice.Status
	rows *deskRows
	paid int64
	seq  int
	// next is the first policy step not yet walked, stage where the
	// walked ones left the invoice.
	next  int
	stage invoice.Stage
}

func (t *timeline) event(e invoice.Event) { t.st.Timeline = append(t.st.Timeline, e) }

func (t *timeline) balance() *int64 {
	v := t.inv.AmountMinor - t.paid
	return &v
}

// send records a step's message on each channel, sent at.
func (t *timeline) send(at time.Time, step string, channels ...string) {
	amount := money.FormatAmount(t.inv.AmountMinor, t.inv.Currency)
	for _, ch := range channels {
		to := t.cust.Email
		if ch == "sms" {
			to = t.cust.Phone
		}
		sent := at.Add(2 * time.Second)
		m := db.Message{ID: uuid.Must(uuid.NewV7()).String(), InvoiceID: t.inv.ID, CustomerID: t.inv.CustomerID, Step: step, Channel: ch,
			Direction: db.Outbound, Recipient: to, Subject: fmt.Sprintf("Invoice %s: %s %s", t.inv.Number, t.inv.Currency, amount),
			Body: fmt.Sprintf("Dear %s, invoice %s for %s %s was due on %s. Pay at https://pay.example.com/invoices/%s",
				t.cust.Name, t.inv.Number, t.inv.Currency, amount, t.inv.DueAt.Format(time.DateOnly), t.inv.Number),
			Status: db.MessageSent, Provider: "outbox", ScheduledAt: at, CreatedAt: at, SentAt: &sent}
		t.rows.messages = append(t.rows.messages, m)
		t.event(invoice.Event{At: sent, Kind: invoice.EventMessage, Step: step, Channel: ch, Outcome: "sent", MessageID: m.ID})
	}
}

// task creates a task for the account manager, done when completed is set.
func (t *timeline) task(at time.Time, key, kind, title string, completed *time.Time) {
	due := at.Add(48 * time.Hour)
	tk := db.Task{ID: uuid.Must(uuid.NewV7()).String(), InvoiceID: t.inv.ID, CustomerID: t.inv.CustomerID, Key: key, Kind: kind,
		Assignee: t.cust.AccountManager, Title: title + ": invoice " + t.inv.Number, Status: db.TaskOpen, DueAt: due, CreatedAt: at}
	if completed != nil {
		tk.Status, tk.Outcome, tk.CompletedAt, tk.Note = db.TaskDone, "done", completed, "handled"
	}
	t.rows.tasks = append(t.rows.tasks, tk)
	t.event(invoice.Event{At: at, Kind: invoice.EventTask, Step: key, Outcome: kind, Detail: tk.Title, Until: &due})
}

// pay records a payment of amount at.
func (t *timeline) pay(at time.Time, amount int64) {
	t.seq++
	ref := fmt.Sprintf("BANK-%s-%d", t.inv.Number, t.seq)
	t.rows.payments = append(t.rows.payments, db.Payment{ID: uuid.Must(uuid.NewV7()).String(), InvoiceID: t.inv.ID, Reference: ref,
		AmountMinor: amount, Currency: t.inv.Currency, ReceivedAt: at})
	t.paid += amount
	t.event(invoice.Event{At: at, Kind: invoice.EventPayment, Reference: ref, AmountMinor: amount, BalanceMinor: t.balance()})
}

// steps walks the standard policy's steps due before until, sending each
// step's messages, and returns the stage the last one moved the invoice to.
func (t *timeline) steps(until time.Time) invoice.Stage {
	if t.stage == "" {
		t.stage = invoice.StageIssued
	}
	for ; t.next < len(t.b.std.Steps); t.next++ {
		s := t.b.std.Steps[t.next]
		at := t.inv.IssuedAt
		if s.Anchor == policy.AnchorDue {
			at = t.inv.DueAt
		}
		at = at.Add(s.Offset.Std()).Add(9 * time.Hour)
		if !at.Before(until) {
			t.st.NextAction = &invoice.NextAction{Step: s.ID, What: "send " + s.ID, At: at}
			break
		}
		switch s.ActionOf() {
		case policy.ActionConfirmDelivery:
			t.event(invoice.Event{At: at, Kind: invoice.EventDeliveryConfirmed, Step: s.ID, Channel: "email", Detail: "delivered"})
			continue
		case policy.ActionEscalate:
			t.send(at, s.ID, "email", "sms")
			deadline := at.Add(14 * 24 * time.Hour)
			t.event(invoice.Event{At: at, Kind: invoice.EventEscalated, Step: s.ID, Until: &deadline, Detail: "management notified"})
			t.st.Escalation = &invoice.Escalation{At: at, Deadline: deadline}
			var done *time.Time
			if !until.Equal(t.b.now) {
				d := at.Add(30 * time.Hour)
				done = &d
			}
			t.task(at, s.ID+":management", "management_contact", "Contact the customer as management", done)
		case policy.ActionAgency:
			t.event(invoice.Event{At: at, Kind: invoice.EventAgencyPlaced, Step: s.ID, Detail: "final deadline passed", BalanceMinor: t.balance()})
		default:
			chans := make([]string, len(s.Channels))
			for i, c := range s.Channels {
				chans[i] = string(c)
			}
			t.send(at, s.ID, chans...)
		}
		if s.Stage != "" {
			t.stage = s.Stage
		}
	}
	return t.stage
}

// amount draws an invoice amount: log-normal around 1,500 (major units).
func amount(r *rand.Rand, currency string) int64 {
	major := math.Exp(math.Log(1500) + 1.1*r.NormFloat64())
	if currency == "JPY" {
		major *= 150
	}
	return max(1, int64(major*float64(minorPerMajor(currency))))
}

// generate builds invoice i of the book: the first b.closed are closed, the
// rest open.
func (b deskBook) generate(i int, rows *deskRows) {
	r := rand.New(rand.NewPCG(b.seed, uint64(i)))
	cust := b.customer(b.customerOf(r))
	inv := db.Invoice{ID: uuid.Must(uuid.NewV7()).String(), Number: fmt.Sprintf("INV-%07d", i+1), CustomerID: cust.ID,
		Currency: cust.currency, PolicyName: b.std.Name, PolicyVersion: b.std.Version}
	inv.AmountMinor = amount(r, cust.currency)
	inv.WorkflowID = "invoice:" + inv.ID
	day := 24 * time.Hour
	terms := time.Duration(cust.terms) * day
	st := invoice.Status{InvoiceID: inv.ID, AmountMinor: inv.AmountMinor, Currency: inv.Currency, PolicyName: inv.PolicyName,
		PolicyVersion: inv.PolicyVersion, AccountManager: cust.AccountManager}
	t := &timeline{b: b, r: r, inv: &inv, cust: cust, st: &st, rows: rows}
	hour := time.Duration(r.IntN(10*3600)) * time.Second // issued during office hours
	var stage invoice.Stage
	if open := i >= b.closed; open {
		// Days past due: a third not yet due, then a long tail.
		var d int
		switch p := r.IntN(100); {
		case p < 35:
			d = -r.IntN(cust.terms)
		case p < 65:
			d = 1 + r.IntN(30)
		case p < 80:
			d = 31 + r.IntN(30)
		case p < 90:
			d = 61 + r.IntN(30)
		default:
			d = 91 + r.IntN(270)
		}
		inv.DueAt = b.now.Truncate(day).Add(-time.Duration(d) * day)
		inv.IssuedAt = inv.DueAt.Add(-terms).Add(hour)
		t.event(invoice.Event{At: inv.IssuedAt, Kind: invoice.EventStarted})
		if r.IntN(100) < 15 { // paid in part
			at := inv.IssuedAt.Add(time.Duration(r.Int64N(int64(b.now.Sub(inv.IssuedAt))))).Truncate(time.Second)
			t.stepsThenPay(at, inv.AmountMinor*int64(20+r.IntN(60))/100)
		}
		stage = t.steps(b.now)
		if d >= 1 {
			switch p := r.IntN(100); {
			case p < 6: // promised to pay
				at := b.now.Add(-time.Duration(1+r.IntN(10)) * day)
				date := b.now.Add(time.Duration(1+r.IntN(21)) * day).Truncate(day)
				amt := *t.balance()
				t.event(invoice.Event{At: at, Kind: invoice.EventPromise, AmountMinor: amt, Until: &date, Detail: "on the phone"})
				st.Promise = &invoice.Promise{AmountMinor: amt, Date: date, TargetBalanceMinor: 0}
				stage = invoice.StagePromised
			case p < 10: // disputed
				at := b.now.Add(-time.Duration(1+r.IntN(20)) * day)
				deadline := at.Add(14 * day)
				reason := []string{"wrong_amount", "not_received", "quality", "already_paid"}[r.IntN(4)]
				t.event(invoice.Event{At: at, Kind: invoice.EventDisputeOpened, Outcome: reason, Detail: "customer wrote in", Until: &deadline})
				st.Dispute = &invoice.Dispute{Reason: reason, Note: "customer wrote in", OpenedAt: at, Deadline: deadline, Overdue: deadline.Before(b.now)}
				t.task(at, "dispute-1:review", "dispute_review", "Review the dispute", nil)
				stage = invoice.StageDisputed
			case p < 11: // paused by a person
				at := b.now.Add(-time.Duration(1+r.IntN(5)) * day)
				until := b.now.Add(time.Duration(1+r.IntN(14)) * day)
				t.event(invoice.Event{At: at, Kind: invoice.EventPaused, Until: &until, Detail: "customer in administration talks", Actor: cust.AccountManager})
				st.Paused, st.PausedUntil = true, &until
				stage = invoice.StagePaused
			case p < 14: // broke a promise earlier
				at := inv.DueAt.Add(time.Duration(r.IntN(max(1, d))) * day / 2)
				date := at.Add(7 * day)
				t.event(invoice.Event{At: at, Kind: invoice.EventPromise, AmountMinor: *t.balance(), Until: &date})
				if date.Before(b.now) {
					t.event(invoice.Event{At: date.Add(day), Kind: invoice.EventPromiseBroken, AmountMinor: *t.balance(), Until: &date})
				}
			}
			if (stage == invoice.StageInquired || stage == invoice.StagePressing) && r.IntN(100) < 30 {
				t.task(b.now.Add(-time.Duration(r.IntN(72))*time.Hour), "inquire:call", "call", "Call the customer", nil)
			}
			if r.IntN(100) < 5 {
				rows.notes = append(rows.notes, db.Note{ID: uuid.Must(uuid.NewV7()).String(), CustomerID: cust.ID, InvoiceID: inv.ID,
					Kind: "call", Body: "Spoke to accounts payable: the invoice is in their next payment run.", Author: cust.AccountManager,
					CreatedAt: b.now.Add(-time.Duration(r.IntN(240)) * time.Hour)})
			}
		}
	} else {
		// Closed: issued over the last three years.
		span := 3 * 365 * day
		inv.IssuedAt = b.now.Add(-span + time.Duration(r.Int64N(int64(span)))).Truncate(day).Add(hour)
		inv.DueAt = inv.IssuedAt.Truncate(day).Add(terms)
		var closed time.Time
		switch p := r.IntN(100); {
		case p < 88: // paid
			var late int
			switch q := r.IntN(100); {
			case q < 55:
				late = -r.IntN(20)
			case q < 85:
				late = 1 + r.IntN(30)
			case q < 95:
				late = 31 + r.IntN(45)
			default:
				late = 76 + r.IntN(75)
			}
			closed = inv.DueAt.Add(time.Duration(late)*day + time.Duration(r.IntN(8*3600))*time.Second + 9*time.Hour)
			if earliest := inv.IssuedAt.Add(day); closed.Before(earliest) { // paid on receipt
				closed = earliest.Add(time.Duration(r.IntN(8*3600)) * time.Second)
			}
			closed = b.shift(&inv, closed, r)
			t.event(invoice.Event{At: inv.IssuedAt, Kind: invoice.EventStarted})
			if late > 5 && r.IntN(100) < 12 {
				at := closed.Add(-time.Duration(2+r.IntN(10)) * day)
				date := closed.Add(day).Truncate(day)
				t.steps(at)
				t.event(invoice.Event{At: at, Kind: invoice.EventPromise, AmountMinor: inv.AmountMinor, Until: &date})
				t.pay(closed, inv.AmountMinor)
				t.event(invoice.Event{At: closed, Kind: invoice.EventPromiseKept, AmountMinor: inv.AmountMinor, Until: &date, BalanceMinor: t.balance()})
			} else {
				if r.IntN(100) < 15 {
					t.stepsThenPay(inv.IssuedAt.Add(closed.Sub(inv.IssuedAt)/2), inv.AmountMinor/2)
				}
				t.steps(closed)
				t.pay(closed, inv.AmountMinor-t.paid)
			}
			t.event(invoice.Event{At: closed, Kind: invoice.EventPaid, BalanceMinor: t.balance()})
			stage = invoice.StagePaid
		case p < 91: // cancelled, some after a dispute upheld
			closed = b.shift(&inv, inv.IssuedAt.Add(time.Duration(1+r.IntN(20))*day), r)
			t.event(invoice.Event{At: inv.IssuedAt, Kind: invoice.EventStarted})
			t.steps(closed)
			if r.IntN(2) == 0 {
				at := closed.Add(-day)
				deadline := at.Add(14 * day)
				t.event(invoice.Event{At: at, Kind: invoice.EventDisputeOpened, Outcome: "wrong_amount", Until: &deadline})
				t.task(at, "dispute-1:review", "dispute_review", "Review the dispute", &closed)
				t.event(invoice.Event{At: closed, Kind: invoice.EventDisputeResolved, Outcome: "upheld", Actor: cust.AccountManager})
			}
			t.event(invoice.Event{At: closed, Kind: invoice.EventCancelled, Detail: "credit note issued", Actor: cust.AccountManager, BalanceMinor: t.balance()})
			stage = invoice.StageCancelled
		case p < 94: // written off after escalation
			closed = b.shift(&inv, inv.DueAt.Add(time.Duration(60+r.IntN(30))*day), r)
			t.event(invoice.Event{At: inv.IssuedAt, Kind: invoice.EventStarted})
			t.steps(closed)
			t.event(invoice.Event{At: closed, Kind: invoice.EventDecision, Outcome: "write_off", Detail: "customer insolvent", Actor: cust.AccountManager})
			t.event(invoice.Event{At: closed, Kind: invoice.EventWrittenOff, Detail: "customer insolvent", Actor: cust.AccountManager, BalanceMinor: t.balance()})
			stage = invoice.StageWrittenOff
		default: // placed with the agency: collected, or returned
			closed = b.shift(&inv, inv.DueAt.Add(time.Duration(120+r.IntN(90))*day), r)
			t.event(invoice.Event{At: inv.IssuedAt, Kind: invoice.EventStarted})
			t.steps(closed)
			outcome, st8 := "collected", invoice.StageCollected
			amt := inv.AmountMinor
			if p >= 98 {
				outcome, st8, amt = "returned", invoice.StageReturned, 0
			}
			t.event(invoice.Event{At: closed, Kind: invoice.EventAgencyOutcome, Outcome: outcome, AmountMinor: amt, Reference: "AG-" + inv.Number})
			stage = st8
		}
		st.ClosedAt = &closed
		inv.ClosedAt = &closed
		st.NextAction = nil
	}
	inv.Stage, st.Stage = stage, stage
	inv.BalanceMinor = inv.AmountMinor - t.paid
	st.BalanceMinor, st.DueAt = inv.BalanceMinor, inv.DueAt
	inv.CreatedAt = inv.IssuedAt
	inv.UpdatedAt = inv.IssuedAt
	if inv.ClosedAt != nil {
		inv.UpdatedAt = *inv.ClosedAt
	}
	// The workflow appends events as they happen.
	slices.SortStableFunc(st.Timeline, func(a, b invoice.Event) int { return a.At.Compare(b.At) })
	inv.EventsPublished = len(st.Timeline)
	rows.invoices = append(rows.invoices, inv)
	rows.statuses = append(rows.statuses, st)
}

// stepsThenPay runs the steps due before at, then records a payment.
func (t *timeline) stepsThenPay(at time.Time, amount int64) {
	t.steps(at) // the caller walks on from there to its own end
	t.pay(at, amount)
	t.st.NextAction = nil
}

// shift moves an invoice closed at closed back in time until it closed at
// least a day before now, and returns its closing time.
func (b deskBook) shift(inv *db.Invoice, closed time.Time, r *rand.Rand) time.Time {
	if limit := b.now.Add(-24 * time.Hour); closed.After(limit) {
		back := closed.Sub(limit) + time.Duration(r.IntN(30*24))*time.Hour
		inv.IssuedAt, inv.DueAt, closed = inv.IssuedAt.Add(-back), inv.DueAt.Add(-back), closed.Add(-back)
	}
	return closed
}

// deskFillStats counts what the fill wrote.
type deskFillStats struct {
	Customers, Invoices, Payments, Messages, Tasks, Notes int64
	Took                                                  time.Duration
}

// fill writes the book into bdb: customers, then invoices in chunks, each
// chunk in one transaction with multi-row inserts for its rows, and each
// invoice's status saved through the store's own status path
// (SaveStatus), so whatever the read side derives when a workflow saves a
// status is derived here too. workers transactions run at once (SQLite
// takes one writer at a time: 1 there).
func (b deskBook) fill(ctx context.Context, bdb *bun.DB, label string, workers int) (deskFillStats, error) {
	var st deskFillStats
	t0 := time.Now()
	const chunk = 500
	custs := make([]db.Customer, 0, chunk)
	for i := range b.customers {
		custs = append(custs, b.customer(i).Customer)
		if len(custs) == chunk || i == b.customers-1 {
			if _, err := bdb.NewInsert().Model(&custs).Exec(ctx); err != nil {
				return st, fmt.Errorf("insert customers: %w", err)
			}
			custs = custs[:0]
		}
	}
	st.Customers = int64(b.customers)
	total := b.open + b.closed
	chunks := make(chan int)
	var done, pays, msgs, tasks, notes atomic.Int64
	stop := deskProgress(label, total, &done, t0)
	defer stop()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range workers {
		wg.Go(func() {
			for start := range chunks {
				var rows deskRows
				for i := start; i < min(start+chunk, total); i++ {
					b.generate(i, &rows)
				}
				if err := rows.write(fctx, bdb, b.now); err != nil {
					errs <- err
					cancel()
					return
				}
				done.Add(int64(len(rows.invoices)))
				pays.Add(int64(len(rows.payments)))
				msgs.Add(int64(len(rows.messages)))
				tasks.Add(int64(len(rows.tasks)))
				notes.Add(int64(len(rows.notes)))
			}
		})
	}
feed:
	for start := 0; start < total; start += chunk {
		select {
		case chunks <- start:
		case <-fctx.Done():
			break feed
		}
	}
	close(chunks)
	wg.Wait()
	select {
	case err := <-errs:
		return st, err
	default:
	}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	st.Invoices, st.Payments, st.Messages, st.Tasks, st.Notes = done.Load(), pays.Load(), msgs.Load(), tasks.Load(), notes.Load()
	st.Took = time.Since(t0)
	return st, nil
}

// write stores one chunk in one transaction.
func (rows *deskRows) write(ctx context.Context, bdb *bun.DB, now time.Time) error {
	return bdb.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(&rows.invoices).Exec(ctx); err != nil {
			return fmt.Errorf("insert invoices: %w", err)
		}
		for _, part := range []struct {
			what  string
			n     int
			model any
		}{{"payments", len(rows.payments), &rows.payments}, {"messages", len(rows.messages), &rows.messages},
			{"tasks", len(rows.tasks), &rows.tasks}, {"notes", len(rows.notes), &rows.notes}} {
			if part.n == 0 {
				continue
			}
			if _, err := tx.NewInsert().Model(part.model).Exec(ctx); err != nil {
				return fmt.Errorf("insert %s: %w", part.what, err)
			}
		}
		store := db.NewStore(tx)
		for _, st := range rows.statuses {
			if err := store.SaveStatus(ctx, st, now); err != nil {
				return fmt.Errorf("save status of %s: %w", st.InvoiceID, err)
			}
		}
		return nil
	})
}

// deskProgress prints the fill's progress every 10 seconds until stopped.
func deskProgress(label string, total int, done *atomic.Int64, t0 time.Time) (stop func()) {
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(10 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tick.C:
				d, el := done.Load(), time.Since(t0)
				rate := float64(d) / el.Seconds()
				eta := "–"
				if rate > 0 {
					eta = (time.Duration(float64(int64(total)-d)/rate) * time.Second).Round(time.Second).String()
				}
				fmt.Fprintf(os.Stderr, "bench:   desk %s: %d/%d invoices written in %s, %.0f/s, %s to go\n", label, d, total, el.Round(time.Second), rate, eta)
			}
		}
	}()
	return func() { close(quit); <-finished }
}
