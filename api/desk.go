package api

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/collect"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/desk"
	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/money"
)

// The collector's desk: the worklist (who to call next, and why), task
// reassignment, and the account view of one customer.

func (s *Server) deskRoutes(g *echo.Group) {
	g.GET("/worklist", s.worklist)
	g.POST("/tasks/:id/reassign", s.reassignTask)
	g.GET("/customers/:id/account", s.account)
}

// WorklistRow is one line of the worklist.
type WorklistRow struct {
	InvoiceID      string        `json:"invoice_id"`
	Number         string        `json:"number"`
	CustomerID     string        `json:"customer_id"`
	CustomerName   string        `json:"customer_name"`
	AccountManager string        `json:"account_manager"`
	Currency       string        `json:"currency"`
	Balance        string        `json:"balance"`
	Overdue        string        `json:"overdue"` // the balance counted as overdue; "0.00" on rows there for their tasks only
	DueAt          time.Time     `json:"due_at"`
	DaysOverdue    int           `json:"days_overdue"`
	Stage          invoice.Stage `json:"stage"`
	BrokenPromises int           `json:"broken_promises"`
	PaymentTrend   desk.Trend    `json:"payment_trend"`
	Score          float64       `json:"score"`
	ScoreParts     []desk.Part   `json:"score_parts"`
	Reason         string        `json:"reason"`
	Action         string        `json:"suggested_action"`
	Chase          bool          `json:"chase"`
	NextTaskDue    *time.Time    `json:"next_task_due,omitempty"`
	Tasks          []TaskView    `json:"tasks"`
}

func worklistRow(r desk.Row) WorklistRow {
	v := WorklistRow{InvoiceID: r.InvoiceID, Number: r.Number, CustomerID: r.CustomerID, CustomerName: r.CustomerName,
		AccountManager: r.AccountManager, Currency: r.Currency, Balance: money.FormatAmount(r.BalanceMinor, r.Currency),
		Overdue: money.FormatAmount(r.OverdueMinor, r.Currency), DueAt: r.DueAt, DaysOverdue: r.DaysOverdue, Stage: r.Stage,
		BrokenPromises: r.BrokenPromises, PaymentTrend: r.Trend, Score: r.Score, ScoreParts: r.Parts, Reason: r.Reason,
		Action: r.Action, Chase: r.Chase, NextTaskDue: r.NextTaskDue, Tasks: make([]TaskView, 0, len(r.Tasks))}
	for i := range r.Tasks {
		v.Tasks = append(v.Tasks, taskView(&r.Tasks[i]))
	}
	return v
}

// worklist answers GET /v1/worklist?manager=&currency=&stage=&bucket=
// &min_amount=&has_task=&cursor=&limit=: open invoices to chase and open
// tasks, highest priority first, ranked over the whole book by the
// database (desk.Weights documents the rule); next_cursor fetches the
// next page.
func (s *Server) worklist(c echo.Context) error {
	q, err := desk.ParseQuery(c.QueryParam, 100)
	if err != nil {
		return worklistError(err)
	}
	l, err := desk.LoadWorklist(c.Request().Context(), s.Store, q, s.now())
	if err != nil {
		return worklistError(err)
	}
	rows := make([]WorklistRow, 0, len(l.Rows))
	for _, r := range l.Rows {
		rows = append(rows, worklistRow(r))
	}
	var next *string
	if l.NextCursor != "" {
		next = &l.NextCursor
	}
	return c.JSON(http.StatusOK, map[string]any{"as_of": l.AsOf, "total": l.Total, "rows": rows, "next_cursor": next,
		"weights": desk.DefaultWeights})
}

func worklistError(err error) error {
	if fe, ok := desk.AsFieldError(err); ok {
		return invalid(fe.Field, "%s", fe.Message)
	}
	return err
}

// TaskReassignment is the body of POST /v1/tasks/{id}/reassign.
type TaskReassignment struct {
	Assignee string `json:"assignee"`
	Note     string `json:"note"`
	Actor    string `json:"actor"`
}

// reassignTask gives an open task to someone else and keeps a note of it
// on the task's invoice.
func (s *Server) reassignTask(c echo.Context) error {
	var b TaskReassignment
	if err := decode(c, &b); err != nil {
		return err
	}
	t, err := s.cases().ReassignTask(c.Request().Context(), collect.ReassignTask{TaskID: c.Param("id"),
		Assignee: b.Assignee, Note: b.Note, By: b.Actor, Actor: keyActor(c)})
	if err != nil {
		return fromCase(err)
	}
	return c.JSON(http.StatusOK, taskView(t))
}

