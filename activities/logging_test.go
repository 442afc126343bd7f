package activities_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"go.temporal.io/sdk/testsuite"

	"github.com/collections-engine/collections/activities"
	"github.com/collections-engine/collections/channels"
	"github.com/collections-engine/collections/internal/logging"
	"github.com/collections-engine/collections/policy"
)

// TestActivityLogLinesCarryInvoiceAndWorkflowIDs runs SendStepMessage as
// an activity, through the dev outbox, with JSON logs, and reads back what
// it logged: the outbox line and the SDK's own lines about the activity.
func TestActivityLogLinesCarryInvoiceAndWorkflowIDs(t *testing.T) {
	a, _, _ := setup(t)
	var buf bytes.Buffer
	log := logging.Wrap(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	a.Log = log
	a.Senders = channels.Senders{policy.Email: channels.Outbox{Log: log}}

	var ts testsuite.WorkflowTestSuite
	ts.SetLogger(logging.SDK(log))
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	val, err := env.ExecuteActivity(a.SendStepMessage, remind)
	if err != nil {
		t.Fatal(err)
	}
	var res activities.SendResult
	if err := val.Get(&res); err != nil || res.Status != "sent" {
		t.Fatalf("send: %+v %v", res, err)
	}

	// The test environment runs every activity in workflow
	// "default-test-workflow-id".
	const workflowID = "default-test-workflow-id"
	lines := map[string]map[string]any{}
	for _, raw := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		var line map[string]any
		if err := json.Unmarshal(raw, &line); err != nil {
			t.Fatalf("not a JSON log line: %s", raw)
		}
		lines[line["msg"].(string)] = line
		if strings.Contains(string(raw), "WorkflowID") || strings.Contains(string(raw), "InvoiceID") {
			t.Errorf("a line still names the SDK's keys: %s", raw)
		}
	}
	outbox, ok := lines["outbox"]
	if !ok {
		t.Fatalf("no outbox line in:\n%s", buf.String())
	}
	if outbox["invoice_id"] != remind.InvoiceID || outbox["workflow_id"] != workflowID {
		t.Errorf("outbox line: invoice_id %v, workflow_id %v; want %s, %s", outbox["invoice_id"], outbox["workflow_id"], remind.InvoiceID, workflowID)
	}
	// Each field once, though the context and the line both name the
	// invoice.
	if c := strings.Count(rawLine(t, &buf, "outbox"), `"invoice_id"`); c != 1 {
		t.Errorf("outbox line names invoice_id %d times", c)
	}
}

func rawLine(t *testing.T, buf *bytes.Buffer, msg string) string {
	t.Helper()
	for _, raw := range strings.Split(buf.String(), "\n") {
		if strings.Contains(raw, `"msg":"`+msg+`"`) {
			return raw
		}
	}
	t.Fatalf("no %q line", msg)
	return ""
}
