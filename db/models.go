package db

import (
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/collections-engine/collections/invoice"
)

// Customer is who owes: contact details live here, never in workflow history.
type Customer struct {
	bun.BaseModel `bun:"table:customers"`

	ID       string `bun:"id,pk"`
	Name     string `bun:"name,notnull"`
	Email    string `bun:"email,notnull"`
	Phone    string `bun:"phone,notnull"`
	Timezone string `bun:"timezone,notnull"`
	// Locale selects the language of messages (BCP 47, e.g. "en", "de").
	Locale string `bun:"locale,notnull"`
	// AccountManager is who owns the relationship: tasks are assigned to
	// them and escalations notify them (an email address, or a name).
	AccountManager string `bun:"account_manager,notnull"`
	// DefaultPolicy is the policy this customer's invoices run on unless an
	// invoice names one; empty means the server's default.
	DefaultPolicy string `bun:"default_policy,notnull"`
	// CreditLimitMinor is how much the customer may owe, in CreditCurrency;
	// nil when no limit was set.
	CreditLimitMinor *int64 `bun:"credit_limit_minor"`
	CreditCurrency   string `bun:"credit_currency,notnull"`
	// PaymentTermsDays is the customer's terms (30 for "net 30"); 0: none.
	PaymentTermsDays int       `bun:"payment_terms_days,notnull"`
	CreatedAt        time.Time `bun:"created_at,notnull"`
	UpdatedAt        time.Time `bun:"updated_at,notnull"`
}

// Invoice is one receivable, chased by the workflow named WorkflowID.
type Invoice struct {
	bun.BaseModel `bun:"table:invoices,alias:inv"`

	ID            string          `bun:"id,pk"`
	Number        string          `bun:"number,notnull"`
	CustomerID    string          `bun:"customer_id,notnull"`
	AmountMinor   int64           `bun:"amount_minor,notnull"`
	BalanceMinor  int64           `bun:"balance_minor,notnull"`
	Currency      string          `bun:"currency,notnull"`
	IssuedAt      time.Time       `bun:"issued_at,notnull"`
	DueAt         time.Time       `bun:"due_at,notnull"`
	Stage         invoice.Stage   `bun:"stage,notnull"`
	PolicyName    string          `bun:"policy_name,notnull"`
	PolicyVersion int             `bun:"policy_version,notnull"`
	WorkflowID    string          `bun:"workflow_id,notnull"`
	Status        *invoice.Status `bun:"status"` // the workflow's last saved status, as JSON
	ClosedAt      *time.Time      `bun:"closed_at"`
	CreatedAt     time.Time       `bun:"created_at,notnull"`
	UpdatedAt     time.Time       `bun:"updated_at,notnull"`
	// EventsPublished counts the timeline events already offered to
	// webhook subscribers.
	EventsPublished int `bun:"events_published,notnull"`
	// OverCreditLimit is set when the invoice took the customer's open
	// balance over its credit limit at creation.
	OverCreditLimit bool `bun:"over_credit_limit,notnull"`
	// What the worklist ranks by (db/worklist.go), kept current on insert,
	// on every balance, due date and status change: the due time in Unix
	// seconds, log10(1 + balance in major units) × 10,000, the broken
	// promises and the open promise's date (Unix seconds).
	DueUnix        int64  `bun:"due_unix"`
	AmountLog      int64  `bun:"amount_log"`
	BrokenPromises int    `bun:"broken_promises,notnull"`
	PromiseUntil   *int64 `bun:"promise_until"`
}

// Payment is money received against an invoice, unique per (invoice,
// reference). A refund is a payment with a negative amount.
type Payment struct {
	bun.BaseModel `bun:"table:payments"`

	ID          string    `bun:"id,pk"`
	InvoiceID   string    `bun:"invoice_id,notnull"`
	Reference   string    `bun:"reference,notnull"`
	AmountMinor int64     `bun:"amount_minor,notnull"`
	Currency    string    `bun:"currency,notnull"`
	ReceivedAt  time.Time `bun:"received_at,notnull"`
}

// Message states (see invoice.MessagePending ...).
const (
	MessagePending   = invoice.MessagePending
	MessageSent      = invoice.MessageSent
	MessageSkipped   = invoice.MessageSkipped
	MessageFailed    = invoice.MessageFailed
	MessageDelivered = invoice.MessageDelivered
)

