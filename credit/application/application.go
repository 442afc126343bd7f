// Package application names the states of a credit application. The
// decision workflow reports them in its result (and so in its history) and
// the database stores them, so both share this vocabulary from below and
// the values never change once released.
package application

// Credit application states.
const (
	Submitted     = "submitted"      // stored; the decision workflow is scoring it
	PendingReview = "pending_review" // outside the automatic bounds: management decides
	Approved      = "approved"
	Declined      = "declined"
)
