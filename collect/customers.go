package collect

import (
	"context"
	"errors"
	"net/mail"
	"regexp"
	"strings"
	"time"

	"golang.org/x/text/language"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/internal/policies"
	"github.com/collections-engine/collections/money"
	"github.com/collections-engine/collections/workflows"
)

// Customer is a customer's details as a front door gives them: text as
// typed, the credit limit a decimal string.
type Customer struct {
	ID             string
	Name           string
	Email          string
	Phone          string // E.164
	Timezone       string // IANA
	Locale         string // BCP 47; default "en"
	AccountManager string
	DefaultPolicy  string
	// CreditLimit (a decimal string in CreditCurrency) and CreditCurrency
	// come together; both empty for no limit.
	CreditLimit      string
	CreditCurrency   string
	PaymentTermsDays int
}

var (
	idPattern   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)
	e164Pattern = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
)

// Record checks the details, which needs no database, and returns the
// customer as it would be stored (created and updated at now). A bad field
// is an Invalid *Error naming it.
func (c Customer) Record(now time.Time) (*db.Customer, error) {
	c.ID, c.Name, c.Email = strings.TrimSpace(c.ID), strings.TrimSpace(c.Name), strings.TrimSpace(c.Email)
	c.Phone, c.Timezone = strings.TrimSpace(c.Phone), strings.TrimSpace(c.Timezone)
	c.AccountManager, c.DefaultPolicy = strings.TrimSpace(c.AccountManager), strings.TrimSpace(c.DefaultPolicy)
	switch {
	case c.ID == "":
		return nil, invalidf("id", "is required")
	case !idPattern.MatchString(c.ID):
		return nil, invalidf("id", "use 1 to 128 letters, digits, '.', '_', ':' or '-', starting with a letter or digit")
	case c.Name == "":
		return nil, invalidf("name", "is required")
	case len(c.Name) > 300:
		return nil, invalidf("name", "is longer than 300 characters")
	case c.Email == "":
		return nil, invalidf("email", "is required")
	}
	if addr, err := mail.ParseAddress(c.Email); err != nil || addr.Address != c.Email || len(c.Email) > 320 {
		return nil, invalidf("email", "is not a valid email address (like ap@example.com)")
	}
	if c.Phone != "" && !e164Pattern.MatchString(c.Phone) {
		return nil, invalidf("phone", "must be in E.164 form, like +14155550100")
	}
	if c.Locale == "" {
		c.Locale = "en"
	}
	tag, err := language.Parse(c.Locale)
	if err != nil {
		return nil, invalidf("locale", "%q is not a language tag such as en or de-AT", c.Locale)
	}
	c.Locale = tag.String()
	if len(c.AccountManager) > 200 {
		return nil, invalidf("account_manager", "is longer than 200 characters")
	}
	if c.PaymentTermsDays < 0 || c.PaymentTermsDays > 365 {
		return nil, invalidf("payment_terms_days", "must be between 0 and 365")
	}
	limit, currency, err := creditLimit(c.CreditLimit, c.CreditCurrency)
	if err != nil {
		return nil, err
	}
	if err := ValidTimezone("timezone", c.Timezone); err != nil {
		return nil, err
	}
	return &db.Customer{ID: c.ID, Name: c.Name, Email: c.Email, Phone: c.Phone, Timezone: c.Timezone, Locale: c.Locale,
		AccountManager: c.AccountManager, DefaultPolicy: c.DefaultPolicy, CreditLimitMinor: limit,
		CreditCurrency: currency, PaymentTermsDays: c.PaymentTermsDays, CreatedAt: now, UpdatedAt: now}, nil
}