// Message is one message to a customer: the outbox and the communication log.
// (invoice, step, channel) is unique, which is what makes a send happen once.
type Message struct {
	bun.BaseModel `bun:"table:messages"`

	ID                string     `bun:"id,pk"`
	InvoiceID         string     `bun:"invoice_id,notnull"`
	CustomerID        string     `bun:"customer_id,notnull"`
	Step              string     `bun:"step,notnull"`
	Channel           string     `bun:"channel,notnull"`
	Direction         string     `bun:"direction,notnull,nullzero,default:'out'"` // out, or in for replies
	Recipient         string     `bun:"recipient,notnull"`
	Subject           string     `bun:"subject,notnull"`
	Body              string     `bun:"body,notnull"` // the plain text
	HTML              string     `bun:"html,notnull"` // the HTML part of an email
	Status            string     `bun:"status,notnull"`
	Detail            string     `bun:"detail,notnull"`
	Provider          string     `bun:"provider,notnull"`
	ProviderMessageID string     `bun:"provider_message_id,notnull"`
	ScheduledAt       time.Time  `bun:"scheduled_at,notnull"`
	CreatedAt         time.Time  `bun:"created_at,notnull"`
	SentAt            *time.Time `bun:"sent_at"`
}

// Task states.
const (
	TaskOpen = "open"
	TaskDone = "done"
)

// Task is something a person must do for an invoice: call, review a
// dispute, contact the customer as management. (invoice, key) is unique so
// a retried activity creates it once.
type Task struct {
	bun.BaseModel `bun:"table:tasks"`

	ID string `bun:"id,pk"`
	// InvoiceID and CustomerID are empty (NULL) only for a team task (kind
	// TaskUnmatchedReply): a reply that matched no invoice, and no customer
	// when its sender is none of theirs.
	InvoiceID   string     `bun:"invoice_id,nullzero"`
	CustomerID  string     `bun:"customer_id,nullzero"`
	Key         string     `bun:"task_key,notnull"`
	Kind        string     `bun:"kind,notnull"`
	Assignee    string     `bun:"assignee,notnull"`
	Title       string     `bun:"title,notnull"`
	Detail      string     `bun:"detail,notnull"`
	Status      string     `bun:"status,notnull"`
	Outcome     string     `bun:"outcome,notnull"`
	Note        string     `bun:"note,notnull"`
	DueAt       time.Time  `bun:"due_at,notnull"`
	CreatedAt   time.Time  `bun:"created_at,notnull"`
	CompletedAt *time.Time `bun:"completed_at"`
}

// PolicyDocument is one version of a user-defined policy, as JSON.
type PolicyDocument struct {
	bun.BaseModel `bun:"table:policies"`

	Name      string    `bun:"name,pk"`
	Version   int       `bun:"version,pk"`
	Document  string    `bun:"document,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
}

// Message directions.
const (
	Outbound = "out"
	Inbound  = "in"
)

// MessageEvent is one entry of a message's status history: our own send, and
// each event a provider reported (delivered, bounce, open, ...).
type MessageEvent struct {
	bun.BaseModel `bun:"table:message_events"`

	ID         string    `bun:"id,pk"`
	MessageID  string    `bun:"message_id,notnull"`
	Status     string    `bun:"status,notnull"`
	Detail     string    `bun:"detail,notnull"`
	Source     string    `bun:"source,notnull"` // sendgrid, twilio, outbox, worker
	OccurredAt time.Time `bun:"occurred_at,notnull"`
}

// OptOut records that an address must not be contacted on a channel.
type OptOut struct {
	bun.BaseModel `bun:"table:opt_outs"`

	Channel   string    `bun:"channel,pk"`
	Address   string    `bun:"address,pk"`
	Reason    string    `bun:"reason,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
}

// WebhookEvent is a provider event already taken in: a repeat is ignored.
type WebhookEvent struct {
	bun.BaseModel `bun:"table:webhook_events"`

	Provider   string    `bun:"provider,pk"`
	EventID    string    `bun:"event_id,pk"`
	ReceivedAt time.Time `bun:"received_at,notnull"`
}

// API key roles.
const (
	RoleAdmin     = "admin"      // everything
	RoleManager   = "manager"    // read-write, and management's decisions
	RoleReadWrite = "read-write" // collectors, the billing integration
	RoleReadOnly  = "read-only"  // reporting: GET only
)

// Roles lists the roles, lowest first: each may do everything the ones
// before it may (the HTTP API's route table says what that is).
var Roles = []string{RoleReadOnly, RoleReadWrite, RoleManager, RoleAdmin}

// APIKey is a key to the HTTP API. Only its SHA-256 is kept.
type APIKey struct {
	bun.BaseModel `bun:"table:api_keys"`

	ID        string     `bun:"id,pk"`
	Name      string     `bun:"name,notnull"`
	Role      string     `bun:"role,notnull"`
	Prefix    string     `bun:"prefix,notnull"` // the key's first characters, to recognise it
	KeyHash   string     `bun:"key_hash,notnull"`
	CreatedAt time.Time  `bun:"created_at,notnull"`
	RevokedAt *time.Time `bun:"revoked_at"`
}

