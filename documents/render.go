package documents

import (
	"bytes"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // customers' zones resolve the same on every machine

	"codeberg.org/go-pdf/fpdf"

	"github.com/collections-engine/collections/money"
)

// Rendering: A4 portrait, fpdf's built-in Helvetica (nothing to install or
// embed). The core fonts are Windows-1252: text is translated to it, and a
// character it lacks prints as ".".

const (
	pageMargin = 15.0 // mm
	lineH      = 6.0
	rowH       = 6.5
)

// column is one column of a table: a heading, a width in mm and an
// alignment ("L" or "R").
type column struct {
	head  string
	width float64
	align string
}

// doc is a page set being written, with the helpers the two documents share.
type doc struct {
	pdf  *fpdf.Fpdf
	tr   func(string) string
	loc  *time.Location
	cols []column // the table being written, its heading repeated on each new page
}

func newDoc(title, seller string, asOf time.Time, zone string) *doc {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCompression(true)
	pdf.SetMargins(pageMargin, pageMargin, pageMargin)
	pdf.SetAutoPageBreak(true, pageMargin+5)
	pdf.SetTitle(title, true)
	pdf.SetAuthor(firstLine(seller), true)
	pdf.SetCreator("collections engine", true)
	pdf.SetCreationDate(asOf)
	pdf.SetModificationDate(asOf)
	pdf.SetCatalogSort(true)
	pdf.AliasNbPages("{nb}")
	d := &doc{pdf: pdf, tr: pdf.UnicodeTranslatorFromDescriptor(""), loc: location(zone)}
	pdf.SetFooterFunc(func() {
		pdf.SetY(-pageMargin)
		pdf.SetFont("Helvetica", "", 8)
		pdf.SetTextColor(90, 90, 90)
		pdf.CellFormat(0, 5, d.tr(fmt.Sprintf("%s - page %d of {nb}", title, pdf.PageNo())), "", 0, "C", false, 0, "")
		pdf.SetTextColor(0, 0, 0)
	})
	pdf.AddPage()
	return d
}

func location(zone string) *time.Location {
	if zone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return time.UTC
	}
	return loc
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(line)
}

func (d *doc) date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(d.loc).Format("2 Jan 2006")
}

// header writes the seller (first line large, the rest as contact lines),
// the title and the as-of line.
func (d *doc) header(seller, title, asOf string) {
	p := d.pdf
	p.SetFont("Helvetica", "B", 16)
	p.MultiCell(0, 8, d.tr(cmpOr(firstLine(seller), DefaultSeller)), "", "L", false)
	if _, rest, ok := strings.Cut(strings.TrimSpace(seller), "\n"); ok {
		p.SetFont("Helvetica", "", 9)
		p.MultiCell(0, 4.5, d.tr(strings.TrimSpace(rest)), "", "L", false)
	}
	p.Ln(3)
	p.SetFont("Helvetica", "B", 13)
	p.CellFormat(0, 7, d.tr(title), "", 1, "L", false, 0, "")
	p.SetFont("Helvetica", "", 10)
	p.CellFormat(0, lineH, d.tr(asOf), "", 1, "L", false, 0, "")
	p.Ln(2)
}

// party writes who the document is addressed to.
func (d *doc) party(label string, c Party) {
	p := d.pdf
	p.SetFont("Helvetica", "B", 10)
	p.CellFormat(0, lineH, d.tr(label), "", 1, "L", false, 0, "")
	p.SetFont("Helvetica", "", 10)
	for _, l := range []string{c.Name, c.Email, "Customer reference: " + c.ID} {
		if strings.TrimSpace(l) != "" {
			p.MultiCell(0, 5, d.tr(l), "", "L", false)
		}
	}
	p.Ln(3)
}

// section writes a heading, on a new page when the heading and a couple of
// rows would not fit.
func (d *doc) section(title string) {
	d.cols = nil
	d.need(lineH + 3*rowH)
	p := d.pdf
	p.Ln(2)
	p.SetFont("Helvetica", "B", 11)
	p.CellFormat(0, 7, d.tr(title), "B", 1, "L", false, 0, "")
	p.Ln(1)
}

