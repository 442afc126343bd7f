package api

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strings"
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

// worklist answers GET /v1/worklist?manager=&currency=&limit=: open
// invoices to chase and open tasks, highest priority first (desk.Weights
// documents the rule).
func (s *Server) worklist(c echo.Context) error {
	manager := strings.TrimSpace(c.QueryParam("manager"))
	var currency string
	if cur := c.QueryParam("currency"); cur != "" {
		code, err := money.Currency(cur)
		if err != nil {
			return invalid("currency", "%v", err)
		}
		currency = code
	}
	n, err := queryLimit(c)
	if err != nil {
		return err
	}
	if n == 0 {
		n = 100
	}
	w, err := s.buildWorklist(c.Request().Context(), manager, currency, n)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"as_of": w.AsOf, "total": w.Total, "rows": w.Rows, "weights": desk.DefaultWeights})
}

// worklistResult is the worklist as the API and the collectors' page show it.
type worklistResult struct {
	AsOf  time.Time
	Total int // rows before the limit
	Rows  []WorklistRow
	// Aging is the open book the list is drawn from (the manager's
	// customers, the currency asked for), per currency.
	Aging []desk.Aging
}

// buildWorklist ranks the open invoices and open tasks of manager's list
// (everyone's when empty) in currency (all when empty), the first n rows.
func (s *Server) buildWorklist(ctx context.Context, manager, currency string, n int) (worklistResult, error) {
	f := db.OpenInvoicesFilter{Manager: manager, Currency: currency}
	now := s.now()
	invs, err := s.Store.OpenInvoices(ctx, f)
	if err != nil {
		return worklistResult{}, err
	}
	aging := desk.AgingSplit(invs, now)
	tasks, err := s.Store.OpenTasks(ctx, manager)
	if err != nil {
		return worklistResult{}, err
	}
	// Tasks may belong to invoices outside the list: closed, or another
	// manager's customer (a reassigned task).
	have := map[string]bool{}
	for _, inv := range invs {
		have[inv.ID] = true
	}
	var missing []string
	byInvoice := map[string][]db.Task{}
	for _, t := range tasks {
		if !have[t.InvoiceID] && len(byInvoice[t.InvoiceID]) == 0 {
			missing = append(missing, t.InvoiceID)
		}
		byInvoice[t.InvoiceID] = append(byInvoice[t.InvoiceID], t)
	}
	more, err := s.Store.InvoicesByID(ctx, missing)
	if err != nil {
		return worklistResult{}, err
	}
	for _, inv := range more {
		if f.Currency == "" || inv.Currency == f.Currency {
			invs = append(invs, inv)
		}
	}
	var custIDs []string
	seen := map[string]bool{}
	for _, inv := range invs {
		if !seen[inv.CustomerID] {
			seen[inv.CustomerID] = true
			custIDs = append(custIDs, inv.CustomerID)
		}
	}
	custs, err := s.Store.CustomersByID(ctx, custIDs)
	if err != nil {
		return worklistResult{}, err
	}
	customers := map[string]db.Customer{}
	for _, c := range custs {
		customers[c.ID] = c
	}
	trends, err := s.trends(ctx, custIDs)
	if err != nil {
		return worklistResult{}, err
	}
	items := make([]desk.Item, 0, len(invs))
	for _, inv := range invs {
		cust := customers[inv.CustomerID]
		items = append(items, desk.Item{Invoice: inv, Customer: cust, Trend: trends[inv.CustomerID], Tasks: byInvoice[inv.ID],
			Chase: manager == "" || cust.AccountManager == manager})
	}
	rows := desk.Worklist(items, now, desk.DefaultWeights)
	total := len(rows)
	if len(rows) > n {
		rows = rows[:n]
	}
	out := make([]WorklistRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, worklistRow(r))
	}
	return worklistResult{AsOf: now.UTC(), Total: total, Rows: out, Aging: aging}, nil
}

// trends is the payment trend of each customer.
func (s *Server) trends(ctx context.Context, customerIDs []string) (map[string]desk.Trend, error) {
	paid, err := s.Store.PaidInvoices(ctx, customerIDs)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(paid))
	byCustomer := map[string][]db.Invoice{}
	for i, inv := range paid {
		ids[i] = inv.ID
		byCustomer[inv.CustomerID] = append(byCustomer[inv.CustomerID], inv)
	}
	payments, err := s.Store.PaymentsFor(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := map[string]desk.Trend{}
	for _, id := range customerIDs {
		out[id] = desk.BehaviourOf(byCustomer[id], payments, desk.DefaultTrendRule).Trend
	}
	return out, nil
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
		return caseError(err)
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
}

// accountItems is how many communications and notes the account view shows.
const accountItems = 20