// IdempotencyKey is a POST remembered under its Idempotency-Key: the same
// key and body get the stored response back.
type IdempotencyKey struct {
	bun.BaseModel `bun:"table:idempotency_keys"`

	APIKeyID    string    `bun:"api_key_id,pk"`
	Key         string    `bun:"idem_key,pk"`
	RequestHash string    `bun:"request_hash,notnull"`
	Status      int       `bun:"status,notnull"` // 0 while the first request runs
	Response    string    `bun:"response,notnull"`
	CreatedAt   time.Time `bun:"created_at,notnull"`
}

// Payment event states: what became of a payment a processor reported.
const (
	PaymentEventAccepted         = "accepted"          // handed to the invoice's workflow
	PaymentEventUnmatched        = "unmatched"         // no such invoice
	PaymentEventCurrencyMismatch = "currency_mismatch" // the invoice is in another currency
	PaymentEventInvoiceClosed    = "invoice_closed"    // the invoice was already paid, cancelled ...
)

// Payment event kinds.
const (
	PaymentKindPayment = "payment"
	PaymentKindRefund  = "refund"
)

// PaymentEvent is every payment a processor or bank feed reported, whatever
// became of it: none is lost, and the ones that could not be applied are
// there to be reconciled by a person.
type PaymentEvent struct {
	bun.BaseModel `bun:"table:payment_events"`

	ID          string    `bun:"id,pk"`
	Source      string    `bun:"source,notnull"`
	Kind        string    `bun:"kind,notnull"` // payment or refund
	EventID     string    `bun:"event_id,notnull"`
	InvoiceID   string    `bun:"invoice_id,notnull"`
	InvoiceRef  string    `bun:"invoice_ref,notnull"` // as the processor named it
	AmountMinor int64     `bun:"amount_minor,notnull"`
	Currency    string    `bun:"currency,notnull"`
	Reference   string    `bun:"reference,notnull"`
	Status      string    `bun:"status,notnull"`
	Detail      string    `bun:"detail,notnull"`
	ReceivedAt  time.Time `bun:"received_at,notnull"`
}

// Note is a person's record of a call, a letter or other correspondence
// about a customer, and optionally one of their invoices.
type Note struct {
	bun.BaseModel `bun:"table:notes"`

	ID         string    `bun:"id,pk"`
	CustomerID string    `bun:"customer_id,notnull"`
	InvoiceID  string    `bun:"invoice_id,notnull"` // empty for a note about the customer
	Kind       string    `bun:"kind,notnull"`       // call, email, letter, meeting, other
	Body       string    `bun:"body,notnull"`
	Author     string    `bun:"author,notnull"`
	CreatedAt  time.Time `bun:"created_at,notnull"`
}

// WebhookSubscription is a URL that receives the events it names, signed
// with its secret.
type WebhookSubscription struct {
	bun.BaseModel `bun:"table:webhook_subscriptions"`

	ID          string    `bun:"id,pk"`
	URL         string    `bun:"url,notnull"`
	Events      string    `bun:"events,notnull"` // comma-separated event types
	Secret      string    `bun:"secret,notnull"`
	Description string    `bun:"description,notnull"`
	Active      bool      `bun:"active,notnull"`
	CreatedAt   time.Time `bun:"created_at,notnull"`
}

// Wants reports whether the subscription takes an event type.
func (s *WebhookSubscription) Wants(eventType string) bool {
	return s.Active && slices.Contains(strings.Split(s.Events, ","), eventType)
}

// Webhook delivery states.
const (
	DeliveryPending   = "pending"   // not yet accepted by the subscriber; attempts continue
	DeliveryDelivered = "delivered" // the subscriber answered 2xx
	DeliveryFailed    = "failed"    // every attempt failed
)

// WebhookDelivery is one event for one subscription, unique per
// (subscription, event).
type WebhookDelivery struct {
	bun.BaseModel `bun:"table:webhook_deliveries"`

	ID             string     `bun:"id,pk"`
	SubscriptionID string     `bun:"subscription_id,notnull"`
	EventID        string     `bun:"event_id,notnull"`
	EventType      string     `bun:"event_type,notnull"`
	InvoiceID      string     `bun:"invoice_id,notnull"`
	Payload        string     `bun:"payload,notnull"`
	Status         string     `bun:"status,notnull"`
	Attempts       int        `bun:"attempts,notnull"`
	LastError      string     `bun:"last_error,notnull"`
	CreatedAt      time.Time  `bun:"created_at,notnull"`
	DispatchedAt   *time.Time `bun:"dispatched_at"`
	DeliveredAt    *time.Time `bun:"delivered_at"`
}

// WebhookAttempt is one try at a delivery.
type WebhookAttempt struct {
	bun.BaseModel `bun:"table:webhook_attempts"`

	DeliveryID string    `bun:"delivery_id,pk"`
	Attempt    int       `bun:"attempt,pk"`
	StartedAt  time.Time `bun:"started_at,notnull"`
	DurationMS int64     `bun:"duration_ms,notnull"`
	StatusCode int       `bun:"status_code,notnull"`
	Error      string    `bun:"error,notnull"`
}
