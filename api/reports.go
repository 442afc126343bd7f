package api

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/collections-engine/collections/money"
	"github.com/collections-engine/collections/reports"
)

func (s *Server) reportRoutes(g *echo.Group) {
	g.GET("/reports", s.listReports)
	g.GET("/reports/:name", s.getReport)
}

// listReports names every report with its definition.
func (s *Server) listReports(c echo.Context) error {
	out := make([]map[string]string, 0, len(reports.Names))
	for _, n := range reports.Names {
		out = append(out, map[string]string{"name": n, "definition": reports.Definitions[n]})
	}
	return c.JSON(http.StatusOK, map[string]any{"reports": out})
}

func queryDate(c echo.Context, field string, def time.Time) (time.Time, error) {
	v := strings.TrimSpace(c.QueryParam(field))
	if v == "" {
		return def, nil
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, invalid(field, "%q is not a date such as 2026-10-31", v)
	}
	return t, nil
}

// reportParams reads ?from=&to=&as_of=&currency=: to defaults to today
// (UTC), from to the first day of to's month, as_of to to.
func (s *Server) reportParams(c echo.Context) (reports.Params, error) {
	var p reports.Params
	y, m, d := s.now().Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	var err error
	if p.To, err = queryDate(c, "to", today); err != nil {
		return p, err
	}
	if p.From, err = queryDate(c, "from", time.Date(p.To.Year(), p.To.Month(), 1, 0, 0, 0, 0, time.UTC)); err != nil {
		return p, err
	}
	if p.AsOf, err = queryDate(c, "as_of", p.To); err != nil {
		return p, err
	}
	if p.From.After(p.To) {
		return p, invalid("from", "must not be after to (%s)", p.To.Format(time.DateOnly))
	}
	if cur := strings.TrimSpace(c.QueryParam("currency")); cur != "" {
		if p.Currency, err = money.Currency(cur); err != nil {
			return p, invalid("currency", "%v", err)
		}
	}
	return p, nil
}

// getReport computes one report, as JSON or, with ?format=csv or
// Accept: text/csv, as CSV (a header row of its columns).
func (s *Server) getReport(c echo.Context) error {
	name := c.Param("name")
	if _, ok := reports.Definitions[name]; !ok {
		return notFound("no report %q; the reports are %s", name, strings.Join(reports.Names, ", "))
	}
	format := c.QueryParam("format")
	switch format {
	case "":
		if strings.Contains(c.Request().Header.Get(echo.HeaderAccept), "text/csv") {
			format = "csv"
		}
	case "csv", "json":
	default:
		return invalid("format", "must be json or csv")
	}
	p, err := s.reportParams(c)
	if err != nil {
		return err
	}
	r, _, err := reports.Run(c.Request().Context(), s.Store, name, p)
	if err != nil {
		return err
	}
	if format != "csv" {
		return c.JSON(http.StatusOK, r)
	}
	c.Response().Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	c.Response().Header().Set(echo.HeaderContentDisposition, fmt.Sprintf("attachment; filename=%q", fmt.Sprintf("%s_%s_%s.csv", name, r.From, r.To)))
	c.Response().WriteHeader(http.StatusOK)
	w := csv.NewWriter(c.Response())
	_ = w.Write(r.Columns)
	for _, row := range r.Rows {
		rec := make([]string, len(r.Columns))
		for i, col := range r.Columns {
			rec[i] = csvValue(row[col])
		}
		_ = w.Write(rec)
	}
	w.Flush()
	return w.Error()
}

func csvValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}
