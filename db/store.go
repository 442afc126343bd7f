package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/collections-engine/collections/invoice"
)

// ErrNotFound is returned when a row does not exist.
var ErrNotFound = errors.New("not found")

// Store is the repository for everything the engine keeps. It works on a
// *bun.DB or inside a bun.Tx alike.
type Store struct{ db bun.IDB }

// NewStore wraps a database or a transaction.
func NewStore(db bun.IDB) *Store { return &Store{db: db} }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.db.NewRaw("SELECT 1").Scan(ctx, &one)
}

func notFound(err error, what, id string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s %q: %w", what, id, ErrNotFound)
	}
	return err
}

// InsertCustomer stores a new customer. inserted is false, and nothing is
// written, when a customer with that id already exists.
func (s *Store) InsertCustomer(ctx context.Context, c *Customer) (inserted bool, err error) {
	res, err := s.db.NewInsert().Model(c).On("CONFLICT (id) DO NOTHING").Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("insert customer: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// GetCustomer loads a customer by id.
func (s *Store) GetCustomer(ctx context.Context, id string) (*Customer, error) {
	c := new(Customer)
	if err := s.db.NewSelect().Model(c).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "customer", id)
	}
	return c, nil
}

// InsertInvoice stores a new invoice. inserted is false, and nothing is
// written, when an invoice with that number already exists.
func (s *Store) InsertInvoice(ctx context.Context, inv *Invoice) (inserted bool, err error) {
	res, err := s.db.NewInsert().Model(inv).On("CONFLICT (number) DO NOTHING").Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("insert invoice: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// GetInvoice loads an invoice by id.
func (s *Store) GetInvoice(ctx context.Context, id string) (*Invoice, error) {
	inv := new(Invoice)
	if err := s.db.NewSelect().Model(inv).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "invoice", id)
	}
	return inv, nil
}

// GetInvoiceByNumber loads an invoice by its number.
func (s *Store) GetInvoiceByNumber(ctx context.Context, number string) (*Invoice, error) {
	inv := new(Invoice)
	if err := s.db.NewSelect().Model(inv).Where("number = ?", number).Scan(ctx); err != nil {
		return nil, notFound(err, "invoice number", number)
	}
	return inv, nil
}

// DeleteInvoice removes an invoice that never got a workflow (the API's
// compensation when starting the workflow fails).
func (s *Store) DeleteInvoice(ctx context.Context, id string) error {
	_, err := s.db.NewDelete().Model((*Invoice)(nil)).Where("id = ?", id).Exec(ctx)
	return err
}

// InvoiceFilter narrows ListInvoices; zero values match everything.
type InvoiceFilter struct {
	CustomerID string
	Stage      invoice.Stage
	Manager    string // the customer's account manager
	Currency   string
	// Overdue, when set, keeps open invoices past their due date at Now
	// (true) or all the others (false).
	Overdue *bool
	Now     time.Time
	// Before is a cursor: only invoices created before this id (ids are
	// UUIDv7, ordered by creation).
	Before string
	Limit  int
}

