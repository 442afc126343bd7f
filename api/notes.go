package api

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/db"
)

// Notes: call logs and correspondence, per invoice or per customer. The
// seed documents insist on them: they are the record of who said what.

// NoteRequest is the body of POST .../notes.
type NoteRequest struct {
	Kind   string `json:"kind"` // call, email, letter, meeting, other
	Body   string `json:"body"`
	Author string `json:"author"`
}

// NoteView is a note as the API shows it.
type NoteView struct {
	ID         string    `json:"id"`
	CustomerID string    `json:"customer_id"`
	InvoiceID  string    `json:"invoice_id,omitempty"`
	Kind       string    `json:"kind"`
	Body       string    `json:"body"`
	Author     string    `json:"author,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

var noteKinds = []string{"call", "email", "letter", "meeting", "other"}

func (s *Server) noteRoutes(g *echo.Group) {
	g.POST("/invoices/:id/notes", s.addInvoiceNote)
	g.GET("/invoices/:id/notes", s.invoiceNotes)
	g.POST("/customers/:id/notes", s.addCustomerNote)
	g.GET("/customers/:id/notes", s.customerNotes)
}

func (s *Server) addNote(c echo.Context, customerID, invoiceID string) error {
	var req NoteRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	switch {
	case !slices.Contains(noteKinds, req.Kind):
		return invalid("kind", "must be one of %s", strings.Join(noteKinds, ", "))
	case strings.TrimSpace(req.Body) == "":
		return invalid("body", "must not be empty")
	case len(req.Body) > 20000:
		return invalid("body", "is longer than 20,000 characters")
	}
	n := &db.Note{ID: uuid.Must(uuid.NewV7()).String(), CustomerID: customerID, InvoiceID: invoiceID, Kind: req.Kind,
		Body: req.Body, Author: strings.TrimSpace(req.Author), CreatedAt: s.now()}
	if err := s.Store.InsertNote(c.Request().Context(), n); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, noteView(n))
}

func noteView(n *db.Note) NoteView {
	return NoteView{ID: n.ID, CustomerID: n.CustomerID, InvoiceID: n.InvoiceID, Kind: n.Kind, Body: n.Body, Author: n.Author, CreatedAt: n.CreatedAt}
}

func (s *Server) listNotes(c echo.Context, customerID, invoiceID string) error {
	notes, err := s.Store.ListNotes(c.Request().Context(), customerID, invoiceID)
	if err != nil {
		return err
	}
	out := make([]NoteView, 0, len(notes))
	for i := range notes {
		out = append(out, noteView(&notes[i]))
	}
	return c.JSON(http.StatusOK, map[string]any{"notes": out})
}

func (s *Server) addInvoiceNote(c echo.Context) error {
	inv, err := s.pathInvoice(c)
	if err != nil {
		return err
	}
	return s.addNote(c, inv.CustomerID, inv.ID)
}

func (s *Server) invoiceNotes(c echo.Context) error {
	inv, err := s.pathInvoice(c)
	if err != nil {
		return err
	}
	return s.listNotes(c, inv.CustomerID, inv.ID)
}

func (s *Server) pathCustomer(c echo.Context) (*db.Customer, error) {
	cust, err := s.Store.GetCustomer(c.Request().Context(), c.Param("id"))
	if errors.Is(err, db.ErrNotFound) {
		return nil, notFound("customer %q not found", c.Param("id"))
	}
	return cust, err
}

func (s *Server) addCustomerNote(c echo.Context) error {
	cust, err := s.pathCustomer(c)
	if err != nil {
		return err
	}
	return s.addNote(c, cust.ID, "")
}

func (s *Server) customerNotes(c echo.Context) error {
	cust, err := s.pathCustomer(c)
	if err != nil {
		return err
	}
	return s.listNotes(c, cust.ID, "")
}
