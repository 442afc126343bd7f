package collect

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/money"
	"github.com/collections-engine/collections/policy"
	"github.com/collections-engine/collections/workflows"
)

// commandStore is what the commands on a running invoice (disputes,
// promises, pauses, closing, due dates, decisions), notes and tasks need of
// the database.
type commandStore interface {
	GetInvoice(ctx context.Context, id string) (*db.Invoice, error)
	GetCustomer(ctx context.Context, id string) (*db.Customer, error)
	InsertNote(ctx context.Context, n *db.Note) error
	GetTask(ctx context.Context, id string) (*db.Task, error)
	CompleteTask(ctx context.Context, id, outcome, note string, now time.Time) (*db.Task, bool, error)
	ReassignTask(ctx context.Context, id, assignee string, note *db.Note) (*db.Task, error)
}

// Commands on a running invoice: each checks what it can without the
// workflow (the invoice exists and is open, amounts, dates and choices are
// well written), then becomes an update on the invoice's workflow, whose
// validator decides whether the invoice's current state allows it. Each
// answers with the invoice as it stands afterwards.

// InvoiceCommand names the invoice a command is for, who sent it, and the
// key that makes a retried command run once.
type InvoiceCommand struct {
	InvoiceID string
	Actor     Actor
	// IdempotencyKey, when given, makes the same command sent again (the
	// API's Idempotency-Key) one update on the workflow; empty: every call
	// is a new command.
	IdempotencyKey string
}

// OpenDispute opens a dispute, which pauses chasing until it is resolved.
type OpenDispute struct {
	InvoiceCommand
	Reason string // one of workflows.DisputeReasons
	Note   string
}

// ResolveDispute resolves the open dispute.
type ResolveDispute struct {
	InvoiceCommand
	Resolution string // rejected, upheld or adjusted
	Amount     string // the corrected invoice amount, a decimal string, for adjusted
	Note       string
	By         string // who resolved it, as the invoice's timeline names them
}

// PromiseToPay records a promise to pay Amount by Date.
type PromiseToPay struct {
	InvoiceCommand
	Amount string // a decimal string in the invoice's currency
	Date   string // RFC 3339
	Note   string
}

// Pause pauses chasing until a moment, or until resumed.
type Pause struct {
	InvoiceCommand
	Until  string // RFC 3339; empty pauses until resumed
	Reason string
	By     string // who paused it, as the invoice's timeline names them
}

// Resume resumes chasing a paused invoice.
type Resume struct {
	InvoiceCommand
	Reason string
	By     string
}

// CloseInvoice cancels or writes off an invoice.
type CloseInvoice struct {
	InvoiceCommand
	Reason string // required: why, for the record
	By     string
}

// ChangeDueDate moves the due date; the schedule re-anchors on it.
type ChangeDueDate struct {
	InvoiceCommand
	DueAt string // RFC 3339
	By    string
}

// DecideEscalation is management's decision on an escalated invoice.
type DecideEscalation struct {
	InvoiceCommand
	Decision string // extend, agency or write_off
	Until    string // the new deadline, for extend (RFC 3339)
	Note     string
	By       string
}

// AgencyOutcome is the collection agency's report on an invoice placed
// with it.
type AgencyOutcome struct {
	InvoiceCommand
	Outcome   string // collected, partially_collected or returned
	Amount    string // collected so far, for partially_collected
	Reference string // the agency's reference for the report; one report per reference
}

// AgencyReport is what was passed to the invoice's workflow.
type AgencyReport struct {
	Invoice *db.Invoice
	Outcome workflows.AgencyOutcome
}

// OpenDispute opens a dispute on the invoice.
func (s *Service) OpenDispute(ctx context.Context, cmd OpenDispute) (*db.Invoice, error) {
	return s.invoiceCommand(ctx, cmd.InvoiceCommand, workflows.UpdateOpenDispute, func(*db.Invoice) (any, error) {
		reason := strings.TrimSpace(cmd.Reason)
		if reason == "" {
			return nil, invalidf("reason", "is required: one of %s", strings.Join(workflows.DisputeReasons, ", "))
		}
		return workflows.DisputeRequest{Reason: reason, Note: cmd.Note}, nil
	})
}

// ResolveDispute resolves the invoice's open dispute.
func (s *Service) ResolveDispute(ctx context.Context, cmd ResolveDispute) (*db.Invoice, error) {
	return s.invoiceCommand(ctx, cmd.InvoiceCommand, workflows.UpdateResolveDispute, func(inv *db.Invoice) (any, error) {
		req := workflows.ResolveDisputeRequest{Resolution: cmd.Resolution, Note: cmd.Note, Actor: cmd.By}
		switch cmd.Resolution {
		case workflows.ResolutionRejected, workflows.ResolutionUpheld:
		case workflows.ResolutionAdjusted:
			n, err := positiveAmount("amount", cmd.Amount, inv.Currency)
			if err != nil {
				return nil, err
			}
			req.NewAmountMinor = n
		default:
			return nil, invalidf("resolution", "must be rejected, upheld or adjusted")
		}
		return req, nil
	})
}

