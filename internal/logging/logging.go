// Package logging makes every log line about an invoice carry its
// invoice_id and workflow_id, whoever writes it: our code (fields put in
// the context with With, or taken from the running activity), and the
// Temporal SDK (whose WorkflowID and InvoiceID keys are renamed).
package logging

import (
	"context"
	"log/slog"
	"slices"
	"strings"

	"go.temporal.io/sdk/activity"
	sdklog "go.temporal.io/sdk/log"
)

// Field names shared by every log line about an invoice.
const (
	InvoiceID  = "invoice_id"
	WorkflowID = "workflow_id"
)

// workflowPrefix starts every invoice workflow's id (workflows.WorkflowID;
// not imported, the workflows package imports this one's users).
const workflowPrefix = "invoice:"

type ctxKey struct{}

// With returns a context whose log lines (written with the *Context
// methods of a logger made by Wrap) carry the attributes args.
func With(ctx context.Context, args ...any) context.Context {
	prev, _ := ctx.Value(ctxKey{}).([]slog.Attr)
	r := slog.Record{}
	r.Add(args...)
	attrs := append([]slog.Attr(nil), prev...)
	r.Attrs(func(a slog.Attr) bool { attrs = append(attrs, a); return true })
	return context.WithValue(ctx, ctxKey{}, attrs)
}

// WithInvoice marks the context as about one invoice.
func WithInvoice(ctx context.Context, invoiceID string) context.Context {
	return With(ctx, InvoiceID, invoiceID)
}

// Wrap returns a logger whose lines also carry the context's fields (With),
// the running activity's workflow_id, and invoice_id and workflow_id under
// those names when the Temporal SDK calls them InvoiceID and WorkflowID.
// Wrapping twice is wrapping once.
func Wrap(l *slog.Logger) *slog.Logger {
	if l == nil {
		l = slog.Default()
	}
	if _, ok := l.Handler().(*handler); ok {
		return l
	}
	return slog.New(&handler{inner: l.Handler()})
}

type handler struct {
	inner slog.Handler
	// has records which invoice fields WithAttrs already added.
	hasInvoice, hasWorkflow bool
}

func (h *handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	attrs = c.rename(attrs)
	c.inner = h.inner.WithAttrs(attrs)
	return &c
}

func (h *handler) WithGroup(name string) slog.Handler {
	c := *h
	c.inner = h.inner.WithGroup(name)
	return &c
}

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	var attrs []slog.Attr
	r.Attrs(func(a slog.Attr) bool { attrs = append(attrs, a); return true })
	c := *h
	if ctx != nil {
		if extra, ok := ctx.Value(ctxKey{}).([]slog.Attr); ok {
			attrs = slices.Concat(extra, attrs) // never append to the shared slice
		}
		if activity.IsActivity(ctx) {
			attrs = append(attrs, slog.String(WorkflowID, activity.GetInfo(ctx).WorkflowExecution.ID))
		}
	}
	attrs = c.rename(attrs)
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	out.AddAttrs(attrs...)
	return h.inner.Handle(ctx, out)
}

// rename maps the SDK's keys to ours, drops a field the handler or an
// earlier attribute already carries, and derives invoice_id from an invoice
// workflow's id when nothing else names it.
func (h *handler) rename(attrs []slog.Attr) []slog.Attr {
	out := attrs[:0:0]
	var wfID string
	for _, a := range attrs {
		switch a.Key {
		case "WorkflowID":
			a.Key = WorkflowID
		case "InvoiceID":
			a.Key = InvoiceID
		}
		switch a.Key {
		case WorkflowID:
			if h.hasWorkflow {
				continue
			}
			h.hasWorkflow, wfID = true, a.Value.String()
		case InvoiceID:
			if h.hasInvoice {
				continue
			}
			h.hasInvoice = true
		}
		out = append(out, a)
	}
	if !h.hasInvoice && strings.HasPrefix(wfID, workflowPrefix) {
		h.hasInvoice = true
		out = append(out, slog.String(InvoiceID, strings.TrimPrefix(wfID, workflowPrefix)))
	}
	return out
}

// SDK is the Temporal SDK's logger writing to l through Wrap, so the SDK's
// lines name the invoice and workflow like ours.
func SDK(l *slog.Logger) sdklog.Logger {
	return sdklog.NewStructuredLogger(Wrap(l))
}
