package invoice

// What became of a message to the customer. The activities report these to
// the workflow, which writes them into the timeline (and so into its
// history), and the database stores them as a message's status, so the
// values never change once released.
const (
	MessagePending   = "pending"   // claimed by a send; the provider may or may not have it
	MessageSent      = "sent"      // the provider accepted it (or the dev outbox stored it)
	MessageSkipped   = "skipped"   // deliberately not sent: paid, no address, ...
	MessageFailed    = "failed"    // the provider refused it for good
	MessageDelivered = "delivered" // the provider reported delivery to the recipient
)