// ListInvoices returns invoices, newest first.
func (s *Store) ListInvoices(ctx context.Context, f InvoiceFilter) ([]Invoice, error) {
	var out []Invoice
	q := s.db.NewSelect().Model(&out).Order("inv.id DESC").Limit(limit(f.Limit))
	if f.CustomerID != "" {
		q = q.Where("inv.customer_id = ?", f.CustomerID)
	}
	if f.Stage != "" {
		q = q.Where("inv.stage = ?", f.Stage)
	}
	if f.Currency != "" {
		q = q.Where("inv.currency = ?", f.Currency)
	}
	if f.Manager != "" {
		q = q.Where("inv.customer_id IN (?)", s.db.NewSelect().Model((*Customer)(nil)).Column("id").Where("account_manager = ?", f.Manager))
	}
	if f.Overdue != nil {
		if *f.Overdue {
			q = q.Where("inv.closed_at IS NULL AND inv.due_at < ?", f.Now)
		} else {
			q = q.Where("NOT (inv.closed_at IS NULL AND inv.due_at < ?)", f.Now)
		}
	}
	if f.Before != "" {
		q = q.Where("inv.id < ?", f.Before)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

// ListCustomers returns customers by id, after the cursor id when given.
func (s *Store) ListCustomers(ctx context.Context, after string, lim int) ([]Customer, error) {
	var out []Customer
	q := s.db.NewSelect().Model(&out).Order("id").Limit(limit(lim))
	if after != "" {
		q = q.Where("id > ?", after)
	}
	err := q.Scan(ctx)
	return out, err
}

func limit(n int) int64 {
	if n <= 0 || n > 500 {
		return 100
	}
	return int64(n)
}

// SaveStatus records the workflow's view of an invoice: stage, status with
// its timeline, and when it closed. It never moves the balance, which only
// payments change.
func (s *Store) SaveStatus(ctx context.Context, st invoice.Status, now time.Time) error {
	_, err := s.SaveStatusWithEvents(ctx, st, now, nil)
	return err
}

// RecordPayment stores a payment once per (invoice, reference) and returns
// the invoice's balance afterwards. A payment already recorded under that
// reference changes nothing and reports duplicate.
func (s *Store) RecordPayment(ctx context.Context, p *Payment, now time.Time) (balance int64, duplicate bool, err error) {
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// Touch the invoice first: on PostgreSQL this takes its row lock, so
		// concurrent payments sum one after another (SQLite's write lock
		// already serializes them). Without it two payments could each miss
		// the other's row and the last writer would win.
		res, err := tx.NewUpdate().Model((*Invoice)(nil)).Set("updated_at = ?", now).Where("id = ?", p.InvoiceID).Exec(ctx)
		if err != nil {
			return fmt.Errorf("lock invoice: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound(sql.ErrNoRows, "invoice", p.InvoiceID)
		}
		res, err = tx.NewInsert().Model(p).On("CONFLICT (invoice_id, reference) DO NOTHING").Exec(ctx)
		if err != nil {
			return fmt.Errorf("insert payment: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		duplicate = n == 0
		var inv Invoice
		if err := tx.NewSelect().Model(&inv).Column("amount_minor").Where("id = ?", p.InvoiceID).Scan(ctx); err != nil {
			return notFound(err, "invoice", p.InvoiceID)
		}
		balance, err = setBalance(ctx, tx, p.InvoiceID, inv.AmountMinor)
		return err
	})
	return balance, duplicate, err
}

// setBalance recomputes an invoice's balance inside a transaction: its
// amount less every payment recorded against it.
func setBalance(ctx context.Context, tx bun.Tx, invoiceID string, amount int64) (int64, error) {
	var paid int64
	if err := tx.NewSelect().Model((*Payment)(nil)).ColumnExpr("COALESCE(SUM(amount_minor), 0)").
		Where("invoice_id = ?", invoiceID).Scan(ctx, &paid); err != nil {
		return 0, fmt.Errorf("sum payments: %w", err)
	}
	balance := amount - paid
	_, err := tx.NewUpdate().Model((*Invoice)(nil)).Set("balance_minor = ?", balance).Where("id = ?", invoiceID).Exec(ctx)
	return balance, err
}

// ListPayments returns an invoice's payments, oldest first.
func (s *Store) ListPayments(ctx context.Context, invoiceID string) ([]Payment, error) {
	var out []Payment
	err := s.db.NewSelect().Model(&out).Where("invoice_id = ?", invoiceID).Order("received_at", "id").Scan(ctx)
	return out, err
}

// ClaimMessage inserts m unless a message for the same (invoice, step,
// channel) exists. It returns the row that stands: m itself when claimed is
// true, else the earlier one, which must not be sent again.
func (s *Store) ClaimMessage(ctx context.Context, m *Message) (stored *Message, claimed bool, err error) {
	res, err := s.db.NewInsert().Model(m).On("CONFLICT (invoice_id, step, channel) DO NOTHING").Exec(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("claim message: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return m, true, nil
	}
	existing := new(Message)
	err = s.db.NewSelect().Model(existing).
		Where("invoice_id = ? AND step = ? AND channel = ?", m.InvoiceID, m.Step, m.Channel).Scan(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("load claimed message: %w", err)
	}
	return existing, false, nil
}

// ReleasedPrefix starts the detail of a pending message whose last attempt
// the provider refused for now (429, 5xx): the provider does not have it,
// so the next attempt may take the claim back at once instead of waiting
// out the lease that guards a send whose outcome is unknown.
const ReleasedPrefix = "released: "

// ReleaseMessage marks the pending message id as refused for now, with the
// provider's reason, so that the next attempt can reclaim it.
func (s *Store) ReleaseMessage(ctx context.Context, id, reason string) error {
	_, err := s.db.NewUpdate().Model((*Message)(nil)).
		Set("detail = ?", ReleasedPrefix+reason).
		Where("id = ? AND status = ?", id, MessagePending).
		Exec(ctx)
	return err
}

// ReclaimMessage takes a pending message back for one more attempt: one
// the provider refused (released), or one whose claim's lease has run out
// (claimedAt, the created_at the caller read). It is a compare-and-swap, so
// of two attempts only one wins (true); the claim's time becomes now,
// starting a new lease.
func (s *Store) ReclaimMessage(ctx context.Context, id string, released bool, claimedAt, now time.Time) (bool, error) {
	q := s.db.NewUpdate().Model((*Message)(nil)).
		Set("detail = ''").
		Set("created_at = ?", now).
		Where("id = ? AND status = ?", id, MessagePending)
	if released {
		q = q.Where("detail LIKE ?", ReleasedPrefix+"%")
	} else {
		q = q.Where("created_at = ?", claimedAt).Where("detail NOT LIKE ?", ReleasedPrefix+"%")
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// MessageOutcome is what became of a claimed message.
type MessageOutcome struct {
	Status            string
	Detail            string
	Provider          string
	ProviderMessageID string
	SentAt            *time.Time
}

// FinishMessage records the outcome of a claimed message.
func (s *Store) FinishMessage(ctx context.Context, id string, o MessageOutcome) error {
	_, err := s.db.NewUpdate().Model((*Message)(nil)).
		Set("status = ?", o.Status).
		Set("detail = ?", o.Detail).
		Set("provider = ?", o.Provider).
		Set("provider_message_id = ?", o.ProviderMessageID).
		Set("sent_at = ?", o.SentAt).
		Where("id = ?", id).
		Exec(ctx)
	return err
}

// MessageFilter narrows ListMessages; zero values match everything.
type MessageFilter struct {
	InvoiceID string
	Limit     int
}

// ListMessages returns messages, newest first.
func (s *Store) ListMessages(ctx context.Context, f MessageFilter) ([]Message, error) {
	var out []Message
	q := s.db.NewSelect().Model(&out).Order("created_at DESC", "id DESC").Limit(limit(f.Limit))
	if f.InvoiceID != "" {
		q = q.Where("invoice_id = ?", f.InvoiceID)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

// AdjustAmount changes an invoice's amount (a credit note after a dispute)
// and returns the balance: the new amount less what was paid.
func (s *Store) AdjustAmount(ctx context.Context, invoiceID string, newAmount int64, now time.Time) (balance int64, err error) {
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*Invoice)(nil)).Set("amount_minor = ?", newAmount).Set("updated_at = ?", now).
			Where("id = ?", invoiceID).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound(sql.ErrNoRows, "invoice", invoiceID)
		}
		balance, err = setBalance(ctx, tx, invoiceID, newAmount)
		return err
	})
	return balance, err
}

// ChangeDueDate moves an invoice's due date.
func (s *Store) ChangeDueDate(ctx context.Context, invoiceID string, due, now time.Time) error {
	res, err := s.db.NewUpdate().Model((*Invoice)(nil)).Set("due_at = ?", due).Set("updated_at = ?", now).
		Where("id = ?", invoiceID).Exec(ctx)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound(sql.ErrNoRows, "invoice", invoiceID)
	}
	return nil
}

// UpdateCustomer writes a customer's changed details.
func (s *Store) UpdateCustomer(ctx context.Context, c *Customer) error {
	res, err := s.db.NewUpdate().Model(c).WherePK().ExcludeColumn("created_at").Exec(ctx)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound(sql.ErrNoRows, "customer", c.ID)
	}
	return nil
}

// ClaimTask inserts t unless a task with the same (invoice, key) exists, and
// returns the task that stands.
func (s *Store) ClaimTask(ctx context.Context, t *Task) (stored *Task, created bool, err error) {
	res, err := s.db.NewInsert().Model(t).On("CONFLICT (invoice_id, task_key) DO NOTHING").Exec(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("claim task: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return t, true, nil
	}
	existing := new(Task)
	if err := s.db.NewSelect().Model(existing).Where("invoice_id = ? AND task_key = ?", t.InvoiceID, t.Key).Scan(ctx); err != nil {
		return nil, false, err
	}
	return existing, false, nil
}

// GetTask loads a task by id.
func (s *Store) GetTask(ctx context.Context, id string) (*Task, error) {
	t := new(Task)
	if err := s.db.NewSelect().Model(t).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "task", id)
	}
	return t, nil
}