// need starts a new page when h mm do not fit on this one, repeating the
// current table's heading there.
func (d *doc) need(h float64) {
	_, pageH := d.pdf.GetPageSize()
	_, _, _, bottom := d.pdf.GetMargins()
	if d.pdf.GetY()+h > pageH-bottom-5 {
		d.pdf.AddPage()
		if d.cols != nil {
			d.tableHead()
		}
	}
}

// table starts a table: its heading row, repeated on every page it spans.
func (d *doc) table(cols ...column) {
	d.cols = cols
	d.need(2 * rowH)
	d.tableHead()
}

func (d *doc) tableHead() {
	p := d.pdf
	p.SetFont("Helvetica", "B", 9)
	// One band behind the whole row, then the headings over it: a viewer
	// that stands a wider font in for Helvetica overflows a heading a
	// little, and the next cell's fill must not paint over it.
	total := 0.0
	for _, c := range d.cols {
		total += c.width
	}
	p.SetFillColor(230, 233, 238)
	p.Rect(p.GetX(), p.GetY(), total, rowH, "F")
	for _, c := range d.cols {
		p.CellFormat(c.width, rowH, d.fit(d.tr(c.head), c.width-2), "B", 0, c.align, false, 0, "")
	}
	p.Ln(-1)
	p.SetFont("Helvetica", "", 9)
}

// row writes one table row; a value too wide for its column is shortened
// with "...".
func (d *doc) row(bold bool, values ...string) {
	d.need(rowH)
	p := d.pdf
	if bold {
		p.SetFont("Helvetica", "B", 9)
	}
	for i, c := range d.cols {
		v := ""
		if i < len(values) {
			v = d.fit(d.tr(values[i]), c.width-2)
		}
		p.CellFormat(c.width, rowH, v, "", 0, c.align, false, 0, "")
	}
	p.Ln(-1)
	if bold {
		p.SetFont("Helvetica", "", 9)
	}
}

// fit shortens s (already translated) to w mm in the current font.
func (d *doc) fit(s string, w float64) string {
	if d.pdf.GetStringWidth(s) <= w {
		return s
	}
	for len(s) > 0 && d.pdf.GetStringWidth(s+"...") > w {
		s = s[:len(s)-1]
	}
	return s + "..."
}

// note writes a line of smaller text (what a list left out, an empty list).
func (d *doc) note(text string) {
	d.need(lineH)
	p := d.pdf
	p.SetFont("Helvetica", "I", 9)
	p.MultiCell(0, 5, d.tr(text), "", "L", false)
	p.SetFont("Helvetica", "", 9)
}

