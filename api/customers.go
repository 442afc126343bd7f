package api

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/collect"
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

// details is the request as the business actions take it.
func (r *CustomerRequest) details() collect.Customer {
	return collect.Customer{ID: r.ID, Name: r.Name, Email: r.Email, Phone: r.Phone, Timezone: r.Timezone, Locale: r.Locale,
		AccountManager: r.AccountManager, DefaultPolicy: r.DefaultPolicy, CreditLimit: r.CreditLimit,
		CreditCurrency: r.CreditCurrency, PaymentTermsDays: r.PaymentTermsDays}
}

// validate checks the request as CreateCustomer does and leaves it in its
// stored form (trimmed, the locale canonical, the credit limit parsed).
func (r *CustomerRequest) validate() error {
	c, err := r.details().Record(time.Time{})
	if err != nil {
		return fromCase(err)
	}
	d := collect.CustomerOf(c)
	*r = CustomerRequest{ID: d.ID, Name: d.Name, Email: d.Email, Phone: d.Phone, Timezone: d.Timezone, Locale: d.Locale,
		AccountManager: d.AccountManager, DefaultPolicy: d.DefaultPolicy, CreditLimit: r.CreditLimit, CreditCurrency: d.CreditCurrency,
		PaymentTermsDays: d.PaymentTermsDays, creditLimitMinor: c.CreditLimitMinor}
	if c.CreditLimitMinor == nil {
		r.CreditLimit = ""
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
	res, err := s.cases().CreateCustomer(c.Request().Context(), collect.CreateCustomer{Actor: keyActor(c), Customer: req.details()})
	if err != nil {
		return fromCase(err)
	}
	return c.JSON(createdStatus(res.Created), customerView(res.Customer))
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
	cust, err := s.cases().UpdateCustomer(c.Request().Context(), collect.UpdateCustomer{Actor: keyActor(c), ID: c.Param("id"),
		Name: p.Name, Email: p.Email, Phone: p.Phone, Timezone: p.Timezone, Locale: p.Locale, AccountManager: p.AccountManager,
		DefaultPolicy: p.DefaultPolicy, CreditLimit: p.CreditLimit, CreditCurrency: p.CreditCurrency, PaymentTermsDays: p.PaymentTermsDays})
	if err != nil {
		return fromCase(err)
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
