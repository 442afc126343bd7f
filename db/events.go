package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/policy"
)

// InvoiceEvent is one event of an invoice's timeline that a report counts
// (invoice_events), with what the timeline said just before it. The
// timeline-based reports are GROUP BYs over these rows (reports.go); the
// rows are written whenever the workflow's status is saved (indexTimeline)
// and, for statuses saved before the table existed, by
// BackfillInvoiceEvents.
type InvoiceEvent struct {
	bun.BaseModel `bun:"table:invoice_events,alias:ie"`

	InvoiceID string `bun:"invoice_id,pk"`
	// Seq is the event's position in the timeline, from 0. A timeline only
	// ever grows (the workflow appends; continue-as-new carries it over), so
	// a position names one event for good and rows are never rewritten.
	Seq         int       `bun:"seq,pk"`
	Kind        string    `bun:"kind,notnull"`
	At          time.Time `bun:"at,notnull"`
	Currency    string    `bun:"currency,notnull"`
	Step        string    `bun:"step,notnull"`
	Channel     string    `bun:"channel,notnull"` // the event's own channel (a message's)
	Outcome     string    `bun:"outcome,notnull"` // a message's outcome, a dispute's reason ...
	AmountMinor int64     `bun:"amount_minor,notnull"`
	// Stage is the stage the event counts under: for a message, the stage
	// its policy step moves the invoice to, or else the invoice's stage at
	// the time; for any other event, the invoice's stage just before it.
	Stage invoice.Stage `bun:"stage,notnull"`
	// PriorChannel is the channel of the last message sent to the customer
	// before the event (internal notices to the account manager do not
	// count; "agency" once the invoice was placed), or "none".
	PriorChannel string `bun:"prior_channel,notnull"`
	// PromiseOpen is set when a promise to pay stood just before the event.
	PromiseOpen bool `bun:"promise_open,notnull"`
}

// NotApplied is the outcome of a payment the workflow did not apply (the
// invoice was closed, or the currency was wrong): it moved no money.
const NotApplied = "not applied"

// counted reports whether a report counts an event of this kind, so
// whether it gets a row.
func counted(e invoice.Event) bool {
	switch e.Kind {
	case invoice.EventMessage:
		return e.Outcome == MessageSent
	case invoice.EventPayment, invoice.EventPaid, invoice.EventPromiseKept, invoice.EventPromiseBroken, invoice.EventDisputeOpened:
		return true
	}
	return false
}

// baseStep is a timeline step key's policy step: "overdue-15#2" and
// "escalate:management" belong to overdue-15 and escalate.
func baseStep(key string) string {
	key, _, _ = strings.Cut(key, "#")
	key, _, _ = strings.Cut(key, ":")
	return key
}

// walker follows an invoice's timeline, keeping its stage as the workflow
// had it, the channel last used and whether a promise stands.
type walker struct {
	steps    map[string]invoice.Stage // the policy's steps' stages
	reached  invoice.Stage            // the collection stage reached
	promise  bool
	paused   bool
	disputed bool
	channel  string
}

func newWalker(steps map[string]invoice.Stage) *walker {
	return &walker{steps: steps, reached: invoice.StageIssued, channel: "none"}
}

func (w *walker) stage() invoice.Stage {
	switch {
	case w.disputed:
		return invoice.StageDisputed
	case w.promise:
		return invoice.StagePromised
	case w.paused:
		return invoice.StagePaused
	}
	return w.reached
}

// countsUnder is the stage an event counts under, before it is applied.
func (w *walker) countsUnder(e invoice.Event) invoice.Stage {
	if e.Kind == invoice.EventMessage {
		if s, ok := w.steps[baseStep(e.Step)]; ok {
			return s
		}
	}
	return w.stage()
}

