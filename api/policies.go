package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/collect"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/internal/policies"
	"github.com/collections-engine/collections/policy"
)

// Policies: the built-in ones (standard, demo) and user-defined versions
// stored in the database. A name's newest version is what new invoices get;
// running invoices keep the version they started on.

// PolicyView is a policy version as the API shows it.
type PolicyView struct {
	policy.Policy
	Builtin bool `json:"builtin"`
}

// resolvePolicy returns the newest version of a named policy.
func (s *Server) resolvePolicy(ctx context.Context, name string) (policy.Policy, error) {
	return policies.Latest(ctx, s.Store, name)
}

// parsePolicy reads a policy document (JSON, or YAML when the request says
// so) and validates it.
func parsePolicy(c echo.Context) (policy.Policy, error) {
	raw, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return policy.Policy{}, invalid("body", "could not be read: %v", err)
	}
	p, err := policy.Parse(raw)
	if err != nil {
		return p, policyError(err)
	}
	return p, nil
}

// policyError turns a policy's parse or validation error, which starts with
// the field path ("steps[2].template: ..."), into a 400 naming that field.
func policyError(err error) error {
	return fromCase(collect.PolicyError(err))
}

// createPolicy stores a new version of a policy: the next number after the
// newest one (a document may state it, and must then state that number).
func (s *Server) createPolicy(c echo.Context) error {
	p, err := parsePolicy(c)
	if err != nil && !(p.Version == 0 && strings.HasPrefix(err.Error(), "version:")) {
		return err
	}
	created, err := s.cases().CreatePolicy(c.Request().Context(), collect.CreatePolicy{Actor: keyActor(c), Policy: p})
	if err != nil {
		return fromCase(err)
	}
	return c.JSON(http.StatusCreated, PolicyView{Policy: created})
}

// listPolicies returns the newest version of every policy.
func (s *Server) listPolicies(c echo.Context) error {
	ctx := c.Request().Context()
	stored, err := s.Store.ListPolicies(ctx)
	if err != nil {
		return err
	}
	names := map[string]bool{"standard": true, "demo": true}
	for _, d := range stored {
		names[d.Name] = true
	}
	out := []PolicyView{}
	for name := range names {
		p, err := s.resolvePolicy(ctx, name)
		if err != nil {
			return err
		}
		b, isBuiltin := policy.Builtin(name)
		out = append(out, PolicyView{Policy: p, Builtin: isBuiltin && b.Version == p.Version})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return c.JSON(http.StatusOK, map[string]any{"policies": out})
}

func (s *Server) getPolicy(c echo.Context) error {
	p, err := s.resolvePolicy(c.Request().Context(), c.Param("name"))
	if errors.Is(err, db.ErrNotFound) {
		return notFound("policy %q not found", c.Param("name"))
	}
	if err != nil {
		return err
	}
	b, isBuiltin := policy.Builtin(p.Name)
	return c.JSON(http.StatusOK, PolicyView{Policy: p, Builtin: isBuiltin && b.Version == p.Version})
}

// policyVersion returns one exact version, for re-driving an invoice that
// started on it.
func (s *Server) policyVersion(ctx context.Context, name string, version int) (policy.Policy, bool) {
	return policies.Version(ctx, s.Store, name, version)
}
