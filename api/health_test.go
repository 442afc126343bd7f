package api

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
)

// healthyTemporal answers the health check like a running frontend.
type healthyTemporal struct{ client.Client }

func (healthyTemporal) CheckHealth(context.Context, *client.CheckHealthRequest) (*client.CheckHealthResponse, error) {
	return &client.CheckHealthResponse{}, nil
}

// unreachableTemporal is a real client for an address nothing listens on.
func unreachableTemporal(t *testing.T) client.Client {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	c, err := client.NewLazyClient(client.Options{HostPort: addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

type readiness struct {
	Ready  bool              `json:"ready"`
	Checks map[string]string `json:"checks"`
}

func readyz(t *testing.T, s *Server) (int, readiness) {
	t.Helper()
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	var r readiness
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatalf("/readyz: %d, not JSON: %s", rec.Code, rec.Body)
	}
	return rec.Code, r
}

// /readyz is what a load balancer or orchestrator asks before it sends
// traffic: 200 only when both the database and Temporal answer, otherwise
// 503 naming the one that does not, with its error. /healthz stays 200: the
// process is alive and restarting it would not help.
func TestReadyzNamesWhatIsDown(t *testing.T) {
	for _, d := range dbtest.All(t) {
		t.Run(d.Name, func(t *testing.T) {
			s := &Server{Store: db.NewStore(d.DB), Temporal: healthyTemporal{}}
			if code, r := readyz(t, s); code != http.StatusOK || !r.Ready || r.Checks["database"] != "ok" || r.Checks["temporal"] != "ok" {
				t.Fatalf("all up: %d %+v", code, r)
			}

			s.Temporal = unreachableTemporal(t)
			code, r := readyz(t, s)
			if code != http.StatusServiceUnavailable || r.Ready || r.Checks["database"] != "ok" || r.Checks["temporal"] == "ok" || r.Checks["temporal"] == "" {
				t.Fatalf("Temporal down: %d %+v, want 503 naming temporal", code, r)
			}

			s.Temporal = healthyTemporal{}
			if err := d.DB.Close(); err != nil {
				t.Fatal(err)
			}
			code, r = readyz(t, s)
			if code != http.StatusServiceUnavailable || r.Ready || r.Checks["temporal"] != "ok" || !strings.Contains(r.Checks["database"], "closed") {
				t.Fatalf("database closed: %d %+v, want 503 naming the database", code, r)
			}

			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
			if rec.Code != http.StatusOK {
				t.Fatalf("/healthz with the database down: %d, want 200", rec.Code)
			}
		})
	}
}