func (d *doc) bytes() ([]byte, error) {
	var b bytes.Buffer
	if err := d.pdf.Output(&b); err != nil {
		return nil, fmt.Errorf("documents: rendering the PDF: %w", err)
	}
	return b.Bytes(), nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func noun(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// PDF renders the statement: the customer, the balance per currency with
// its aging, the open invoices and the recent payments. Lists cut at their
// bound say how many rows they leave out; the totals and the aging always
// cover every open invoice.
func (s Statement) PDF() ([]byte, error) {
	d := newDoc("Statement of account", s.Seller, s.AsOf, s.TimeZone)
	d.header(s.Seller, "Statement of account", "As of "+d.date(s.AsOf))
	d.party("Customer", s.Customer)

	d.section("Balance due")
	if len(s.Totals) == 0 {
		d.note("Nothing is due: there are no open invoices.")
	} else {
		d.table(column{"Currency", 25, "L"}, column{"Open invoices", 35, "R"}, column{"Balance due", 45, "R"})
		for _, t := range s.Totals {
			d.row(true, t.Currency, fmt.Sprint(t.OpenInvoices), money.Display(t.BalanceMinor, t.Currency))
		}
		d.section("Aging (days past due)")
		d.table(column{"Currency", 20, "L"}, column{"Current", 32, "R"}, column{"1-30", 32, "R"},
			column{"31-60", 32, "R"}, column{"61-90", 32, "R"}, column{"Over 90", 32, "R"})
		for _, a := range s.Aging {
			f := func(v int64) string { return money.Display(v, a.Currency) }
			d.row(false, a.Currency, f(a.CurrentMinor), f(a.Days1To30), f(a.Days31To60), f(a.Days61To90), f(a.Over90))
		}
	}

	d.section("Open invoices")
	if len(s.Invoices) == 0 {
		d.note("No open invoices.")
	} else {
		d.table(column{"Invoice", 38, "L"}, column{"Issued", 24, "L"}, column{"Due", 24, "L"},
			column{"Amount", 33, "R"}, column{"Balance", 33, "R"}, column{"Days past due", 28, "R"})
		for _, inv := range s.Invoices {
			late := ""
			if inv.DaysPastDue > 0 {
				late = fmt.Sprint(inv.DaysPastDue)
			}
			d.row(false, inv.Number, d.date(inv.IssuedAt), d.date(inv.DueAt),
				money.Display(inv.AmountMinor, inv.Currency), money.Display(inv.BalanceMinor, inv.Currency), late)
		}
	}
	if s.MoreInvoices > 0 {
		d.note(fmt.Sprintf("... and %d more %s, not listed here (the balance and the aging above include them).",
			s.MoreInvoices, noun(s.MoreInvoices, "open invoice", "open invoices")))
	}

	d.section("Payments received since " + d.date(s.PaymentsSince))
	if len(s.Payments) == 0 {
		d.note("No payments received in this period.")
	} else {
		d.table(column{"Date", 26, "L"}, column{"Invoice", 40, "L"}, column{"Reference", 76, "L"}, column{"Amount", 38, "R"})
		for _, p := range s.Payments {
			d.row(false, d.date(p.ReceivedAt), p.InvoiceNumber, p.Reference, money.Display(p.AmountMinor, p.Currency))
		}
	}
	if s.MorePayments > 0 {
		d.note(fmt.Sprintf("... and %d more %s in this period, not listed here.", s.MorePayments, noun(s.MorePayments, "payment", "payments")))
	}
	return d.bytes()
}

// PDF renders the invoice: who it is from and to, its dates, amount, what
// was paid and what is due, and where to pay.
func (v InvoiceDoc) PDF() ([]byte, error) {
	title := "Invoice " + v.Number
	d := newDoc(title, v.Seller, v.AsOf, v.TimeZone)
	d.header(v.Seller, title, "As of "+d.date(v.AsOf))
	d.party("Bill to", v.Customer)

	d.section("Details")
	d.table(column{"Invoice", 50, "L"}, column{v.Number, 60, "R"})
	d.row(false, "Issued", d.date(v.IssuedAt))
	d.row(false, "Due", d.date(v.DueAt))
	d.row(false, "Amount", money.Display(v.AmountMinor, v.Currency))
	d.row(false, "Paid and credited", money.Display(v.AmountMinor-v.BalanceMinor, v.Currency))
	d.row(true, "Balance due", money.Display(v.BalanceMinor, v.Currency))
	switch {
	case v.Closed && v.BalanceMinor == 0:
		d.row(false, "Status", "Paid - thank you")
	case v.Closed:
		d.row(false, "Status", "Closed ("+strings.ReplaceAll(v.Stage, "_", " ")+")")
	case v.DaysPastDue > 0:
		d.row(false, "Status", fmt.Sprintf("%d %s past due", v.DaysPastDue, noun(v.DaysPastDue, "day", "days")))
	default:
		d.row(false, "Status", "Open")
	}

	if v.PayURL != "" && !v.Closed && v.BalanceMinor > 0 {
		d.section("How to pay")
		p := d.pdf
		p.SetFont("Helvetica", "", 10)
		p.CellFormat(0, lineH, d.tr("Pay online, by card or as your account allows, at:"), "", 1, "L", false, 0, "")
		p.SetTextColor(0, 70, 160)
		p.WriteLinkString(5, d.tr(v.PayURL), v.PayURL)
		p.SetTextColor(0, 0, 0)
		p.Ln(lineH)
	}

	d.section("Payments received")
	if len(v.Payments) == 0 {
		d.note("No payments received yet.")
	} else {
		d.table(column{"Date", 30, "L"}, column{"Reference", 100, "L"}, column{"Amount", 50, "R"})
		for _, p := range v.Payments {
			d.row(false, d.date(p.ReceivedAt), p.Reference, money.Display(p.AmountMinor, p.Currency))
		}
	}
	if v.MorePayments > 0 {
		d.note(fmt.Sprintf("... and %d more %s, not listed here (the balance above includes them).", v.MorePayments, noun(v.MorePayments, "payment", "payments")))
	}
	return d.bytes()
}