// TaskFilter narrows ListTasks; zero values match everything.
type TaskFilter struct {
	Status    string
	Assignee  string
	InvoiceID string
	Limit     int
}

// ListTasks returns tasks, soonest due first.
func (s *Store) ListTasks(ctx context.Context, f TaskFilter) ([]Task, error) {
	var out []Task
	q := s.db.NewSelect().Model(&out).Order("due_at", "id").Limit(limit(f.Limit))
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.Assignee != "" {
		q = q.Where("assignee = ?", f.Assignee)
	}
	if f.InvoiceID != "" {
		q = q.Where("invoice_id = ?", f.InvoiceID)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

// CompleteTask marks an open task done; completed is false when it was
// already done (the stored task is returned either way).
func (s *Store) CompleteTask(ctx context.Context, id, outcome, note string, now time.Time) (t *Task, completed bool, err error) {
	res, err := s.db.NewUpdate().Model((*Task)(nil)).
		Set("status = ?", TaskDone).Set("outcome = ?", outcome).Set("note = ?", note).Set("completed_at = ?", now).
		Where("id = ? AND status = ?", id, TaskOpen).Exec(ctx)
	if err != nil {
		return nil, false, err
	}
	n, _ := res.RowsAffected()
	t, err = s.GetTask(ctx, id)
	return t, n == 1, err
}

// ListMessagesForSteps returns an invoice's messages for the given steps.
func (s *Store) ListMessagesForSteps(ctx context.Context, invoiceID string, steps []string) ([]Message, error) {
	var out []Message
	if len(steps) == 0 {
		return out, nil
	}
	err := s.db.NewSelect().Model(&out).Where("invoice_id = ?", invoiceID).Where("step IN (?)", bun.In(steps)).
		Order("created_at", "id").Scan(ctx)
	return out, err
}

// InsertPolicy stores a new policy version; inserted is false when that
// name and version already exist.
func (s *Store) InsertPolicy(ctx context.Context, p *PolicyDocument) (inserted bool, err error) {
	res, err := s.db.NewInsert().Model(p).On("CONFLICT (name, version) DO NOTHING").Exec(ctx)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// LatestPolicy returns the newest version of a named policy.
func (s *Store) LatestPolicy(ctx context.Context, name string) (*PolicyDocument, error) {
	p := new(PolicyDocument)
	if err := s.db.NewSelect().Model(p).Where("name = ?", name).Order("version DESC").Limit(1).Scan(ctx); err != nil {
		return nil, notFound(err, "policy", name)
	}
	return p, nil
}

// ListPolicies returns every stored policy version, by name then version.
func (s *Store) ListPolicies(ctx context.Context) ([]PolicyDocument, error) {
	var out []PolicyDocument
	err := s.db.NewSelect().Model(&out).Order("name", "version").Scan(ctx)
	return out, err
}

// AddMessageEvent appends to a message's status history and, when status
// is given, moves the message to it (a delivery, a bounce ...).
func (s *Store) AddMessageEvent(ctx context.Context, e *MessageEvent, setStatus bool) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(e).Exec(ctx); err != nil {
			return err
		}
		if !setStatus {
			return nil
		}
		_, err := tx.NewUpdate().Model((*Message)(nil)).Set("status = ?", e.Status).Set("detail = ?", e.Detail).
			Where("id = ?", e.MessageID).Exec(ctx)
		return err
	})
}