// AgingView is one currency's open balance split by days past due.
type AgingView struct {
	Currency   string `json:"currency"`
	Open       string `json:"open"`
	Current    string `json:"current"`
	Days1To30  string `json:"days_1_30"`
	Days31To60 string `json:"days_31_60"`
	Days61To90 string `json:"days_61_90"`
	Over90     string `json:"days_over_90"`
}

// CreditView is a customer's credit limit and its use.
type CreditView struct {
	Limit           string   `json:"limit"`
	Currency        string   `json:"currency"`
	Used            string   `json:"used"`
	Available       string   `json:"available"`
	OverLimit       bool     `json:"over_limit"`
	OtherCurrencies []string `json:"other_currencies"`
}

// AccountInvoice is an open invoice in the account view.
type AccountInvoice struct {
	ID              string        `json:"id"`
	Number          string        `json:"number"`
	Amount          string        `json:"amount"`
	Balance         string        `json:"balance"`
	Currency        string        `json:"currency"`
	IssuedAt        time.Time     `json:"issued_at"`
	DueAt           time.Time     `json:"due_at"`
	DaysOverdue     int           `json:"days_overdue"`
	Stage           invoice.Stage `json:"stage"`
	OverCreditLimit bool          `json:"over_credit_limit"`
}

// PromiseView is a promise to pay and what became of it.
type PromiseView struct {
	InvoiceID string    `json:"invoice_id"`
	Number    string    `json:"number"`
	Amount    string    `json:"amount"`
	Currency  string    `json:"currency"`
	Date      time.Time `json:"date"`
	MadeAt    time.Time `json:"made_at"`
	Outcome   string    `json:"outcome"`
}

// AccountPayment is a payment or refund on one of the customer's invoices.
type AccountPayment struct {
	InvoiceID  string    `json:"invoice_id"`
	Number     string    `json:"number"`
	Kind       string    `json:"kind"`   // payment or refund
	Amount     string    `json:"amount"` // negative for a refund
	Currency   string    `json:"currency"`
	Reference  string    `json:"reference"`
	ReceivedAt time.Time `json:"received_at"`
}

// BehaviourView is how the customer pays.
type BehaviourView struct {
	Trend              desk.Trend         `json:"trend"`
	RecentMeanDaysLate *float64           `json:"recent_mean_days_late"`
	PriorMeanDaysLate  *float64           `json:"prior_mean_days_late"`
	ChangeDays         *float64           `json:"change_days"`
	Rule               TrendRuleView      `json:"rule"`
	Paid               []desk.PaidInvoice `json:"paid_invoices"`
}

// TrendRuleView is the trend rule the behaviour was classified by.
type TrendRuleView struct {
	Recent        int     `json:"recent"`
	Prior         int     `json:"prior"`
	MinPrior      int     `json:"min_prior"`
	ThresholdDays float64 `json:"threshold_days"`
}

// AccountView is everything about one customer's account.
type AccountView struct {
	Customer       CustomerView         `json:"customer"`
	AccountManager string               `json:"account_manager"`
	Balances       []AgingView          `json:"balances"`
	Credit         *CreditView          `json:"credit"`
	OpenInvoices   []AccountInvoice     `json:"open_invoices"`
	Promises       []PromiseView        `json:"promises"`
	Disputes       []desk.DisputeRecord `json:"disputes"`
	Payments       []AccountPayment     `json:"payments"`
	Behaviour      BehaviourView        `json:"payment_behaviour"`
	OpenTasks      []TaskView           `json:"open_tasks"`
	Communications []CommunicationView  `json:"communications"`
	Notes          []NoteView           `json:"notes"`
	AsOf           time.Time            `json:"as_of"`
	// Counts are the lists' sizes over the whole account; NextCursors
	// fetch the next page of each (pass as <list>_cursor).
	Counts      db.AccountCounts `json:"counts"`
	NextCursors desk.AccountNext `json:"next_cursors"`
}

