// Package collect holds the business actions of collecting receivables, one
// function per action: create an invoice, record a payment, log a call,
// open a dispute, promise, pause, cancel, write off, decide an escalation,
// take an SMS reply, apply for credit, and the rest. Every front door — the JSON API,
// the provider webhooks, the CSV import, the collectors' desk and the
// customers' portal — decodes its input, calls one of these and maps the
// typed error it gets back; none of them holds a business rule or talks to
// Temporal itself. (The portal is not built yet: its actions will be these
// same functions.)
//
// Each action takes a typed command naming its Actor (who did it: an API
// key, a person on the desk, a payment processor, the customer) and returns
// a typed result or an *Error whose Kind says what went wrong (not found,
// invalid with the field, refused by the invoice's state, conflict, closed,
// unavailable). Rules about an invoice's state live in its workflow's
// update validators, which are the authority; this layer checks what can be
// checked without the workflow (syntax, existence, the customer's credit)
// and writes what belongs to the database.
//
// The package is named for what it does: it is where an accounts-receivable
// team's work turns into records and workflow commands.
package collect