// step applies an event after it is reported.
func (w *walker) step(e invoice.Event) {
	switch e.Kind {
	case invoice.EventMessage, invoice.EventTask, invoice.EventDeliveryConfirmed:
		// A policy step was carried out: the invoice reached its stage (a
		// bounce reported later changes nothing).
		if s, ok := w.steps[baseStep(e.Step)]; ok && e.Outcome != "bounced" {
			w.reached = s
		}
	case invoice.EventEscalated:
		w.reached = invoice.StageEscalated
	case invoice.EventAgencyPlaced:
		w.reached = invoice.StageAgency
	case invoice.EventDisputeOpened:
		w.disputed, w.promise = true, false
	case invoice.EventDisputeResolved:
		w.disputed = false
	case invoice.EventPromise:
		w.promise = true
	case invoice.EventPromiseKept, invoice.EventPromiseBroken, invoice.EventPaid, invoice.EventCancelled, invoice.EventWrittenOff:
		w.promise = false
	case invoice.EventPaused:
		w.paused = true
	case invoice.EventResumed:
		w.paused = false
	}
	if e.Kind == invoice.EventMessage && e.Outcome == MessageSent && e.Channel != "manager" {
		w.channel = e.Channel
	}
	if e.Kind == invoice.EventAgencyPlaced {
		w.channel = "agency"
	}
}

// timelineOwner is what the rows of an invoice's events carry from the
// invoice itself.
type timelineOwner struct {
	ID            string `bun:"id"`
	Currency      string `bun:"currency"`
	PolicyName    string `bun:"policy_name"`
	PolicyVersion int    `bun:"policy_version"`
}

// eventIndexer turns timelines into invoice_events rows, remembering the
// stages of the policies it looked up.
type eventIndexer struct {
	db     bun.IDB
	stages map[string]map[string]invoice.Stage
}

// stepStages are the stages of a policy version's steps: a built-in
// policy's, or a stored version's (the lookup internal/policies.Version
// does). A policy not found has none: its messages count under the
// invoice's stage, as the reports always did.
func (x *eventIndexer) stepStages(ctx context.Context, name string, version int) (map[string]invoice.Stage, error) {
	key := fmt.Sprintf("%s@%d", name, version)
	if s, ok := x.stages[key]; ok {
		return s, nil
	}
	out := map[string]invoice.Stage{}
	if b, ok := policy.Builtin(name); ok && b.Version == version {
		out = b.StepStages()
	} else {
		var doc PolicyDocument
		err := x.db.NewSelect().Model(&doc).Where("name = ?", name).Where("version = ?", version).Scan(ctx)
		switch {
		case err == nil:
			var p policy.Policy
			if json.Unmarshal([]byte(doc.Document), &p) == nil {
				out = p.StepStages()
			}
		case !errors.Is(err, sql.ErrNoRows):
			return nil, fmt.Errorf("policy %s v%d: %w", name, version, err)
		}
	}
	if x.stages == nil {
		x.stages = map[string]map[string]invoice.Stage{}
	}
	x.stages[key] = out
	return out, nil
}

// rows are the rows of the timeline's counted events after position last
// (-1: all of them).
func (x *eventIndexer) rows(ctx context.Context, inv timelineOwner, timeline []invoice.Event, last int) ([]InvoiceEvent, error) {
	news := false
	for i := last + 1; i < len(timeline) && !news; i++ {
		news = counted(timeline[i])
	}
	if !news {
		return nil, nil
	}
	steps, err := x.stepStages(ctx, inv.PolicyName, inv.PolicyVersion)
	if err != nil {
		return nil, err
	}
	var out []InvoiceEvent
	w := newWalker(steps)
	for i, e := range timeline {
		if i > last && counted(e) {
			out = append(out, InvoiceEvent{InvoiceID: inv.ID, Seq: i, Kind: e.Kind, At: e.At, Currency: inv.Currency,
				Step: clip(e.Step, 64), Channel: clip(eventChannel(e), 16), Outcome: clip(e.Outcome, 200), AmountMinor: e.AmountMinor,
				Stage: w.countsUnder(e), PriorChannel: clip(w.channel, 16), PromiseOpen: w.promise})
		}
		w.step(e)
	}
	return out, nil
}

// eventChannel is an event's own channel: the one it records, else, for a
// payment made on the customer portal (its reference starts with
// PortalPaymentPrefix), "portal".
func eventChannel(e invoice.Event) string {
	if e.Channel == "" && e.Kind == invoice.EventPayment && strings.HasPrefix(e.Reference, PortalPaymentPrefix) {
		return "portal"
	}
	return e.Channel
}

// clip keeps s within a column of n characters.
func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

