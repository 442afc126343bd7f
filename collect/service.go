package collect

import (
	"errors"
	"log/slog"
	"time"

	"github.com/collections-engine/collections/credit"
	"github.com/collections-engine/collections/internal/portallink"
	"github.com/collections-engine/collections/workflows"
)

// Service runs the business actions. One is built by the composition root
// (internal/app) and shared by every front door.
type Service struct {
	Store     Store
	Workflows *workflows.Client
	// DefaultPolicy is used when an invoice names none ("standard" if empty).
	DefaultPolicy string
	// CreditBounds decide which credit applications are decided without a
	// person (nil: credit.DefaultBounds).
	CreditBounds *credit.Bounds
	Clock        func() time.Time
	Log          *slog.Logger
	// Portal signs and checks the customer portal's links (nil: no portal).
	Portal *portallink.Links
	// PromiseHorizon is how far out a customer may promise to pay on their
	// own, from the portal (DefaultPromiseHorizon when zero).
	PromiseHorizon time.Duration
}

// Store is what the business actions need of the database: each file of
// this package declares the part its actions use.
type Store interface {
	invoiceStore
	commandStore
	creditStore
	adminStore
	portalStore
}

// ActorKind says what kind of party performed an action.
type ActorKind string

const (
	ActorKey      ActorKind = "key"      // an API key, by its name
	ActorPerson   ActorKind = "person"   // someone signed in to the desk
	ActorProvider ActorKind = "provider" // a payment processor, SendGrid, Twilio
	ActorCustomer ActorKind = "customer" // the debtor, through the portal or a reply
	ActorSystem   ActorKind = "system"   // the engine itself (a sweep, an import)
	ActorOperator ActorKind = "operator" // someone at the command line
)

// Actor is who performed an action; it is recorded with what it did.
type Actor struct {
	Kind ActorKind
	Name string
	// KeyID and Role are the API key's, when an API key acted.
	KeyID, Role string
}

// String is how the actor is recorded: "key:integration", "person:mia",
// "provider:stripe".
func (a Actor) String() string {
	if a.Kind == "" {
		return a.Name
	}
	return string(a.Kind) + ":" + a.Name
}

func (s *Service) now() time.Time {
	if s.Clock != nil {
		return s.Clock().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// fromWorkflow turns what a workflow answered a command with into an
// *Error; ended is the message for a workflow that has already ended.
func fromWorkflow(err error, ended string) error {
	if err == nil {
		return nil
	}
	var refused *workflows.RefusedError
	var conflict *workflows.ConflictError
	switch {
	case errors.As(err, &refused):
		return &Error{Kind: Refused, Field: refused.Field, Message: refused.Message, Err: err}
	case errors.As(err, &conflict):
		return &Error{Kind: Conflict, Message: conflict.Message, Err: err}
	case errors.Is(err, workflows.ErrEnded):
		return closedf("%s", ended)
	}
	return unavailablef(err, "not recorded, try again: %v", err)
}
