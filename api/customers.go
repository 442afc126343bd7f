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
	// invoice names one.
	DefaultPolicy string `json:"default_policy"`
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
	return validTimezone("timezone", r.Timezone)
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
	return CustomerView{ID: c.ID, Name: c.Name, Email: c.Email, Phone: c.Phone, Timezone: c.Timezone, Locale: c.Locale,
		AccountManager: c.AccountManager, DefaultPolicy: c.DefaultPolicy, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
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
	req := CustomerRequest{ID: cust.ID, Name: cust.Name, Email: cust.Email, Phone: cust.Phone, Timezone: cust.Timezone, Locale: cust.Locale,
		AccountManager: cust.AccountManager, DefaultPolicy: cust.DefaultPolicy}
	for dst, src := range map[*string]*string{&req.Name: p.Name, &req.Email: p.Email, &req.Phone: p.Phone,
		&req.Timezone: p.Timezone, &req.Locale: p.Locale, &req.AccountManager: p.AccountManager, &req.DefaultPolicy: p.DefaultPolicy} {
		if src != nil {
			*dst = *src
		}
	}
	if err := req.validate(); err != nil {
		return err
	}
	if err := s.knownPolicy(ctx, "default_policy", req.DefaultPolicy); err != nil {
		return err
	}
	cust.Name, cust.Email, cust.Phone, cust.Timezone, cust.Locale = req.Name, req.Email, req.Phone, req.Timezone, req.Locale
	cust.AccountManager, cust.DefaultPolicy, cust.UpdatedAt = req.AccountManager, req.DefaultPolicy, s.now()
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
