// Package templates renders the messages a policy's steps send.
//
// Templates are laid out by locale and channel, embedded, and can be
// overridden file by file from a directory with the same layout:
//
//	<locale>/sms/<name>.tmpl      text/template: the SMS text
//	<locale>/email/<name>.tmpl    text/template: {{define "subject"}} and {{define "body"}} (plain text)
//	<locale>/email/<name>.html    html/template: the HTML part (optional; else layout.html
//	                              renders the plain text's paragraphs)
//	<locale>/email/layout.html    html/template: the HTML frame, {{define "layout"}}
//
// English ("en") is complete; a locale that lacks a template falls back to
// English for it.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"strings"
	"text/template"
)

//go:embed en
var embedded embed.FS

// DefaultLocale is used when a customer's locale has no template.
const DefaultLocale = "en"

// Data is everything a message may show. Amounts and dates arrive formatted
// for the customer (currency format, time zone), so templates stay simple.
type Data struct {
	CustomerName  string
	InvoiceNumber string
	Amount        string // e.g. "EUR 1,250.00"
	Balance       string // what is still owed after partial payments
	DueDate       string // in the customer's time zone, e.g. "Monday, 7 December 2026"
	Terms         string // e.g. "net 30 days"
	DaysOverdue   int
	PaymentLink   string
	Sender        string // who the message is from, with contact details
	Tone          string
	Deadline      string // final notices: pay by; promise reminders: the promised date; missed instalments: the end of the grace
	// Payment plans: the instalment a message is about, its date, and what
	// remains to pay under the plan after it.
	Instalment     string
	InstalmentDate string
	Remaining      string
}

// Rendered is a message ready to send. Subject and HTML are empty for SMS.
type Rendered struct {
	Subject string
	Body    string // plain text
	HTML    string
}

// Set holds the parsed templates.
type Set struct {
	text map[string]*template.Template     // key: locale/channel/name
	html map[string]*htmltemplate.Template // key: locale/email/name; "layout" for the frame
}

// Load parses the embedded templates, then the overrides in dir (if not
// empty), which replace embedded files of the same path.
func Load(dir string) (*Set, error) {
	s := &Set{text: map[string]*template.Template{}, html: map[string]*htmltemplate.Template{}}
	sources := []fs.FS{embedded}
	if dir != "" {
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("templates directory: %w", err)
		}
		sources = append(sources, os.DirFS(dir))
	}
	for _, src := range sources {
		if err := s.load(src); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Set) load(src fs.FS) error {
	return fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		parts := strings.Split(p, "/")
		if len(parts) != 3 {
			return nil
		}
		raw, err := fs.ReadFile(src, p)
		if err != nil {
			return err
		}
		locale, channel, file := parts[0], parts[1], parts[2]
		switch {
		case strings.HasSuffix(file, ".tmpl"):
			name := strings.TrimSuffix(file, ".tmpl")
			t, err := template.New(file).Option("missingkey=error").Parse(string(raw))
			if err != nil {
				return fmt.Errorf("template %s: %w", p, err)
			}
			if channel == "email" && (t.Lookup("subject") == nil || t.Lookup("body") == nil) {
				return fmt.Errorf("template %s: an email template defines \"subject\" and \"body\"", p)
			}
			s.text[locale+"/"+channel+"/"+name] = t
		case strings.HasSuffix(file, ".html") && channel == "email":
			name := strings.TrimSuffix(file, ".html")
			t, err := htmltemplate.New(file).Option("missingkey=error").Parse(string(raw))
			if err != nil {
				return fmt.Errorf("template %s: %w", p, err)
			}
			s.html[locale+"/email/"+name] = t
		}
		return nil
	})
}

// Render renders template name for a channel in a locale (falling back to
// English).
func (s *Set) Render(locale, channel, name string, d Data) (Rendered, error) {
	t, loc := s.lookupText(locale, channel, name)
	if t == nil {
		return Rendered{}, fmt.Errorf("no %s template %q", channel, name)
	}
	var out Rendered
	if channel != "email" {
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
	html, err := s.renderHTML(loc, name, d, out)
	if err != nil {
		return Rendered{}, err
	}
	out.HTML = html
	return out, nil
}

func (s *Set) lookupText(locale, channel, name string) (*template.Template, string) {
	for _, loc := range []string{locale, DefaultLocale} {
		if t, ok := s.text[loc+"/"+channel+"/"+name]; ok {
			return t, loc
		}
	}
	return nil, ""
}

// htmlData is what the HTML templates see: the message data, the subject
// and the plain text's paragraphs (escaped by html/template).
type htmlData struct {
	Data
	Subject    string
	Paragraphs [][]string // paragraphs of lines
}

func (s *Set) renderHTML(locale, name string, d Data, r Rendered) (string, error) {
	hd := htmlData{Data: d, Subject: r.Subject}
	for _, para := range strings.Split(strings.TrimSpace(r.Body), "\n\n") {
		hd.Paragraphs = append(hd.Paragraphs, strings.Split(para, "\n"))
	}
	var b bytes.Buffer
	if t, ok := s.html[locale+"/email/"+name]; ok {
		if err := t.Execute(&b, hd); err != nil {
			return "", err
		}
		return b.String(), nil
	}
	layout := s.html[locale+"/email/layout"]
	if layout == nil {
		layout = s.html[DefaultLocale+"/email/layout"]
	}
	if layout == nil {
		return "", nil
	}
	if err := layout.Execute(&b, hd); err != nil {
		return "", err
	}
	return b.String(), nil
}