func insertEvents(ctx context.Context, db bun.IDB, rows []InvoiceEvent) error {
	for len(rows) > 0 {
		chunk := rows[:min(len(rows), 200)]
		rows = rows[len(chunk):]
		if _, err := db.NewInsert().Model(&chunk).On("CONFLICT (invoice_id, seq) DO NOTHING").Exec(ctx); err != nil {
			return fmt.Errorf("insert invoice events: %w", err)
		}
	}
	return nil
}

// indexTimeline writes the rows of the status's counted events not written
// yet. The status save (Invoices.SaveStatusWithEvents) calls it in its
// transaction, so the rows and the status are saved together. It is
// idempotent: an older status saved late (a retry) adds nothing, and rows
// already written are left as they are.
func indexTimeline(ctx context.Context, db bun.IDB, st invoice.Status, last int) error {
	var inv timelineOwner
	if err := db.NewSelect().Model((*Invoice)(nil)).Column("id", "currency", "policy_name", "policy_version").
		Where("id = ?", st.InvoiceID).Scan(ctx, &inv); err != nil {
		return notFound(err, "invoice", st.InvoiceID)
	}
	x := eventIndexer{db: db}
	rows, err := x.rows(ctx, inv, st.Timeline, last)
	if err != nil {
		return err
	}
	return insertEvents(ctx, db, rows)
}

// lastIndexed is the timeline position of an invoice's last indexed event
// (invoice_events.seq), -1 when none is.
func lastIndexed(ctx context.Context, db bun.IDB, invoiceID string) (int, error) {
	var last int
	if err := db.NewSelect().Model((*InvoiceEvent)(nil)).ColumnExpr("COALESCE(MAX(seq), -1)").
		Where("invoice_id = ?", invoiceID).Scan(ctx, &last); err != nil {
		return 0, fmt.Errorf("invoice events: %w", err)
	}
	return last, nil
}

// BackfillInvoiceEvents writes the invoice_events rows of every saved
// status, paging through the invoices by id, batch at a time (each page in
// a transaction). It is idempotent and resumable: rows already written are
// kept, so running it again writes only what is missing. The migration
// 20261207000021 runs it once; a tool that fills invoices with statuses by
// SQL (the bench) calls it afterwards. It returns how many rows it wrote.
func BackfillInvoiceEvents(ctx context.Context, db bun.IDB, batch int) (int, error) {
	if batch <= 0 {
		batch = 500
	}
	x := eventIndexer{db: db}
	written, after := 0, ""
	for {
		var page []Invoice
		if err := db.NewSelect().Model(&page).Column("id", "currency", "policy_name", "policy_version", "status").
			Where("status IS NOT NULL").Where("id > ?", after).Order("id").Limit(int64(batch)).Scan(ctx); err != nil {
			return written, fmt.Errorf("backfill invoice events: %w", err)
		}
		if len(page) == 0 {
			return written, nil
		}
		after = page[len(page)-1].ID
		ids := make([]string, len(page))
		for i := range page {
			ids[i] = page[i].ID
		}
		var lasts []struct {
			InvoiceID string `bun:"invoice_id"`
			Last      int    `bun:"last"`
		}
		if err := db.NewSelect().Model((*InvoiceEvent)(nil)).Column("invoice_id").ColumnExpr("MAX(seq) AS last").
			Where("invoice_id IN (?)", bun.In(ids)).Group("invoice_id").Scan(ctx, &lasts); err != nil {
			return written, fmt.Errorf("backfill invoice events: %w", err)
		}
		last := make(map[string]int, len(lasts))
		for _, l := range lasts {
			last[l.InvoiceID] = l.Last
		}
		var rows []InvoiceEvent
		for i := range page {
			inv := &page[i]
			if inv.Status == nil {
				continue
			}
			l, ok := last[inv.ID]
			if !ok {
				l = -1
			}
			r, err := x.rows(ctx, timelineOwner{ID: inv.ID, Currency: inv.Currency, PolicyName: inv.PolicyName, PolicyVersion: inv.PolicyVersion},
				inv.Status.Timeline, l)
			if err != nil {
				return written, err
			}
			rows = append(rows, r...)
		}
		if err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error { return insertEvents(ctx, tx, rows) }); err != nil {
			return written, err
		}
		written += len(rows)
	}
}
