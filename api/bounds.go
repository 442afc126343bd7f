package api

import (
	"time"

	"github.com/collections-engine/collections/invoice"
)

// checkInvoiceDates refuses issue and due dates too far from today
// (invoice.DateRange), naming the field; dueUnset: the due date comes from
// the customer's payment terms.
func checkInvoiceDates(issued, due time.Time, dueUnset bool, now time.Time) error {
	if err := invoice.CheckDate(issued, now); err != nil {
		return invalid("issued_at", "%v", err)
	}
	if dueUnset {
		return nil
	}
	if err := invoice.CheckDate(due, now); err != nil {
		return invalid("due_at", "%v", err)
	}
	return nil
}
