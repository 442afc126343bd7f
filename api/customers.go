package api

import (
	"context"
	"errors"
	"net/http"
	"net/mail"
	"regexp"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/text/language"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/money"
)

// CustomerRequest is the body of POST /v1/customers.
type CustomerRequest struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Email    string `json:"email"`
	Phone    string `json:"phone"`
	Timezone string `json:"timezone"`
	// Locale is the language of the customer's messages (BCP 47; default "en").
	Locale string `json:"locale"`
	// AccountManager owns the relationship: tasks go to them, escalations
	// notify them (an email address, or a name).
	AccountManager string `json:"account_manager"`
	// DefaultPolicy is the policy this customer's invoices run on unless an
	// invoice names one (the customer's segment).
	DefaultPolicy string `json:"default_policy"`
	// CreditLimit is how much the customer may owe, a decimal string in
	// CreditCurrency; empty for none.
	CreditLimit    string `json:"credit_limit"`
	CreditCurrency string `json:"credit_currency"`
	// PaymentTermsDays is the customer's terms (30 for "net 30"): an invoice
	// posted without due_at is due this many days after issue.
	PaymentTermsDays int `json:"payment_terms_days"`

	creditLimitMinor *int64 // CreditLimit, parsed by validate
}

// CustomerView is a customer as the API shows it.
type CustomerView struct {
	ID             string    `json:"id"`
	Name           string    `json:"name"`
	Email          string    `json:"email"`
	Phone          string    `json:"phone,omitempty"`
	Timezone       string    `json:"timezone"`
	Locale         string    `json:"locale"`
	AccountManager string    `json:"account_manager,omitempty"`
	DefaultPolicy  string    `json:"default_policy,omitempty"`
	CreditLimit    string    `json:"credit_limit,omitempty"`
	CreditCurrency string    `json:"credit_currency,omitempty"`
	PaymentTerms   int       `json:"payment_terms_days,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

var (
	idPattern   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)
	e164Pattern = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
)

func (r *CustomerRequest) validate() error {
	r.ID, r.Name, r.Email = strings.TrimSpace(r.ID), strings.TrimSpace(r.Name), strings.TrimSpace(r.Email)
	r.Phone, r.Timezone = strings.TrimSpace(r.Phone), strings.TrimSpace(r.Timezone)
	r.AccountManager, r.DefaultPolicy = strings.TrimSpace(r.AccountManager), strings.TrimSpace(r.DefaultPolicy)
	switch {
	case r.ID == "":
		return invalid("id", "is required")
	case !idPattern.MatchString(r.ID):
		return invalid("id", "use 1 to 128 letters, digits, '.', '_', ':' or '-', starting with a letter or digit")
	case r.Name == "":
		return invalid("name", "is required")
	case len(r.Name) > 300:
		return invalid("name", "is longer than 300 characters")
	case r.Email == "":
		return invalid("email", "is required")
	}
	if addr, err := mail.ParseAddress(r.Email); err != nil || addr.Address != r.Email || len(r.Email) > 320 {
		return invalid("email", "is not a valid email address (like ap@example.com)")
	}
	if r.Phone != "" && !e164Pattern.MatchString(r.Phone) {
		return invalid("phone", "must be in E.164 form, like +14155550100")
	}
	if r.Locale == "" {
		r.Locale = "en"
	}
	if tag, err := language.Parse(r.Locale); err != nil {
		return invalid("locale", "%q is not a language tag such as en or de-AT", r.Locale)
	} else {
		r.Locale = tag.String()
	}
	if len(r.AccountManager) > 200 {
		return invalid("account_manager", "is longer than 200 characters")
	}
	if r.PaymentTermsDays < 0 || r.PaymentTermsDays > 365 {
		return invalid("payment_terms_days", "must be between 0 and 365")
	}
	if err := r.validCredit(); err != nil {
		return err
	}
	return validTimezone("timezone", r.Timezone)
}

// validCredit checks the credit limit and its currency, which come together.
func (r *CustomerRequest) validCredit() error {
	r.CreditLimit, r.CreditCurrency = strings.TrimSpace(r.CreditLimit), strings.TrimSpace(r.CreditCurrency)
	r.creditLimitMinor = nil
	switch {
	case r.CreditLimit == "" && r.CreditCurrency == "":
		return nil
	case r.CreditLimit == "":
		return invalid("credit_limit", "is required with credit_currency")
	case r.CreditCurrency == "":
		return invalid("credit_currency", "is required with credit_limit (an ISO 4217 code such as EUR)")
	}
	cur, err := money.Currency(r.CreditCurrency)
	if err != nil {
		return invalid("credit_currency", "%v", err)
	}
	limit, err := money.ParseAmount(r.CreditLimit, cur)
	if err != nil {
		return invalid("credit_limit", "%v", err)
	}
	r.CreditCurrency, r.creditLimitMinor = cur, &limit
	return nil
}

func validTimezone(field, tz string) error {
	if tz == "" {
		return invalid(field, "is required (an IANA time zone such as Europe/Berlin)")
	}
	if tz == "Local" {
		return invalid(field, "must be an IANA time zone such as Europe/Berlin, not Local")
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return invalid(field, "%q is not an IANA time zone (such as Europe/Berlin)", tz)
	}
	return nil
}

func customerView(c *db.Customer) CustomerView {
	v := CustomerView{ID: c.ID, Name: c.Name, Email: c.Email, Phone: c.Phone, Timezone: c.Timezone, Locale: c.Locale,
		AccountManager: c.AccountManager, DefaultPolicy: c.DefaultPolicy, PaymentTerms: c.PaymentTermsDays,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
	if c.CreditLimitMinor != nil {
		v.CreditLimit, v.CreditCurrency = money.FormatAmount(*c.CreditLimitMinor, c.CreditCurrency), c.CreditCurrency
	}
	return v
}

// customerRequest is the request that would store c as it is.
func customerRequest(c *db.Customer) CustomerRequest {
	v := customerView(c)
	return CustomerRequest{ID: c.ID, Name: c.Name, Email: c.Email, Phone: c.Phone, Timezone: c.Timezone, Locale: c.Locale,
		AccountManager: c.AccountManager, DefaultPolicy: c.DefaultPolicy, CreditLimit: v.CreditLimit, CreditCurrency: v.CreditCurrency,
		PaymentTermsDays: c.PaymentTermsDays}
}

// customer is the stored form of a validated request.
func (r *CustomerRequest) customer(now time.Time) *db.Customer {
	return &db.Customer{ID: r.ID, Name: r.Name, Email: r.Email, Phone: r.Phone, Timezone: r.Timezone, Locale: r.Locale,
		AccountManager: r.AccountManager, DefaultPolicy: r.DefaultPolicy, CreditLimitMinor: r.creditLimitMinor,
		CreditCurrency: r.CreditCurrency, PaymentTermsDays: r.PaymentTermsDays, CreatedAt: now, UpdatedAt: now}
}

func (s *Server) knownPolicy(ctx context.Context, field, name string) error {
	if name == "" {
		return nil
	}
	if _, err := s.resolvePolicy(ctx, name); err != nil {
		return invalid(field, "unknown policy %q", name)
	}
	return nil
}

// createCustomer stores a customer. Posting the same customer again returns
// it (200); posting another customer under an existing id is a conflict.
func (s *Server) createCustomer(c echo.Context) error {
	var req CustomerRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	cust, status, err := s.putCustomer(c.Request().Context(), req)
	if err != nil {
		return err
	}
	return c.JSON(status, customerView(cust))
}

func (s *Server) getCustomer(c echo.Context) error {
	cust, err := s.pathCustomer(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, customerView(cust))
}

// CustomerPatch changes some of a customer's details; absent fields stay.
type CustomerPatch struct {
	Name           *string `json:"name"`
	Email          *string `json:"email"`
	Phone          *string `json:"phone"`
	Timezone       *string `json:"timezone"`
	Locale         *string `json:"locale"`
	AccountManager *string `json:"account_manager"`
	DefaultPolicy  *string `json:"default_policy"`
	// CreditLimit and CreditCurrency change together; "" removes the limit.
	CreditLimit      *string `json:"credit_limit"`
	CreditCurrency   *string `json:"credit_currency"`
	PaymentTermsDays *int    `json:"payment_terms_days"`
}

// updateCustomer changes contact details, the account manager or the default
// policy. Running invoices read contact details at each send, so the next
// message goes to the new address; their policy stays as it started.
func (s *Server) updateCustomer(c echo.Context) error {
	var p CustomerPatch
	if err := decode(c, &p); err != nil {
		return err
	}
	ctx := c.Request().Context()
	cust, err := s.Store.GetCustomer(ctx, c.Param("id"))
	if errors.Is(err, db.ErrNotFound) {
		return notFound("customer %q not found", c.Param("id"))
	}
	if err != nil {
		return err
	}
	req := customerRequest(cust)
	for dst, src := range map[*string]*string{&req.Name: p.Name, &req.Email: p.Email, &req.Phone: p.Phone,
		&req.Timezone: p.Timezone, &req.Locale: p.Locale, &req.AccountManager: p.AccountManager, &req.DefaultPolicy: p.DefaultPolicy,
		&req.CreditLimit: p.CreditLimit, &req.CreditCurrency: p.CreditCurrency} {
		if src != nil {
			*dst = *src
		}
	}
	if p.PaymentTermsDays != nil {
		req.PaymentTermsDays = *p.PaymentTermsDays
	}
	if err := req.validate(); err != nil {
		return err
	}
	if err := s.knownPolicy(ctx, "default_policy", req.DefaultPolicy); err != nil {
		return err
	}
	updated := req.customer(s.now())
	updated.CreatedAt = cust.CreatedAt
	cust = updated
	if err := s.Store.UpdateCustomer(ctx, cust); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, customerView(cust))
}

// listCustomers lists customers by id, a page at a time (?cursor=&limit=).
func (s *Server) listCustomers(c echo.Context) error {
	n, err := queryLimit(c)
	if err != nil {
		return err
	}
	if n == 0 {
		n = 100
	}
	list, err := s.Store.ListCustomers(c.Request().Context(), c.QueryParam("cursor"), n)
	if err != nil {
		return err
	}
	out := make([]CustomerView, 0, len(list))
	for i := range list {
		out = append(out, customerView(&list[i]))
	}
	page := map[string]any{"customers": out}
	if len(list) == n {
		page["next_cursor"] = list[len(list)-1].ID
	}
	return c.JSON(http.StatusOK, page)
}
