package templates_test

import (
	"strings"
	"testing"

	"github.com/collections-engine/collections/policy"
	"github.com/collections-engine/collections/templates"
)

func TestEveryPolicyTemplateRendersOnEveryChannel(t *testing.T) {
	set, err := templates.Load()
	if err != nil {
		t.Fatal(err)
	}
	d := templates.Data{CustomerName: "Acme GmbH", InvoiceNumber: "INV-7", Amount: "EUR 1,250.00", Balance: "EUR 600.00",
		DueDate: "Monday, 7 December 2026", DaysOverdue: 16, PaymentLink: "https://pay.test/INV-7", Sender: "Test AR"}
	for _, name := range policy.Templates {
		for _, ch := range []string{"email", "sms"} {
			r, err := set.Render(ch, name, d)
			if err != nil {
				t.Fatalf("%s/%s: %v", ch, name, err)
			}
			if !strings.Contains(r.Body, "INV-7") || !strings.Contains(r.Body, "https://pay.test/INV-7") {
				t.Errorf("%s/%s lacks the invoice number or payment link:\n%s", ch, name, r.Body)
			}
			if ch == "email" && (r.Subject == "" || !strings.Contains(r.Body, "Acme GmbH")) {
				t.Errorf("email/%s: subject %q, body:\n%s", name, r.Subject, r.Body)
			}
			if ch == "sms" && len(r.Body) > 320 {
				t.Errorf("sms/%s is %d characters: more than two SMS segments", name, len(r.Body))
			}
			if name != "invoice" && !strings.Contains(r.Body, "EUR 600.00") {
				t.Errorf("%s/%s must state the balance still owed", ch, name)
			}
		}
	}
	if _, err := set.Render("email", "nope", d); err == nil {
		t.Fatal("unknown template rendered")
	}
}
