package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/collect"
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

func (s *Server) noteRoutes(g *echo.Group) {
	g.POST("/invoices/:id/notes", s.addInvoiceNote)
	g.GET("/invoices/:id/notes", s.invoiceNotes)
	g.POST("/customers/:id/notes", s.addCustomerNote)
	g.GET("/customers/:id/notes", s.customerNotes)
}

// addNote decodes the note and keeps it on an invoice or, with no invoice,
// a customer.
func (s *Server) addNote(c echo.Context, customerID, invoiceID string) error {
	var req NoteRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	n, err := s.cases().AddNote(c.Request().Context(), collect.AddNote{InvoiceID: invoiceID, CustomerID: customerID,
		Kind: req.Kind, Body: req.Body, Author: req.Author, Actor: keyActor(c)})
	if err != nil {
		return fromCase(err)
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
	return s.addNote(c, "", c.Param("id"))
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
	return s.addNote(c, c.Param("id"), "")
}

func (s *Server) customerNotes(c echo.Context) error {
	cust, err := s.pathCustomer(c)
	if err != nil {
		return err
	}
	return s.listNotes(c, cust.ID, "")
}
