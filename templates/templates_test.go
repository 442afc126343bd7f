package templates_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/collections-engine/collections/policy"
	"github.com/collections-engine/collections/templates"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

var sample = templates.Data{CustomerName: "Acme GmbH", InvoiceNumber: "INV-7", Amount: "EUR 1,250.00", Balance: "EUR 600.00",
	DueDate: "Monday, 7 December 2026", Terms: "net 30 days", DaysOverdue: 16, PaymentLink: "https://pay.test/INV-7?a=1&b=<2>",
	Sender: "Test AR, ar@test.example, +49 30 1234", Deadline: "Friday, 1 January 2027",
	Instalment: "EUR 200.00", InstalmentDate: "Tuesday, 15 December 2026", Remaining: "EUR 400.00"}

// eachRendered renders every template of the policies on every channel
// with the sample data.
func eachRendered(t *testing.T, fn func(ch, name string, r templates.Rendered)) *templates.Set {
	t.Helper()
	set, err := templates.Load("")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range policy.Templates {
		for _, ch := range []string{"email", "sms"} {
			r, err := set.Render("en", ch, name, sample)
			if err != nil {
				t.Fatalf("%s/%s: %v", ch, name, err)
			}
			fn(ch, name, r)
		}
	}
	return set
}

// Every template of the standard policy, on every channel, against its
// golden file: a change to a message is a reviewed change to a file.
func TestTemplatesMatchTheirGoldenFiles(t *testing.T) {
	eachRendered(t, func(ch, name string, r templates.Rendered) {
		got := "Subject: " + r.Subject + "\n\n" + r.Body + "\n---- html ----\n" + r.HTML
		if ch == "sms" {
			got = r.Body + "\n"
		}
		golden := filepath.Join("testdata", "golden", ch+"_"+name+".golden")
		if *update {
			if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test ./templates -update to create it)", err)
		}
		if got != string(want) {
			t.Errorf("%s/%s differs from %s:\n%s", ch, name, golden, got)
		}
	})
}

func TestEveryPolicyTemplateStatesWhatTheCustomerNeeds(t *testing.T) {
	set := eachRendered(t, func(ch, name string, r templates.Rendered) {
		if !strings.Contains(r.Body, "INV-7") || !strings.Contains(r.Body, "https://pay.test/INV-7") {
			t.Errorf("%s/%s lacks the invoice number or payment link:\n%s", ch, name, r.Body)
		}
		if ch == "email" {
			if r.Subject == "" || !strings.Contains(r.Body, "Acme GmbH") || !strings.Contains(r.Body, "Test AR") {
				t.Errorf("email/%s: subject %q, body:\n%s", name, r.Subject, r.Body)
			}
			if !strings.Contains(r.HTML, "<p>") || !strings.Contains(r.HTML, "&amp;b=%3c2%3e") || strings.Contains(r.HTML, "<2>") {
				t.Errorf("email/%s: the HTML part must escape what it shows:\n%s", name, r.HTML)
			}
		}
		if ch == "sms" && len(r.Body) > 320 {
			t.Errorf("sms/%s is %d characters: more than two SMS segments", name, len(r.Body))
		}
		if name != "invoice" && !strings.Contains(r.Body, "EUR 600.00") {
			t.Errorf("%s/%s must state the balance still owed", ch, name)
		}
	})
	if _, err := set.Render("en", "email", "nope", sample); err == nil {
		t.Fatal("unknown template rendered")
	}
	// A locale without its own templates falls back to English.
	if r, err := set.Render("de", "sms", "reminder", sample); err != nil || !strings.Contains(r.Body, "friendly reminder") {
		t.Fatalf("fallback to English: %v %q", err, r.Body)
	}
}

func TestTemplatesCanBeOverriddenFromADirectory(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "en", "sms"), 0o755))
	must(os.MkdirAll(filepath.Join(dir, "de", "email"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "en", "sms", "reminder.tmpl"), []byte("Hi {{.CustomerName}}, {{.InvoiceNumber}} is due. {{.PaymentLink}}"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "de", "email", "reminder.tmpl"),
		[]byte(`{{define "subject"}}Zahlungserinnerung {{.InvoiceNumber}}{{end}}{{define "body"}}Sehr geehrte Damen und Herren, {{.Balance}}{{end}}`), 0o644))
	set, err := templates.Load(dir)
	must(err)
	r, err := set.Render("en", "sms", "reminder", sample)
	if err != nil || r.Body != "Hi Acme GmbH, INV-7 is due. https://pay.test/INV-7?a=1&b=<2>" {
		t.Fatalf("override: %v %q", err, r.Body)
	}
	r, err = set.Render("de", "email", "reminder", sample)
	if err != nil || r.Subject != "Zahlungserinnerung INV-7" || !strings.Contains(r.HTML, "Sehr geehrte") {
		t.Fatalf("German: %v %+v", err, r)
	}
	if r, _ := set.Render("en", "email", "inquiry", sample); !strings.Contains(r.Subject, "overdue") {
		t.Fatalf("templates not overridden stay: %q", r.Subject)
	}
	must(os.WriteFile(filepath.Join(dir, "en", "sms", "broken.tmpl"), []byte("{{.Nope"), 0o644))
	if _, err := templates.Load(dir); err == nil || !strings.Contains(err.Error(), "broken.tmpl") {
		t.Fatalf("a broken override must name its file: %v", err)
	}
}

// The demo runs in seconds, so its firm reminders go out the day an
// invoice fell due: they say "overdue", never "0 days overdue".
func TestOverdueDaysInWords(t *testing.T) {
	set, err := templates.Load("")
	if err != nil {
		t.Fatal(err)
	}
	for days, want := range map[int]string{0: "is overdue", 1: "is 1 day overdue", 16: "is 16 days overdue"} {
		d := sample
		d.DaysOverdue = days
		for _, ch := range []string{"email", "sms"} {
			r, err := set.Render("en", ch, "firm", d)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(r.Body, want) || strings.Contains(r.Body, " 0 days") {
				t.Errorf("%s, %d days: %q", ch, days, r.Body)
			}
		}
		r, _ := set.Render("en", "email", "final_notice", d)
		if strings.Contains(r.Body, " 0 days") || (days == 1 && !strings.Contains(r.Body, "1 day after")) {
			t.Errorf("final notice, %d days: %q", days, r.Body)
		}
	}
}