// account answers GET /v1/customers/{id}/account.
func (s *Server) account(c echo.Context) error {
	cust, err := s.pathCustomer(c)
	if err != nil {
		return err
	}
	v, _, err := s.buildAccount(c.Request().Context(), cust)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

// buildAccount is the account view of a customer, and all the customer's
// invoices it was drawn from (the page shows their timelines).
func (s *Server) buildAccount(ctx context.Context, cust *db.Customer) (AccountView, []db.Invoice, error) {
	now := s.now()
	invs, err := s.Store.CustomerInvoices(ctx, cust.ID)
	if err != nil {
		return AccountView{}, nil, err
	}
	ids := make([]string, len(invs))
	number := map[string]string{}
	for i, inv := range invs {
		ids[i] = inv.ID
		number[inv.ID] = inv.Number
	}
	payments, err := s.Store.PaymentsFor(ctx, ids)
	if err != nil {
		return AccountView{}, nil, err
	}
	v := AccountView{Customer: customerView(cust), AccountManager: cust.AccountManager, AsOf: now.UTC(),
		Balances: []AgingView{}, OpenInvoices: []AccountInvoice{}, Promises: []PromiseView{}, Payments: []AccountPayment{},
		OpenTasks: []TaskView{}, Communications: []CommunicationView{}, Notes: []NoteView{}, Disputes: desk.Disputes(invs)}
	for _, a := range desk.AgingSplit(invs, now) {
		f := func(m int64) string { return money.FormatAmount(m, a.Currency) }
		v.Balances = append(v.Balances, AgingView{Currency: a.Currency, Open: f(a.OpenMinor), Current: f(a.Current),
			Days1To30: f(a.Days1To30), Days31To60: f(a.Days31To60), Days61To90: f(a.Days61To90), Over90: f(a.Over90)})
	}
	if cr, ok := desk.CreditUsage(*cust, invs); ok {
		f := func(m int64) string { return money.FormatAmount(m, cr.Currency) }
		v.Credit = &CreditView{Limit: f(cr.LimitMinor), Currency: cr.Currency, Used: f(cr.UsedMinor), Available: f(cr.AvailableMinor),
			OverLimit: cr.OverLimit, OtherCurrencies: cr.OtherCurrencies}
	}
	for _, inv := range desk.OpenInvoices(invs) {
		v.OpenInvoices = append(v.OpenInvoices, AccountInvoice{ID: inv.ID, Number: inv.Number,
			Amount: money.FormatAmount(inv.AmountMinor, inv.Currency), Balance: money.FormatAmount(inv.BalanceMinor, inv.Currency),
			Currency: inv.Currency, IssuedAt: inv.IssuedAt.UTC(), DueAt: inv.DueAt.UTC(), DaysOverdue: desk.DaysOverdue(inv.DueAt, now),
			Stage: inv.Stage, OverCreditLimit: inv.OverCreditLimit})
	}
	for _, p := range desk.Promises(invs) {
		v.Promises = append(v.Promises, PromiseView{InvoiceID: p.InvoiceID, Number: p.Number,
			Amount: money.FormatAmount(p.AmountMinor, p.Currency), Currency: p.Currency, Date: p.Date, MadeAt: p.MadeAt, Outcome: p.Outcome})
	}
	for _, inv := range invs {
		for _, p := range payments[inv.ID] {
			kind := db.PaymentKindPayment
			if p.AmountMinor < 0 {
				kind = db.PaymentKindRefund
			}
			v.Payments = append(v.Payments, AccountPayment{InvoiceID: p.InvoiceID, Number: number[p.InvoiceID], Kind: kind,
				Amount: money.FormatAmount(p.AmountMinor, p.Currency), Currency: p.Currency, Reference: p.Reference, ReceivedAt: p.ReceivedAt.UTC()})
		}
	}
	sortPaymentsNewestFirst(v.Payments)
	b := desk.BehaviourOf(invs, payments, desk.DefaultTrendRule)
	r := desk.DefaultTrendRule
	v.Behaviour = BehaviourView{Trend: b.Trend, RecentMeanDaysLate: b.RecentMeanDaysLate, PriorMeanDaysLate: b.PriorMeanDaysLate,
		ChangeDays: b.ChangeDays, Paid: b.Paid, Rule: TrendRuleView{Recent: r.Recent, Prior: r.Prior, MinPrior: r.MinPrior, ThresholdDays: r.ThresholdDays}}
	tasks, err := s.Store.CustomerTasks(ctx, cust.ID, db.TaskOpen)
	if err != nil {
		return AccountView{}, nil, err
	}
	for i := range tasks {
		v.OpenTasks = append(v.OpenTasks, taskView(&tasks[i]))
	}
	msgs, err := s.Store.CustomerMessages(ctx, cust.ID, accountItems)
	if err != nil {
		return AccountView{}, nil, err
	}
	if v.Communications, err = s.communicationViews(ctx, msgs); err != nil {
		return AccountView{}, nil, err
	}
	notes, err := s.Store.ListNotes(ctx, cust.ID, "")
	if err != nil {
		return AccountView{}, nil, err
	}
	for i := range notes[:min(len(notes), accountItems)] {
		v.Notes = append(v.Notes, noteView(&notes[i]))
	}
	return v, invs, nil
}

func sortPaymentsNewestFirst(ps []AccountPayment) {
	slices.SortStableFunc(ps, func(a, b AccountPayment) int {
		return cmp.Or(b.ReceivedAt.Compare(a.ReceivedAt), cmp.Compare(a.Number, b.Number), cmp.Compare(a.Reference, b.Reference))
	})
}
