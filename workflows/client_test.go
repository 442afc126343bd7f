package workflows

import (
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/collections-engine/collections/invoice"
	"github.com/collections-engine/collections/policy"
)

// The amount is a search attribute, indexed in clear, only while the
// payloads are not encrypted; the rest are there either way.
func TestStartSearchAttributesHideAmounts(t *testing.T) {
	due := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	in := InvoiceInput{Number: "INV-1001", CustomerID: "acme", Currency: "EUR", AccountManager: "mia", Policy: policy.Policy{Name: "standard"}}
	for _, hide := range []bool{false, true} {
		in.HideAmounts = hide
		sa := StartSearchAttributes(in, invoice.StageIssued, 1250, due)
		if _, ok := sa.GetInt64(SAAmountDueMinor); ok == hide {
			t.Errorf("HideAmounts %v: amount present %v", hide, ok)
		}
		if v, _ := sa.GetKeyword(SAStage); v != string(invoice.StageIssued) {
			t.Errorf("HideAmounts %v: stage %q", hide, v)
		}
		if v, _ := sa.GetTime(SADueDate); !v.Equal(due) {
			t.Errorf("HideAmounts %v: due %v", hide, v)
		}
		if v, _ := sa.GetKeyword(SAInvoiceNumber); v != "INV-1001" {
			t.Errorf("HideAmounts %v: invoice number %q, want INV-1001 (the Web UI finds an invoice by it)", hide, v)
		}
		for _, k := range []temporal.SearchAttributeKey{SACustomerID, SACurrency, SAPolicyName, SAAccountManager} {
			if !sa.ContainsKey(k) {
				t.Errorf("HideAmounts %v: %s missing", hide, k.GetName())
			}
		}
	}
}