// creditLimit checks a credit limit and its currency, which come together.
func creditLimit(amount, currency string) (*int64, string, error) {
	amount, currency = strings.TrimSpace(amount), strings.TrimSpace(currency)
	switch {
	case amount == "" && currency == "":
		return nil, "", nil
	case amount == "":
		return nil, "", invalidf("credit_limit", "is required with credit_currency")
	case currency == "":
		return nil, "", invalidf("credit_currency", "is required with credit_limit (an ISO 4217 code such as EUR)")
	}
	cur, err := money.Currency(currency)
	if err != nil {
		return nil, "", invalidf("credit_currency", "%v", err)
	}
	limit, err := money.ParseAmount(amount, cur)
	if err != nil {
		return nil, "", invalidf("credit_limit", "%v", err)
	}
	return &limit, cur, nil
}

// ValidTimezone checks an IANA time zone given in field.
func ValidTimezone(field, tz string) error {
	if tz == "" {
		return invalidf(field, "is required (an IANA time zone such as Europe/Berlin)")
	}
	if tz == "Local" {
		return invalidf(field, "must be an IANA time zone such as Europe/Berlin, not Local")
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return invalidf(field, "%q is not an IANA time zone (such as Europe/Berlin)", tz)
	}
	return nil
}

// CustomerOf is the details of a stored customer, as a front door would
// give them to store it as it is.
func CustomerOf(c *db.Customer) Customer {
	out := Customer{ID: c.ID, Name: c.Name, Email: c.Email, Phone: c.Phone, Timezone: c.Timezone, Locale: c.Locale,
		AccountManager: c.AccountManager, DefaultPolicy: c.DefaultPolicy, PaymentTermsDays: c.PaymentTermsDays}
	if c.CreditLimitMinor != nil {
		out.CreditLimit, out.CreditCurrency = money.FormatAmount(*c.CreditLimitMinor, c.CreditCurrency), c.CreditCurrency
	}
	return out
}

// knownPolicy checks that a policy named in field exists ("" names none).
func (s *Service) knownPolicy(ctx context.Context, field, name string) error {
	if name == "" {
		return nil
	}
	if _, err := policies.Latest(ctx, s.Store, name); err != nil {
		return invalidf(field, "unknown policy %q", name)
	}
	return nil
}

// CreateCustomer stores a new customer.
type CreateCustomer struct {
	Actor    Actor
	Customer Customer
}

// CustomerResult is the stored customer; Created is false when the same
// customer was stored already.
type CustomerResult struct {
	Customer *db.Customer
	Created  bool
}

// CreateCustomer validates and stores a customer. The same customer again
// answers the stored one (Created false); another customer under the id is
// a Conflict.
func (s *Service) CreateCustomer(ctx context.Context, cmd CreateCustomer) (CustomerResult, error) {
	cust, err := cmd.Customer.Record(s.now())
	if err != nil {
		return CustomerResult{}, err
	}
	if err := s.knownPolicy(ctx, "default_policy", cust.DefaultPolicy); err != nil {
		return CustomerResult{}, err
	}
	inserted, err := s.Store.InsertCustomer(ctx, cust)
	if err != nil {
		return CustomerResult{}, err
	}
	if inserted {
		s.log().Info("customer created", "customer_id", cust.ID, "actor", cmd.Actor.String())
		return CustomerResult{Customer: cust, Created: true}, nil
	}
	existing, err := s.Store.GetCustomer(ctx, cust.ID)
	if err != nil {
		return CustomerResult{}, err
	}
	if stored, err := CustomerOf(existing).Record(cust.CreatedAt); err != nil || !sameCustomer(stored, cust) {
		return CustomerResult{}, conflictf("id", "id: customer %q already exists with other details", cust.ID)
	}
	return CustomerResult{Customer: existing}, nil
}

// sameCustomer reports whether two customers have the same details
// (timestamps aside).
func sameCustomer(a, b *db.Customer) bool {
	if (a.CreditLimitMinor == nil) != (b.CreditLimitMinor == nil) ||
		(a.CreditLimitMinor != nil && *a.CreditLimitMinor != *b.CreditLimitMinor) {
		return false
	}
	x, y := *a, *b
	x.CreditLimitMinor, y.CreditLimitMinor = nil, nil
	x.CreatedAt, x.UpdatedAt, y.CreatedAt, y.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return x == y
}

