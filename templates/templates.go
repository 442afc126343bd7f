// Package templates renders the messages a policy's steps send. Templates are
// embedded text/template files, one per template name and channel, laid out
// by locale (templates/<locale>/<channel>/<name>.tmpl) so more languages can
// be added beside English.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"strings"
	"text/template"
)

//go:embed en
var files embed.FS

// Data is everything a message may show. Amounts and dates arrive formatted
// for the customer (currency format, time zone), so templates stay simple.
type Data struct {
	CustomerName  string
	InvoiceNumber string
	Amount        string // e.g. "EUR 1,250.00"
	Balance       string // what is still owed after partial payments
	DueDate       string // in the customer's time zone, e.g. "Monday, 7 December 2026"
	DaysOverdue   int
	PaymentLink   string
	Sender        string // who the message is from, with contact details
	Tone          string
	Deadline      string // final notices: pay by; promise reminders: the promised date
}

// Rendered is a message ready to send; Subject is empty for SMS.
type Rendered struct {
	Subject string
	Body    string
}

// Set holds the parsed templates.
type Set struct {
	t map[string]*template.Template // key: locale/channel/name
}

// Load parses every embedded template.
func Load() (*Set, error) {
	s := &Set{t: map[string]*template.Template{}}
	for _, channel := range []string{"email", "sms"} {
		dir := "en/" + channel
		entries, err := files.ReadDir(dir)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			name := strings.TrimSuffix(e.Name(), ".tmpl")
			t, err := template.New(e.Name()).Option("missingkey=error").ParseFS(files, dir+"/"+e.Name())
			if err != nil {
				return nil, fmt.Errorf("template %s/%s: %w", dir, e.Name(), err)
			}
			s.t[dir+"/"+name] = t
		}
	}
	return s, nil
}

// Has reports whether a template exists for a channel.
func (s *Set) Has(channel, name string) bool {
	_, ok := s.t["en/"+channel+"/"+name]
	return ok
}

// Render renders template name for a channel. Email templates define
// "subject" and "body"; SMS templates are the body alone.
func (s *Set) Render(channel, name string, d Data) (Rendered, error) {
	t, ok := s.t["en/"+channel+"/"+name]
	if !ok {
		return Rendered{}, fmt.Errorf("no %s template %q", channel, name)
	}
	var out Rendered
	if t.Lookup("body") == nil {
		var b bytes.Buffer
		if err := t.Execute(&b, d); err != nil {
			return Rendered{}, err
		}
		out.Body = strings.TrimSpace(b.String())
		return out, nil
	}
	var subj, body bytes.Buffer
	if err := t.ExecuteTemplate(&subj, "subject", d); err != nil {
		return Rendered{}, err
	}
	if err := t.ExecuteTemplate(&body, "body", d); err != nil {
		return Rendered{}, err
	}
	out.Subject = strings.TrimSpace(subj.String())
	out.Body = strings.TrimSpace(body.String()) + "\n"
	return out, nil
}