// account answers GET /v1/customers/{id}/account?limit=&invoices_cursor=
// &payments_cursor=&messages_cursor=&notes_cursor=&tasks_cursor=: each
// list a page at a time, aging, credit and counts over the whole account.
func (s *Server) account(c echo.Context) error {
	q, err := desk.ParseAccountQuery(c.QueryParam)
	if err != nil {
		return worklistError(err)
	}
	cust, err := s.pathCustomer(c)
	if err != nil {
		return err
	}
	v, err := s.buildAccountPage(c.Request().Context(), cust, q)
	if err != nil {
		return worklistError(err)
	}
	return c.JSON(http.StatusOK, v)
}

// buildAccountPage is a page of the account view of a customer (desk.LoadAccountPage).
func (s *Server) buildAccountPage(ctx context.Context, cust *db.Customer, q desk.AccountQuery) (AccountView, error) {
	a, err := desk.LoadAccountPage(ctx, s.Store, cust, q, s.now())
	if err != nil {
		return AccountView{}, err
	}
	v := AccountView{Customer: customerView(cust), AccountManager: cust.AccountManager, AsOf: a.AsOf, Counts: a.Counts, NextCursors: a.Next,
		Balances: []AgingView{}, OpenInvoices: []AccountInvoice{}, Promises: []PromiseView{}, Payments: []AccountPayment{},
		OpenTasks: []TaskView{}, Communications: []CommunicationView{}, Notes: []NoteView{}, Disputes: a.Disputes}
	for _, ag := range a.Aging {
		f := func(m int64) string { return money.FormatAmount(m, ag.Currency) }
		v.Balances = append(v.Balances, AgingView{Currency: ag.Currency, Open: f(ag.OpenMinor), Current: f(ag.Current),
			Days1To30: f(ag.Days1To30), Days31To60: f(ag.Days31To60), Days61To90: f(ag.Days61To90), Over90: f(ag.Over90)})
	}
	if cr := a.Credit; cr != nil {
		f := func(m int64) string { return money.FormatAmount(m, cr.Currency) }
		v.Credit = &CreditView{Limit: f(cr.LimitMinor), Currency: cr.Currency, Used: f(cr.UsedMinor), Available: f(cr.AvailableMinor),
			OverLimit: cr.OverLimit, OtherCurrencies: cr.OtherCurrencies}
	}
	for _, inv := range a.Open {
		v.OpenInvoices = append(v.OpenInvoices, AccountInvoice{ID: inv.ID, Number: inv.Number,
			Amount: money.FormatAmount(inv.AmountMinor, inv.Currency), Balance: money.FormatAmount(inv.BalanceMinor, inv.Currency),
			Currency: inv.Currency, IssuedAt: inv.IssuedAt.UTC(), DueAt: inv.DueAt.UTC(), DaysOverdue: desk.DaysOverdue(inv.DueAt, a.AsOf),
			Stage: inv.Stage, OverCreditLimit: inv.OverCreditLimit})
	}
	for _, p := range a.Promises {
		v.Promises = append(v.Promises, PromiseView{InvoiceID: p.InvoiceID, Number: p.Number,
			Amount: money.FormatAmount(p.AmountMinor, p.Currency), Currency: p.Currency, Date: p.Date, MadeAt: p.MadeAt, Outcome: p.Outcome})
	}
	for _, p := range a.Payments {
		v.Payments = append(v.Payments, AccountPayment{InvoiceID: p.InvoiceID, Number: p.Number, Kind: p.Kind,
			Amount: money.FormatAmount(p.AmountMinor, p.Currency), Currency: p.Currency, Reference: p.Reference, ReceivedAt: p.ReceivedAt.UTC()})
	}
	b, r := a.Behaviour, desk.DefaultTrendRule
	v.Behaviour = BehaviourView{Trend: b.Trend, RecentMeanDaysLate: b.RecentMeanDaysLate, PriorMeanDaysLate: b.PriorMeanDaysLate,
		ChangeDays: b.ChangeDays, Paid: b.Paid, Rule: TrendRuleView{Recent: r.Recent, Prior: r.Prior, MinPrior: r.MinPrior, ThresholdDays: r.ThresholdDays}}
	for i := range a.OpenTasks {
		v.OpenTasks = append(v.OpenTasks, taskView(&a.OpenTasks[i]))
	}
	if v.Communications, err = s.communicationViews(ctx, a.Messages); err != nil {
		return AccountView{}, err
	}
	for i := range a.Notes {
		v.Notes = append(v.Notes, noteView(&a.Notes[i]))
	}
	return v, nil
}