// MessageEvents returns the status history of the given messages, oldest first.
func (s *Store) MessageEvents(ctx context.Context, messageIDs []string) ([]MessageEvent, error) {
	var out []MessageEvent
	if len(messageIDs) == 0 {
		return out, nil
	}
	err := s.db.NewSelect().Model(&out).Where("message_id IN (?)", bun.In(messageIDs)).Order("occurred_at", "id").Scan(ctx)
	return out, err
}

// GetMessage loads a message by id.
func (s *Store) GetMessage(ctx context.Context, id string) (*Message, error) {
	m := new(Message)
	if err := s.db.NewSelect().Model(m).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "message", id)
	}
	return m, nil
}

// MessageByProviderID finds a message by the provider's id for it.
func (s *Store) MessageByProviderID(ctx context.Context, provider, providerID string) (*Message, error) {
	m := new(Message)
	if err := s.db.NewSelect().Model(m).Where("provider = ? AND provider_message_id = ?", provider, providerID).Limit(1).Scan(ctx); err != nil {
		return nil, notFound(err, "message with provider id", providerID)
	}
	return m, nil
}

// CustomerMessages returns a customer's messages (both directions), newest first.
func (s *Store) CustomerMessages(ctx context.Context, customerID string, lim int) ([]Message, error) {
	var out []Message
	err := s.db.NewSelect().Model(&out).Where("customer_id = ?", customerID).Order("created_at DESC", "id DESC").Limit(limit(lim)).Scan(ctx)
	return out, err
}