// UpdateCustomer changes some of a customer's details; nil fields stay.
// CreditLimit and CreditCurrency change together; "" removes the limit.
type UpdateCustomer struct {
	Actor            Actor
	ID               string
	Name             *string
	Email            *string
	Phone            *string
	Timezone         *string
	Locale           *string
	AccountManager   *string
	DefaultPolicy    *string
	CreditLimit      *string
	CreditCurrency   *string
	PaymentTermsDays *int
}

// UpdateCustomer changes contact details, the account manager, the default
// policy, the credit limit or the terms. Running invoices read contact
// details at each send, so the next message goes to the new address; their
// policy stays as it started.
func (s *Service) UpdateCustomer(ctx context.Context, cmd UpdateCustomer) (*db.Customer, error) {
	cust, err := s.Store.GetCustomer(ctx, cmd.ID)
	if errors.Is(err, db.ErrNotFound) {
		return nil, notFoundf("customer %q not found", cmd.ID)
	}
	if err != nil {
		return nil, err
	}
	c := CustomerOf(cust)
	for dst, src := range map[*string]*string{&c.Name: cmd.Name, &c.Email: cmd.Email, &c.Phone: cmd.Phone,
		&c.Timezone: cmd.Timezone, &c.Locale: cmd.Locale, &c.AccountManager: cmd.AccountManager, &c.DefaultPolicy: cmd.DefaultPolicy,
		&c.CreditLimit: cmd.CreditLimit, &c.CreditCurrency: cmd.CreditCurrency} {
		if src != nil {
			*dst = *src
		}
	}
	if cmd.PaymentTermsDays != nil {
		c.PaymentTermsDays = *cmd.PaymentTermsDays
	}
	updated, err := c.Record(s.now())
	if err != nil {
		return nil, err
	}
	if err := s.knownPolicy(ctx, "default_policy", updated.DefaultPolicy); err != nil {
		return nil, err
	}
	updated.CreatedAt = cust.CreatedAt
	if err := s.Store.UpdateCustomer(ctx, updated); err != nil {
		return nil, err
	}
	s.log().Info("customer updated", "customer_id", updated.ID, "actor", cmd.Actor.String())
	if cmd.Timezone != nil || cmd.AccountManager != nil {
		if err := s.tellOpenInvoices(ctx, updated, cmd.Actor); err != nil {
			return nil, err
		}
	}
	return updated, nil
}

// tellOpenInvoices hands the customer's time zone and account manager to
// the workflow of each of their open invoices, which copied them at its
// start: the very next message then goes out in the new zone's send window.
// A workflow that has ended meanwhile has nothing to follow. If a workflow
// cannot be told, the customer stays updated and the answer is Unavailable:
// the same request again tells every invoice again (the workflow records
// only what changed).
func (s *Service) tellOpenInvoices(ctx context.Context, c *db.Customer, actor Actor) error {
	change := workflows.CustomerChanged{Timezone: c.Timezone, AccountManager: c.AccountManager, Actor: actor.String()}
	told := 0
	err := s.eachInvoice(ctx, db.InvoiceFilter{CustomerID: c.ID, Open: true}, func(inv *db.Invoice) error {
		err := s.Workflows.CustomerChanged(ctx, inv.WorkflowID, change)
		if err != nil && !errors.Is(workflows.CommandError(err), workflows.ErrEnded) {
			return unavailablef(err, "customer %s is updated, but invoice %s could not be told; send the same change again: %v", c.ID, inv.Number, err)
		}
		told++
		return nil
	})
	if err != nil {
		return err
	}
	if told > 0 {
		s.log().Info("customer's open invoices told of the change", "customer_id", c.ID, "invoices", told, "actor", actor.String())
	}
	return nil
}
