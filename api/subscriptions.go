package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/collect"
	"github.com/collections-engine/collections/db"
)

// Outbound webhooks: a subscription names a URL and the events it wants;
// each event is delivered as a signed POST (see package outbound), retried
// with backoff, and every delivery is listable with its attempts.

// SubscriptionRequest is the body of POST /v1/webhook-subscriptions.
type SubscriptionRequest struct {
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Description string   `json:"description"`
}

// SubscriptionView is a subscription as the API shows it. The secret is
// shown once, when the subscription is created.
type SubscriptionView struct {
	ID          string    `json:"id"`
	URL         string    `json:"url"`
	Events      []string  `json:"events"`
	Description string    `json:"description,omitempty"`
	Secret      string    `json:"secret,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

// DeliveryView is a delivery with its attempts.
type DeliveryView struct {
	ID             string          `json:"id"`
	SubscriptionID string          `json:"subscription_id"`
	EventID        string          `json:"event_id"`
	EventType      string          `json:"event_type"`
	InvoiceID      string          `json:"invoice_id,omitempty"`
	Status         string          `json:"status"`
	Attempts       []AttemptView   `json:"attempts"`
	LastError      string          `json:"last_error,omitempty"`
	Payload        json.RawMessage `json:"payload"` // exactly the body that was (or will be) posted
	CreatedAt      time.Time       `json:"created_at"`
	DeliveredAt    *time.Time      `json:"delivered_at,omitempty"`
}

// AttemptView is one try at a delivery.
type AttemptView struct {
	Attempt    int       `json:"attempt"`
	StartedAt  time.Time `json:"started_at"`
	DurationMS int64     `json:"duration_ms"`
	StatusCode int       `json:"status_code,omitempty"`
	Error      string    `json:"error,omitempty"`
}

func (s *Server) subscriptionRoutes(g *echo.Group) {
	g.POST("/webhook-subscriptions", s.createSubscription)
	g.GET("/webhook-subscriptions", s.listSubscriptions)
	g.GET("/webhook-subscriptions/:id", s.getSubscription)
	g.DELETE("/webhook-subscriptions/:id", s.deleteSubscription)
	g.GET("/webhook-deliveries", s.listDeliveries)
}

func (s *Server) createSubscription(c echo.Context) error {
	var req SubscriptionRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	sub, err := s.cases().CreateSubscription(c.Request().Context(), collect.CreateSubscription{Actor: keyActor(c),
		URL: req.URL, Events: req.Events, Description: req.Description})
	if err != nil {
		return fromCase(err)
	}
	v := subscriptionView(sub)
	v.Secret = sub.Secret
	return c.JSON(http.StatusCreated, v)
}

func subscriptionView(sub *db.WebhookSubscription) SubscriptionView {
	return SubscriptionView{ID: sub.ID, URL: sub.URL, Events: strings.Split(sub.Events, ","), Description: sub.Description, CreatedAt: sub.CreatedAt}
}

func (s *Server) listSubscriptions(c echo.Context) error {
	list, err := s.Store.ListSubscriptions(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]SubscriptionView, 0, len(list))
	for i := range list {
		out = append(out, subscriptionView(&list[i]))
	}
	return c.JSON(http.StatusOK, map[string]any{"webhook_subscriptions": out})
}

func (s *Server) getSubscription(c echo.Context) error {
	sub, err := s.Store.GetSubscription(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	if !sub.Active {
		return notFound("webhook subscription %s was deleted", sub.ID)
	}
	return c.JSON(http.StatusOK, subscriptionView(sub))
}

// deleteSubscription stops a subscription: nothing new is queued for it and
// its pending deliveries stop; past deliveries stay listable.
func (s *Server) deleteSubscription(c echo.Context) error {
	if err := s.cases().DeleteSubscription(c.Request().Context(), collect.DeleteSubscription{Actor: keyActor(c), ID: c.Param("id")}); err != nil {
		return fromCase(err)
	}
	return c.NoContent(http.StatusNoContent)
}

var deliveryStatuses = []string{db.DeliveryPending, db.DeliveryDelivered, db.DeliveryFailed}

func (s *Server) listDeliveries(c echo.Context) error {
	f := db.DeliveryFilter{SubscriptionID: c.QueryParam("subscription_id"), InvoiceID: c.QueryParam("invoice_id"), Status: c.QueryParam("status")}
	if f.Status != "" && !slices.Contains(deliveryStatuses, f.Status) {
		return invalid("status", "must be one of %s", strings.Join(deliveryStatuses, ", "))
	}
	list, attempts, err := s.Store.ListDeliveries(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := make([]DeliveryView, 0, len(list))
	for _, d := range list {
		v := DeliveryView{ID: d.ID, SubscriptionID: d.SubscriptionID, EventID: d.EventID, EventType: d.EventType, InvoiceID: d.InvoiceID,
			Payload: json.RawMessage(d.Payload), Status: d.Status, LastError: d.LastError, CreatedAt: d.CreatedAt, DeliveredAt: d.DeliveredAt, Attempts: []AttemptView{}}
		for _, a := range attempts[d.ID] {
			v.Attempts = append(v.Attempts, AttemptView{Attempt: a.Attempt, StartedAt: a.StartedAt, DurationMS: a.DurationMS, StatusCode: a.StatusCode, Error: a.Error})
		}
		out = append(out, v)
	}
	return c.JSON(http.StatusOK, map[string]any{"webhook_deliveries": out})
}
