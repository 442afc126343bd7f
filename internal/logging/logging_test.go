package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	sdklog "go.temporal.io/sdk/log"

	"github.com/collections-engine/collections/internal/logging"
)

func lines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, raw := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var line map[string]any
		if err := json.Unmarshal([]byte(raw), &line); err != nil {
			t.Fatalf("not JSON: %s", raw)
		}
		if strings.Count(raw, `"workflow_id"`) > 1 || strings.Count(raw, `"invoice_id"`) > 1 {
			t.Errorf("a field twice: %s", raw)
		}
		out = append(out, line)
	}
	return out
}

// The SDK names the workflow WorkflowID (and our workflow logger the
// invoice InvoiceID); the lines come out under our names, and an invoice
// workflow's id names its invoice.
func TestSDKLinesUseOurFieldNames(t *testing.T) {
	var buf bytes.Buffer
	base := slog.New(slog.NewJSONHandler(&buf, nil))
	sdk := logging.SDK(base)
	sdk.Info("Workflow task failed", "Namespace", "default", "WorkflowID", "invoice:inv-7", "RunID", "r1")
	sdklog.With(sdklog.With(sdk, "WorkflowID", "invoice:inv-8"), "InvoiceID", "inv-8").Warn("step deferred")
	sdk.Info("Started Worker", "TaskQueue", "collections")

	got := lines(t, &buf)
	if got[0]["workflow_id"] != "invoice:inv-7" || got[0]["invoice_id"] != "inv-7" {
		t.Errorf("SDK line: %v", got[0])
	}
	if got[1]["workflow_id"] != "invoice:inv-8" || got[1]["invoice_id"] != "inv-8" {
		t.Errorf("workflow logger line: %v", got[1])
	}
	if _, ok := got[2]["invoice_id"]; ok {
		t.Errorf("a line about no invoice names one: %v", got[2])
	}
}

// Lines written with a context marked by WithInvoice carry the invoice,
// once, whoever writes them.
func TestContextFieldsReachEveryLine(t *testing.T) {
	var buf bytes.Buffer
	log := logging.Wrap(slog.New(slog.NewJSONHandler(&buf, nil)))
	if logging.Wrap(log) != log {
		t.Error("wrapping twice wraps twice")
	}
	ctx := logging.WithInvoice(context.Background(), "inv-9")
	log.InfoContext(ctx, "outbox", "invoice_id", "inv-9", "step", "remind")
	log.With("component", "x").WarnContext(ctx, "no sender")
	log.Info("unrelated")
	got := lines(t, &buf)
	for _, l := range got[:2] {
		if l["invoice_id"] != "inv-9" {
			t.Errorf("line without the invoice: %v", l)
		}
	}
	if _, ok := got[2]["invoice_id"]; ok {
		t.Errorf("a line without the context names an invoice: %v", got[2])
	}
}
