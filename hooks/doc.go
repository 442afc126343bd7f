// Package hooks is the front door for machines: the webhooks payment
// processors (our signed format, Stripe), SendGrid and Twilio call. Each
// request is verified on its raw body (signature, timestamp tolerance) and
// decoded; the event is then handed to one business action of package
// collect, which deduplicates it, records it and tells the invoice's
// workflow. Nothing unverified reaches a workflow, and a verified event,
// however odd, is never answered with a 5xx the provider would retry
// forever — except when the invoice could not be told, which the retry
// mends.
package hooks
