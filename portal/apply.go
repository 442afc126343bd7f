package portal

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/collect"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/internal/portallink"
)

// The credit application form: a link of its own (kind credit), which the
// team sends a prospective customer. The applicant fills in the company,
// the limit and terms they ask for; collect.ApplyForCredit creates the
// customer and starts the credit decision workflow, and the applicant sees
// its outcome (approved, declined, or under review).

type applyPage struct {
	Title, Action, CSRF string
	Customer, Home      string // empty: no account yet
	TestMode            bool
	Form                map[string]string
	Errors              map[string]string
}

type appliedPage struct {
	Title, Customer, Home string
	TestMode              bool
	Status                string // approved, declined, review
	Company               string
	Limit                 string
	TermsDays             int
}

// DecisionWait is how long the form waits for an automatic decision before
// answering "under review".
var DecisionWait = 5 * time.Second

func (pg *Page) creditLink(c echo.Context) (portallink.Claims, error) {
	return pg.cfg.Cases.OpenPortalLink(c.Request().Context(), c.Param("token"), portallink.KindCredit)
}

// applyForm is GET /portal/apply/{token}.
func (pg *Page) applyForm(c echo.Context) error {
	if _, err := pg.creditLink(c); err != nil {
		if errors.Is(err, collect.ErrPortalLink) {
			return pg.badLink(c)
		}
		return pg.failure(c, err)
	}
	pg.cfg.Metrics.PortalAction("visit", "credit_link")
	return pg.render(c, http.StatusOK, "apply", pg.applyPage(c, nil, map[string]string{"currency": "EUR", "terms": "30", "timezone": "Europe/Berlin"}))
}

func (pg *Page) applyPage(c echo.Context, errs, form map[string]string) applyPage {
	return applyPage{Title: "Apply for credit", Action: Prefix + "/apply/" + c.Param("token"), CSRF: pg.csrf(c.Param("token")),
		Form: form, Errors: errs}
}

// apply is POST /portal/apply/{token}.
func (pg *Page) apply(c echo.Context) error {
	claims, err := pg.creditLink(c)
	if err != nil {
		if errors.Is(err, collect.ErrPortalLink) {
			return pg.badLink(c)
		}
		return pg.failure(c, err)
	}
	if !pg.checkCSRF(c) {
		return pg.forged(c)
	}
	form := map[string]string{}
	for _, k := range []string{"company", "registration", "address", "email", "timezone", "limit", "currency", "terms", "nonce"} {
		form[k] = strings.TrimSpace(c.FormValue(k))
	}
	bad := func(field, msg string) error {
		return pg.render(c, http.StatusUnprocessableEntity, "apply", pg.applyPage(c, map[string]string{field: msg}, form))
	}
	terms, err := strconv.Atoi(form["terms"])
	if err != nil {
		return bad("terms", "must be a whole number of days, such as 30")
	}
	if form["nonce"] == "" {
		form["nonce"] = portallink.RandomID()
	}
	now := pg.now()
	// The applicant's customer id is derived from the link and the form's
	// nonce: the same form sent twice is refused as a repeat, not stored twice.
	id := "applicant-" + portallink.LinkID(claims.ID, form["nonce"])[:20]
	cust, err := collect.Customer{ID: id, Name: form["company"], Email: form["email"], Timezone: form["timezone"]}.Record(now)
	if err != nil {
		var ce *collect.Error
		if errors.As(err, &ce) {
			return bad(map[string]string{"name": "company", "email": "email", "timezone": "timezone"}[ce.Field],
				strings.TrimPrefix(ce.Message, ce.Field+": "))
		}
		return pg.failure(c, err)
	}
	app, err := pg.cfg.Cases.ApplyForCredit(c.Request().Context(), collect.ApplyForCredit{
		Actor: collect.Actor{Kind: collect.ActorCustomer, Name: "applicant via portal"}, NewCustomer: cust,
		Company:        collect.Company{Name: form["company"], RegistrationNumber: form["registration"], Address: form["address"], ContactEmail: form["email"]},
		RequestedLimit: form["limit"], Currency: form["currency"], RequestedTermsDays: terms})
	if err != nil {
		var ce *collect.Error
		if errors.As(err, &ce) {
			switch {
			case ce.Kind == collect.Conflict && ce.Field == "customer.id":
				return pg.render(c, http.StatusConflict, "error", errorPage{Title: "Already received",
					Message: "We already have this application. We will be in touch."})
			case ce.Kind == collect.Invalid:
				field := map[string]string{"company.name": "company", "company.registration_number": "registration",
					"company.address": "address", "company.contact_email": "email", "requested_limit": "limit",
					"currency": "currency", "requested_terms_days": "terms"}[ce.Field]
				return bad(cmpOr(field, "form"), strings.TrimPrefix(ce.Message, ce.Field+": "))
			}
		}
		pg.log().Warn("credit application from the portal not stored", "error", err)
		return pg.render(c, http.StatusServiceUnavailable, "error", errorPage{Title: "Please try again",
			Message: "We could not take your application just now. Please try again in a minute."})
	}
	pg.cfg.Metrics.PortalAction("credit_application", "credit_link")
	// Wait briefly for an automatic decision.
	deadline := time.Now().Add(DecisionWait)
	for !app.Decided() && app.Status != db.CreditPendingReview && time.Now().Before(deadline) {
		select {
		case <-c.Request().Context().Done():
			return c.Request().Context().Err()
		case <-time.After(200 * time.Millisecond):
		}
		if a, err := pg.cfg.Store.GetCreditApplication(c.Request().Context(), app.ID); err == nil {
			app = a
		}
	}
	p := appliedPage{Title: "Thank you", Company: app.CompanyName, Status: "review"}
	switch app.Status {
	case db.CreditApproved:
		p.Status = "approved"
		if app.ApprovedLimitMinor != nil {
			p.Limit = displayMoney(*app.ApprovedLimitMinor, app.Currency)
		}
		if app.ApprovedTermsDays != nil {
			p.TermsDays = *app.ApprovedTermsDays
		}
	case db.CreditDeclined:
		p.Status = "declined"
	}
	return pg.render(c, http.StatusOK, "applied", p)
}
