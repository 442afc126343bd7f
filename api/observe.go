package api

import (
	"log/slog"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/workflows"
)

// Observability of the API: the invoice fields of request logs. (The count
// of webhook events is package hooks' Count.)

// invoiceAttrs are the log fields of a request about one invoice: its id
// and its workflow's id.
func invoiceAttrs(c echo.Context) []slog.Attr {
	if !strings.HasPrefix(c.Path(), "/v1/invoices/:id") {
		return nil
	}
	id := c.Param("id")
	if id == "" {
		return nil
	}
	return []slog.Attr{slog.String("invoice_id", id), slog.String("workflow_id", workflows.WorkflowID(id))}
}