// PromiseToPay records the customer's promise to pay.
func (s *Service) PromiseToPay(ctx context.Context, cmd PromiseToPay) (*db.Invoice, error) {
	return s.invoiceCommand(ctx, cmd.InvoiceCommand, workflows.UpdatePromise, func(inv *db.Invoice) (any, error) {
		n, err := positiveAmount("amount", cmd.Amount, inv.Currency)
		if err != nil {
			return nil, err
		}
		date, err := requiredTime("date", cmd.Date)
		if err != nil {
			return nil, err
		}
		if cmd.Actor.Kind == ActorCustomer {
			// A customer on their own may promise only so far out; the
			// team may agree to any date.
			if limit := s.now().Add(s.promiseHorizon()); date.After(limit) {
				return nil, invalidf("date", "must be within %d days from today (by %s)", int(s.promiseHorizon().Hours()/24), limit.Format("2 January 2006"))
			}
			if !date.After(s.now()) {
				return nil, invalidf("date", "must be in the future")
			}
		}
		return workflows.PromiseRequest{AmountMinor: n, Date: date, Note: cmd.Note}, nil
	})
}

// Pause pauses chasing the invoice.
func (s *Service) Pause(ctx context.Context, cmd Pause) (*db.Invoice, error) {
	return s.invoiceCommand(ctx, cmd.InvoiceCommand, workflows.UpdatePause, func(*db.Invoice) (any, error) {
		until, err := optionalTime("until", cmd.Until)
		if err != nil {
			return nil, err
		}
		return workflows.PauseRequest{Until: until, Reason: cmd.Reason, Actor: cmd.By}, nil
	})
}

// Resume resumes chasing the invoice.
func (s *Service) Resume(ctx context.Context, cmd Resume) (*db.Invoice, error) {
	return s.invoiceCommand(ctx, cmd.InvoiceCommand, workflows.UpdateResume, func(*db.Invoice) (any, error) {
		return workflows.PauseRequest{Reason: cmd.Reason, Actor: cmd.By}, nil
	})
}

// Cancel cancels the invoice: nothing more is chased.
func (s *Service) Cancel(ctx context.Context, cmd CloseInvoice) (*db.Invoice, error) {
	return s.closeInvoice(ctx, workflows.UpdateCancel, cmd)
}

// WriteOff writes the invoice off: nothing more is chased.
func (s *Service) WriteOff(ctx context.Context, cmd CloseInvoice) (*db.Invoice, error) {
	return s.closeInvoice(ctx, workflows.UpdateWriteOff, cmd)
}

func (s *Service) closeInvoice(ctx context.Context, update string, cmd CloseInvoice) (*db.Invoice, error) {
	return s.invoiceCommand(ctx, cmd.InvoiceCommand, update, func(*db.Invoice) (any, error) {
		if strings.TrimSpace(cmd.Reason) == "" {
			return nil, invalidf("reason", "is required: say why, for the record")
		}
		return workflows.CloseRequest{Reason: cmd.Reason, Actor: cmd.By}, nil
	})
}

// ChangeDueDate moves the invoice's due date.
func (s *Service) ChangeDueDate(ctx context.Context, cmd ChangeDueDate) (*db.Invoice, error) {
	return s.invoiceCommand(ctx, cmd.InvoiceCommand, workflows.UpdateChangeDueDate, func(*db.Invoice) (any, error) {
		due, err := requiredTime("due_at", cmd.DueAt)
		if err != nil {
			return nil, err
		}
		return workflows.DueDateRequest{DueAt: due, Actor: cmd.By}, nil
	})
}

// DecideEscalation records management's decision on the escalated invoice.
func (s *Service) DecideEscalation(ctx context.Context, cmd DecideEscalation) (*db.Invoice, error) {
	return s.invoiceCommand(ctx, cmd.InvoiceCommand, workflows.UpdateDecide, func(*db.Invoice) (any, error) {
		until, err := optionalTime("until", cmd.Until)
		if err != nil {
			return nil, err
		}
		switch policy.Decision(cmd.Decision) {
		case policy.DecisionExtend, policy.DecisionAgency, policy.DecisionWriteOff:
		default:
			return nil, invalidf("decision", "must be extend, agency or write_off")
		}
		return workflows.DecisionRequest{Decision: policy.Decision(cmd.Decision), Until: until, Note: cmd.Note, Actor: cmd.By}, nil
	})
}