// ContactsSince counts the distinct (invoice, step) contacts that went out
// to a customer since a moment, leaving out one (invoice, step): the one
// about to be sent, whose other channels may already have gone (a contact
// exactly at since has aged out). It also
// returns when the earliest of them went out.
func (s *Store) ContactsSince(ctx context.Context, customerID string, since, now time.Time, exceptInvoice, exceptStep string) (int, time.Time, error) {
	var rows []struct {
		Contact string    `bun:"contact"`
		First   time.Time `bun:"first"`
	}
	err := s.db.NewSelect().Model((*Message)(nil)).
		ColumnExpr("invoice_id || '/' || step AS contact").ColumnExpr("MIN(sent_at) AS first").
		Where("customer_id = ? AND direction = ? AND status IN (?) AND sent_at > ? AND sent_at <= ?", customerID, Outbound,
			bun.In([]string{MessageSent, MessageDelivered}), since, now).
		Where("NOT (invoice_id = ? AND step = ?)", exceptInvoice, exceptStep).
		Where("channel IN (?)", bun.In([]string{"email", "sms"})).
		GroupExpr("invoice_id, step").
		Scan(ctx, &rows)
	var first time.Time
	for _, r := range rows {
		if first.IsZero() || r.First.Before(first) {
			first = r.First
		}
	}
	return len(rows), first, err
}

// OptOut records that an address must not be contacted on a channel.
func (s *Store) OptOut(ctx context.Context, o *OptOut) error {
	o.Address = strings.ToLower(o.Address)
	_, err := s.db.NewInsert().Model(o).On("CONFLICT (channel, address) DO NOTHING").Exec(ctx)
	return err
}

// OptIn lifts an opt-out.
func (s *Store) OptIn(ctx context.Context, channel, address string) error {
	_, err := s.db.NewDelete().Model((*OptOut)(nil)).Where("channel = ? AND address = ?", channel, strings.ToLower(address)).Exec(ctx)
	return err
}

// OptedOut reports whether an address has opted out of a channel.
func (s *Store) OptedOut(ctx context.Context, channel, address string) (bool, error) {
	return s.db.NewSelect().Model((*OptOut)(nil)).Where("channel = ? AND address = ?", channel, strings.ToLower(address)).Exists(ctx)
}

// FirstWebhookEvent records a provider event id and reports whether it is
// new; a repeat delivery of the same event returns false.
func (s *Store) FirstWebhookEvent(ctx context.Context, provider, eventID string, now time.Time) (bool, error) {
	res, err := s.db.NewInsert().Model(&WebhookEvent{Provider: provider, EventID: eventID, ReceivedAt: now}).
		On("CONFLICT (provider, event_id) DO NOTHING").Exec(ctx)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// CustomerByPhone finds the customer with a phone number.
func (s *Store) CustomerByPhone(ctx context.Context, phone string) (*Customer, error) {
	c := new(Customer)
	if err := s.db.NewSelect().Model(c).Where("phone = ?", phone).Limit(1).Scan(ctx); err != nil {
		return nil, notFound(err, "customer with phone", phone)
	}
	return c, nil
}

// InsertMessage stores a message as is (inbound replies).
func (s *Store) InsertMessage(ctx context.Context, m *Message) error {
	_, err := s.db.NewInsert().Model(m).Exec(ctx)
	return err
}

// InsertAPIKey stores a new API key.
func (s *Store) InsertAPIKey(ctx context.Context, k *APIKey) error {
	_, err := s.db.NewInsert().Model(k).Exec(ctx)
	return err
}

// APIKeyByHash finds an unrevoked key by the SHA-256 of its secret.
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (*APIKey, error) {
	k := new(APIKey)
	if err := s.db.NewSelect().Model(k).Where("key_hash = ? AND revoked_at IS NULL", hash).Scan(ctx); err != nil {
		return nil, notFound(err, "api key", "")
	}
	return k, nil
}

// APIKeyByID finds an unrevoked key by its id (the collectors' page
// session names the key it was opened with).
func (s *Store) APIKeyByID(ctx context.Context, id string) (*APIKey, error) {
	k := new(APIKey)
	if err := s.db.NewSelect().Model(k).Where("id = ? AND revoked_at IS NULL", id).Scan(ctx); err != nil {
		return nil, notFound(err, "api key", id)
	}
	return k, nil
}

// ListAPIKeys lists every key, newest first.
func (s *Store) ListAPIKeys(ctx context.Context) ([]APIKey, error) {
	var out []APIKey
	err := s.db.NewSelect().Model(&out).Order("created_at DESC", "id").Scan(ctx)
	return out, err
}

// RevokeAPIKey revokes a key by id or prefix.
func (s *Store) RevokeAPIKey(ctx context.Context, idOrPrefix string, now time.Time) error {
	res, err := s.db.NewUpdate().Model((*APIKey)(nil)).Set("revoked_at = ?", now).
		Where("(id = ? OR prefix = ?) AND revoked_at IS NULL", idOrPrefix, idOrPrefix).Exec(ctx)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound(sql.ErrNoRows, "active api key", idOrPrefix)
	}
	return nil
}

