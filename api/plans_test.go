package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/reports"
)

// A payment-plan body badly written is refused before the handler runs,
// naming the field as the API spells it (the rest is checked by the use
// case and the workflow: collect/plans_test.go, workflows/plans_test.go).
func TestValidationRejectsPlanBodies(t *testing.T) {
	for _, tc := range []struct {
		name, path, body, field, message string
	}{
		{"an amount with a comma", "/v1/invoices/x/payment-plan", `{"instalments": [{"due_at": "2027-01-15T00:00:00Z", "amount": "500,00"}]}`,
			"instalments[0].amount", `instalments[0].amount: must be a decimal string such as "1250.00"`},
		{"a date without a time", "/v1/invoices/x/payment-plan", `{"instalments": [{"due_at": "2027-01-15T00:00:00Z", "amount": "500.00"}, {"due_at": "2027-02-15", "amount": "500.00"}]}`,
			"instalments[1].due_at", "instalments[1].due_at: must be an RFC 3339 time"},
		{"an instalment without its amount", "/v1/invoices/x/payment-plan", `{"instalments": [{"due_at": "2027-01-15T00:00:00Z"}]}`,
			"instalments[0].amount", "instalments[0].amount: is required"},
		{"a count as a string", "/v1/invoices/x/payment-plan", `{"count": "3", "every": "1 month", "first_due_at": "2027-01-15T00:00:00Z"}`,
			"count", "count: must be"},
		{"an unknown field", "/v1/invoices/x/payment-plan", `{"count": 3, "interest": "5%"}`, "interest", "interest: unknown field"},
		{"a decision that is none", "/v1/invoices/x/payment-plan/decision", `{"decision": "maybe"}`, "decision", "decision: must be one of"},
		{"a cancel without a reason", "/v1/invoices/x/payment-plan/cancel", `{"actor": "mia"}`, "reason", "reason: is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err, ran := validate(t, http.MethodPost, tc.path, echo.MIMEApplicationJSON, tc.body)
			assertInvalid(t, err, tc.field, tc.message)
			if ran {
				t.Error("the handler ran on an invalid body")
			}
		})
	}
}

// The plan-kept report's definition is in the API docs, word for word, and
// it is listed with the others.
func TestPlanKeptReportIsDocumented(t *testing.T) {
	sp, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Join(strings.Fields(sp.doc.Paths.Find("/v1/reports/{name}").Get.Description), " ")
	if def := strings.Join(strings.Fields(reports.Definitions[reports.PlanKept]), " "); !strings.Contains(doc, def) {
		t.Errorf("the getReport description lacks the plan-kept definition:\n%s", def)
	}
}
