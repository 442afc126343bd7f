package api

import (
	"errors"
	"net/http"
	"net/mail"
	"regexp"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/db"
)

// CustomerRequest is the body of POST /v1/customers.
type CustomerRequest struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Email    string `json:"email"`
	Phone    string `json:"phone"`
	Timezone string `json:"timezone"`
}

// CustomerView is a customer as the API shows it.
type CustomerView struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	Phone     string    `json:"phone,omitempty"`
	Timezone  string    `json:"timezone"`
	CreatedAt time.Time `json:"created_at"`
}

var (
	idPattern   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)
	e164Pattern = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
)

func (r *CustomerRequest) validate() error {
	r.ID, r.Name, r.Email = strings.TrimSpace(r.ID), strings.TrimSpace(r.Name), strings.TrimSpace(r.Email)
	r.Phone, r.Timezone = strings.TrimSpace(r.Phone), strings.TrimSpace(r.Timezone)
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
	return CustomerView{ID: c.ID, Name: c.Name, Email: c.Email, Phone: c.Phone, Timezone: c.Timezone, CreatedAt: c.CreatedAt}
}

// createCustomer stores a customer. Posting the same customer again returns
// it (200); posting another customer under an existing id is a conflict.
func (s *Server) createCustomer(c echo.Context) error {
	var req CustomerRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := req.validate(); err != nil {
		return err
	}
	ctx := c.Request().Context()
	now := s.now()
	cust := &db.Customer{ID: req.ID, Name: req.Name, Email: req.Email, Phone: req.Phone, Timezone: req.Timezone, CreatedAt: now, UpdatedAt: now}
	inserted, err := s.Store.InsertCustomer(ctx, cust)
	if err != nil {
		return err
	}
	if inserted {
		return c.JSON(http.StatusCreated, customerView(cust))
	}
	existing, err := s.Store.GetCustomer(ctx, req.ID)
	if err != nil {
		return err
	}
	if existing.Name != req.Name || existing.Email != req.Email || existing.Phone != req.Phone || existing.Timezone != req.Timezone {
		return conflict("id", "id: customer %q already exists with other details", req.ID)
	}
	return c.JSON(http.StatusOK, customerView(existing))
}

func (s *Server) getCustomer(c echo.Context) error {
	cust, err := s.Store.GetCustomer(c.Request().Context(), c.Param("id"))
	if errors.Is(err, db.ErrNotFound) {
		return notFound("customer %q not found", c.Param("id"))
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, customerView(cust))
}
