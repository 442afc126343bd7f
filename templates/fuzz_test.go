package templates_test

import (
	"strings"
	"testing"

	"github.com/collections-engine/collections/policy"
	"github.com/collections-engine/collections/templates"
)

// FuzzTemplateData renders every template on every channel with arbitrary
// customer-supplied data (names, invoice numbers and links come from API
// callers and CSV imports): rendering never fails or panics, whatever the
// locale, and the HTML part never carries the data's markup unescaped.
func FuzzTemplateData(f *testing.F) {
	f.Add("Acme GmbH", "INV-7", "https://pay.test/INV-7?a=1&b=<2>", "en", 16)
	f.Add("<script>alert(1)</script>", "{{.Amount}}", "javascript:alert(1)", "de", -3)
	f.Add("Ünïcødé ☃ \x00\xff", "' OR 1=1 --", "", "", 0)
	f.Add(strings.Repeat("x", 5000), "INV\r\nBcc: evil@example.com", "https://x/\"onmouseover=\"", "../../etc/passwd", 1<<30)
	set, err := templates.Load("")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name, number, link, locale string, days int) {
		d := templates.Data{CustomerName: name, InvoiceNumber: number, Amount: "EUR 1.00", Balance: "EUR 1.00", DueDate: "Monday",
			Terms: "net 30 days", DaysOverdue: days, PaymentLink: link, Sender: name, Deadline: number}
		for _, tmpl := range policy.Templates {
			for _, ch := range []string{"email", "sms"} {
				r, err := set.Render(locale, ch, tmpl, d)
				if err != nil {
					t.Fatalf("%s/%s with %+v: %v", ch, tmpl, d, err)
				}
				if ch == "email" && strings.Contains(name, "<script") && strings.Contains(r.HTML, "<script") {
					t.Fatalf("%s: the customer's name went into the HTML unescaped", tmpl)
				}
			}
		}
	})
}
