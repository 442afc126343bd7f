package api

import (
	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/hooks"
)

// WebhookConfig holds what verifies provider callbacks (hooks.Config).
type WebhookConfig = hooks.Config

// PaymentWebhook is the body of POST /webhooks/payments (hooks.PaymentWebhook).
type PaymentWebhook = hooks.PaymentWebhook

// Signature headers of the payments webhook.
const (
	PaymentsTimestampHeader = hooks.PaymentsTimestampHeader
	PaymentsSignatureHeader = hooks.PaymentsSignatureHeader
)

// webhooks are the provider hooks, served on the API's Echo: their errors
// go through the API's error handler, like every route's.
func (s *Server) webhooks() *hooks.Hooks {
	return &hooks.Hooks{Config: s.Webhooks, Cases: s.cases, Clock: s.Clock, Log: s.Log}
}

// countWebhooks counts webhook events by source and result (hooks.Count):
// middleware for the whole server, so a request refused before it reaches
// a hook counts too.
func (s *Server) countWebhooks() echo.MiddlewareFunc { return hooks.Count(s.Metrics) }
