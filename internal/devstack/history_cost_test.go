package devstack_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/proto"

	"github.com/collections-engine/collections/api"
	"github.com/collections-engine/collections/internal/devstack"
)

// maxRemindedPaidEvents bounds the history of an invoice issued, notified,
// checked for delivery, reminded and then paid through the payment webhook
// (the bench's "issued → reminded → paid" cost path) on revision 1, when
// every step is a workflow task of its own: the start (1), six workflow
// tasks (18: the start, the notice sent, the check's timer, the reminder's
// timer, the reminder sent, the payment), two sends (6), three timers
// started and two fired (5), three upserts (notified, reminded, paid),
// four local activities (the status after the notice, the check with its
// status, the status after the reminder, the payment with its status), the
// signal and the close. On a loaded machine the steps a second apart fall
// due in fewer tasks and the count is lower (33 seen). Issue 18's target
// is 36; it was 45 before revision 1 (39 on the same loaded machine).
const maxRemindedPaidEvents = 39

// TestHistoryOfIssuedRemindedPaid drives the bench's bench-remind cost path
// on the real stack (the notice, the delivery check and the reminder a
// second apart, then a payment webhook) and counts the events of the
// history it leaves, by kind. It is a count, not a timing: the same path
// leaves the same history on any machine.
func TestHistoryOfIssuedRemindedPaid(t *testing.T) {
	s := startStack(t, t.TempDir(), "", false, func(o *devstack.Options) {
		o.Webhooks = api.WebhookConfig{PaymentsSecret: paymentsSecret}
	})
	defer s.Stop()
	c := client{t: t, base: s.APIURL, key: s.APIKey}
	remindPolicy(c)
	c.must("POST", "/v1/customers", map[string]string{"id": "acme", "name": "Acme GmbH", "email": "ap@acme.test",
		"phone": "+4930123456", "timezone": "UTC", "account_manager": "am@acme.test"}, 201)

	id := newInvoiceOn(c, "COST-1", "remind")
	waitStage(t, c, id, "reminded")
	if status, out := postPayment(t, s.APIURL, map[string]string{"event_id": "evt-cost-1", "type": "payment.succeeded",
		"invoice_id": id, "amount": "1000.00", "currency": "EUR", "reference": "ch-cost-1"}, time.Now(), paymentsSecret); status != 200 {
		t.Fatalf("payment webhook: %d %v", status, out)
	}
	waitClosed(t, s, id)
	if inv := c.must("GET", "/v1/invoices/"+id, nil, 200); inv["stage"] != "paid" || inv["balance"] != "0.00" {
		t.Fatalf("after the payment: %v", inv)
	}
	hist := history(t, s.Client, "invoice:"+id)
	kinds, size := eventsByKind(hist)
	t.Logf("issued → reminded → paid: %d events, %d bytes: %s", len(hist.Events), size, kinds)
	for _, e := range hist.Events {
		t.Logf("%3d %-40s %5d B %s", e.GetEventId(), strings.TrimPrefix(e.GetEventType().String(), "EventType"), proto.Size(e), eventNote(e))
	}
	for _, e := range hist.Events {
		if m := e.GetMarkerRecordedEventAttributes(); m != nil && m.GetMarkerName() == "Version" {
			t.Errorf("event %d: a version marker on a run of the current revision", e.GetEventId())
		}
		if u := e.GetUpsertWorkflowSearchAttributesEventAttributes(); u != nil {
			if _, ok := u.GetSearchAttributes().GetIndexedFields()["TemporalChangeVersion"]; ok {
				t.Errorf("event %d: a TemporalChangeVersion upsert on a run of the current revision", e.GetEventId())
			}
		}
	}
	if len(hist.Events) > maxRemindedPaidEvents {
		t.Errorf("issued → reminded → paid took %d history events, want at most %d: %s", len(hist.Events), maxRemindedPaidEvents, kinds)
	}
}

// remindPolicy is the bench's bench-remind: the standard policy's notice,
// delivery check and reminder a second apart, every later step days away.
func remindPolicy(c client) {
	p := c.must("GET", "/v1/policies/standard", nil, 200)
	offsets := []string{"0s", "1s", "2s", "864003s", "864004s", "864005s", "864006s", "864007s"}
	for i, s := range p["steps"].([]any) {
		s := s.(map[string]any)
		s["anchor"], s["offset"] = "issue", offsets[i]
	}
	delete(p, "builtin")
	delete(p, "calendar")
	delete(p, "contact_cap")
	p["name"], p["version"] = "remind", 0
	p["final_notice_deadline"], p["dispute_deadline"], p["promise_grace"] = "3s", "2s", "1s"
	c.must("POST", "/v1/policies", p, 201)
}

// eventsByKind sums a history up as the bench does ("workflow task 12 ·
// marker 4 …", most first) and gives its encoded size.
func eventsByKind(h *historypb.History) (string, int) {
	count := map[string]int{}
	size := 0
	for _, e := range h.Events {
		count[historyKind(e.GetEventType())]++
		size += proto.Size(e)
	}
	var kinds []string
	for k := range count {
		kinds = append(kinds, k)
	}
	slices.SortFunc(kinds, func(a, b string) int {
		if count[a] != count[b] {
			return count[b] - count[a]
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%s %d", k, count[k])
	}
	return strings.Join(parts, " · "), size
}

// eventNote names what an event is about: a marker's name or local
// activity, an upsert's keys, an activity's type.
func eventNote(e *historypb.HistoryEvent) string {
	switch {
	case e.GetMarkerRecordedEventAttributes() != nil:
		m := e.GetMarkerRecordedEventAttributes()
		note := m.GetMarkerName()
		if d, ok := m.GetDetails()["data"]; ok && m.GetMarkerName() == "LocalActivity" && len(d.GetPayloads()) > 0 {
			note += " " + string(d.GetPayloads()[0].GetData())
		}
		if d, ok := m.GetDetails()["change-id"]; ok && len(d.GetPayloads()) > 0 {
			note += " " + string(d.GetPayloads()[0].GetData())
		}
		return note
	case e.GetUpsertWorkflowSearchAttributesEventAttributes() != nil:
		var keys []string
		for k := range e.GetUpsertWorkflowSearchAttributesEventAttributes().GetSearchAttributes().GetIndexedFields() {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return strings.Join(keys, ",")
	case e.GetActivityTaskScheduledEventAttributes() != nil:
		return e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()
	}
	return ""
}

func historyKind(t enums.EventType) string {
	name := strings.TrimPrefix(t.String(), "EventType")
	for _, k := range []struct{ prefix, kind string }{
		{"WorkflowTask", "workflow task"}, {"ActivityTask", "activity"}, {"Timer", "timer"},
		{"MarkerRecorded", "marker"}, {"UpsertWorkflowSearchAttributes", "upsert"},
		{"WorkflowExecutionUpdate", "update"}, {"WorkflowExecutionSignaled", "signal"},
		{"WorkflowExecutionStarted", "start"}, {"WorkflowExecution", "close"},
	} {
		if strings.HasPrefix(name, k.prefix) {
			return k.kind
		}
	}
	return name
}