// ReportAgencyOutcome passes the agency's report to the invoice's workflow
// as a fact (a signal, recorded there once per reference): there is no
// answer to wait for, so the invoice comes back as it was before.
func (s *Service) ReportAgencyOutcome(ctx context.Context, cmd AgencyOutcome) (AgencyReport, error) {
	inv, err := s.openInvoice(ctx, cmd.InvoiceID)
	if err != nil {
		return AgencyReport{}, err
	}
	o := workflows.AgencyOutcome{Outcome: cmd.Outcome, Reference: strings.TrimSpace(cmd.Reference)}
	switch cmd.Outcome {
	case workflows.AgencyCollected, workflows.AgencyReturned:
	case workflows.AgencyPartiallyCollected:
		if o.AmountMinor, err = positiveAmount("amount", cmd.Amount, inv.Currency); err != nil {
			return AgencyReport{}, err
		}
	default:
		return AgencyReport{}, invalidf("outcome", "must be collected, partially_collected or returned")
	}
	if o.Reference == "" {
		return AgencyReport{}, invalidf("reference", "is required: the agency's reference for this report")
	}
	// A signal has no validator to refuse it, so the stage is checked here,
	// as the workflow has it now.
	if stage := s.stage(ctx, inv); stage != invoice.StageAgency {
		return AgencyReport{}, conflictf("", "invoice %s is not with the agency (stage %s)", inv.Number, stage)
	}
	if err := s.Workflows.AgencyOutcome(ctx, inv.WorkflowID, o); err != nil {
		return AgencyReport{}, unavailablef(err, "agency outcome not delivered, try again: %v", err)
	}
	s.log().Info("agency outcome reported", "invoice_id", inv.ID, "outcome", o.Outcome, "reference", o.Reference, "actor", cmd.Actor.String())
	return AgencyReport{Invoice: inv, Outcome: o}, nil
}

// stage is the invoice's stage as its workflow sees it now, else as last
// saved.
func (s *Service) stage(ctx context.Context, inv *db.Invoice) invoice.Stage {
	if st, _ := s.Status(ctx, inv); st != nil {
		return st.Stage
	}
	return inv.Stage
}

// invoiceCommand loads the invoice, refuses a closed one, builds the
// workflow's argument (build checks the command's syntax against the
// invoice) and runs the update, answering with the invoice as it stands
// afterwards.
func (s *Service) invoiceCommand(ctx context.Context, c InvoiceCommand, update string, build func(*db.Invoice) (any, error)) (*db.Invoice, error) {
	inv, err := s.openInvoice(ctx, c.InvoiceID)
	if err != nil {
		return nil, err
	}
	arg, err := build(inv)
	if err != nil {
		return nil, err
	}
	updateID := update + ":" + uuid.Must(uuid.NewV7()).String()
	if c.IdempotencyKey != "" {
		updateID = update + ":" + c.IdempotencyKey
	}
	var res workflows.CommandResponse
	if err := s.Workflows.Update(ctx, inv.WorkflowID, update, updateID, arg, &res); err != nil {
		return nil, fromWorkflow(err, fmt.Sprintf("invoice %s is closed (its workflow has ended)", inv.Number))
	}
	s.log().Info("invoice command", "update", update, "invoice_id", inv.ID, "stage", res.Stage, "actor", c.Actor.String())
	return s.Store.GetInvoice(ctx, inv.ID)
}

// openInvoice loads an invoice, refusing a closed one. The workflow's
// validators refuse commands on a closed invoice too (and are the
// authority); this check only spares the Temporal call when the database
// already says so — a closed invoice's workflow has usually ended, and the
// update would come back not found after a round trip.
func (s *Service) openInvoice(ctx context.Context, id string) (*db.Invoice, error) {
	inv, err := s.Invoice(ctx, id)
	if err != nil {
		return nil, err
	}
	if inv.ClosedAt != nil {
		return nil, closedf("invoice %s is %s; nothing more can change", inv.Number, inv.Stage)
	}
	return inv, nil
}

// requiredTime parses an RFC 3339 time.
func requiredTime(field, v string) (time.Time, error) {
	if strings.TrimSpace(v) == "" {
		return time.Time{}, invalidf(field, "is required, in RFC 3339 form such as 2026-12-01T00:00:00Z")
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, invalidf(field, "%q is not an RFC 3339 time such as 2026-12-01T00:00:00Z", v)
	}
	return t.UTC(), nil
}

// optionalTime parses an RFC 3339 time; empty is none.
func optionalTime(field, v string) (*time.Time, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	t, err := requiredTime(field, v)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// positiveAmount parses a decimal amount in currency, above zero.
func positiveAmount(field, v, currency string) (int64, error) {
	if strings.TrimSpace(v) == "" {
		return 0, invalidf(field, "is required, as a decimal string such as \"100.00\"")
	}
	n, err := money.ParseAmount(v, currency)
	if err != nil {
		return 0, invalidf(field, "%v", err)
	}
	if n == 0 {
		return 0, invalidf(field, "must be greater than zero")
	}
	return n, nil
}
