package hooks

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/metrics"
)

// The count of webhook events by source and result
// (collections_webhook_events_total).

const ctxWebhookResults = "webhook_results"

// webhookResult notes that n events of this webhook request came to result
// (accepted, duplicate, unmatched, ignored, or a payment event's status).
// A request that notes nothing is counted as one event by its status code:
// 401 rejected, other 4xx invalid, 5xx error, 2xx accepted.
func webhookResult(c echo.Context, result string, n int) {
	if n <= 0 {
		return
	}
	results, _ := c.Get(ctxWebhookResults).(map[string]int)
	if results == nil {
		results = map[string]int{}
		c.Set(ctxWebhookResults, results)
	}
	results[result] += n
}

// record notes a SendGrid batch's outcome.
func (t webhookTally) record(c echo.Context) {
	webhookResult(c, "accepted", t.Accepted)
	webhookResult(c, "duplicate", t.Duplicates)
	webhookResult(c, "unmatched", t.Unmatched)
	webhookResult(c, "ignored", t.Ignored)
}

// Count counts webhook events into m, labelled by the route after
// /webhooks/ (sendgrid, twilio_status, twilio_inbound, payments, stripe).
// It is middleware for the whole server, so that a request refused before
// it reaches a hook is counted too; other routes pass through.
func Count(m *metrics.Metrics) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if !strings.HasPrefix(c.Path(), "/webhooks/") || m == nil {
				return next(c)
			}
			source := strings.ReplaceAll(strings.TrimPrefix(c.Path(), "/webhooks/"), "/", "_")
			err := next(c)
			if err != nil {
				c.Error(err) // write the response now: its status is the result
			}
			results, _ := c.Get(ctxWebhookResults).(map[string]int)
			if err != nil || len(results) == 0 {
				m.WebhookEvents(source, resultOf(c.Response().Status), 1)
				return nil
			}
			for result, n := range results {
				m.WebhookEvents(source, result, n)
			}
			return nil
		}
	}
}

func resultOf(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "rejected"
	case status >= 500:
		return "error"
	case status >= 400:
		return "invalid"
	}
	return "accepted"
}