// ClaimIdempotencyKey records a request under its key. When the key is
// already there (and younger than since), the stored row comes back
// instead and claimed is false; an older one is replaced.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, k *IdempotencyKey, since time.Time) (stored *IdempotencyKey, claimed bool, err error) {
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewDelete().Model((*IdempotencyKey)(nil)).
			Where("api_key_id = ? AND idem_key = ? AND created_at < ?", k.APIKeyID, k.Key, since).Exec(ctx); err != nil {
			return err
		}
		res, err := tx.NewInsert().Model(k).On("CONFLICT (api_key_id, idem_key) DO NOTHING").Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			stored, claimed = k, true
			return nil
		}
		stored = new(IdempotencyKey)
		return tx.NewSelect().Model(stored).Where("api_key_id = ? AND idem_key = ?", k.APIKeyID, k.Key).Scan(ctx)
	})
	return stored, claimed, err
}

// FinishIdempotencyKey stores the response of a claimed request.
func (s *Store) FinishIdempotencyKey(ctx context.Context, apiKeyID, key string, status int, response string) error {
	_, err := s.db.NewUpdate().Model((*IdempotencyKey)(nil)).Set("status = ?", status).Set("response = ?", response).
		Where("api_key_id = ? AND idem_key = ?", apiKeyID, key).Exec(ctx)
	return err
}

// ReleaseIdempotencyKey forgets a claimed request that failed on our side,
// so that the client's retry with the same key runs again.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, apiKeyID, key string) error {
	_, err := s.db.NewDelete().Model((*IdempotencyKey)(nil)).Where("api_key_id = ? AND idem_key = ?", apiKeyID, key).Exec(ctx)
	return err
}

// RecordPaymentEvent stores a reported payment once per (source, event id);
// inserted is false for a repeat.
func (s *Store) RecordPaymentEvent(ctx context.Context, e *PaymentEvent) (inserted bool, err error) {
	res, err := s.db.NewInsert().Model(e).On("CONFLICT (source, event_id) DO NOTHING").Exec(ctx)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ListPaymentEvents returns reported payments, newest first.
func (s *Store) ListPaymentEvents(ctx context.Context, status string, lim int) ([]PaymentEvent, error) {
	var out []PaymentEvent
	q := s.db.NewSelect().Model(&out).Order("received_at DESC", "id DESC").Limit(limit(lim))
	if status != "" {
		q = q.Where("status = ?", status)
	}
	err := q.Scan(ctx)
	return out, err
}

// DeletePaymentEvent forgets a reported payment that could not be handed
// on, so the processor's retry is taken in afresh.
func (s *Store) DeletePaymentEvent(ctx context.Context, id string) error {
	_, err := s.db.NewDelete().Model((*PaymentEvent)(nil)).Where("id = ?", id).Exec(ctx)
	return err
}

// InsertNote stores a note.
func (s *Store) InsertNote(ctx context.Context, n *Note) error {
	_, err := s.db.NewInsert().Model(n).Exec(ctx)
	return err
}

// ListNotes returns a customer's notes (or one invoice's), newest first.
func (s *Store) ListNotes(ctx context.Context, customerID, invoiceID string) ([]Note, error) {
	var out []Note
	q := s.db.NewSelect().Model(&out).Order("created_at DESC", "id DESC").Limit(500)
	if invoiceID != "" {
		q = q.Where("invoice_id = ?", invoiceID)
	} else {
		q = q.Where("customer_id = ?", customerID)
	}
	err := q.Scan(ctx)
	return out, err
}
