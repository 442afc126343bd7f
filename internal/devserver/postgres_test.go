package devserver

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/uptrace/bun/driver/pgdriver"
)

// testLog writes the server's log lines to the test's log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func greet(_ workflow.Context, name string) (string, error) {
	return "hello " + name, nil
}

// TestPostgresKeepsWorkflowsAcrossRestart starts the embedded server on a
// fresh pair of PostgreSQL databases (schema set up by Temporal's schema
// tool), runs a workflow, stops the server, starts it again on the same
// databases and reads the workflow's history back. It runs only when
// TEST_DATABASE_URL names a PostgreSQL server it may create databases on.
func TestPostgresKeepsWorkflowsAcrossRestart(t *testing.T) {
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		t.Skip("TEST_DATABASE_URL not set")
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		t.Skipf("TEST_DATABASE_URL is not a postgres:// URL")
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	u.Path = "/test_temporal_" + hex.EncodeToString(b)
	pg := &Postgres{URL: u.String(), NumHistoryShards: 2, MaxConns: 4}
	t.Cleanup(func() {
		if err := DropPostgres(pg.URL); err != nil {
			t.Errorf("drop the test databases: %v", err)
		}
	})
	const namespace = "pgtest"
	start := func() (*Server, client.Client) {
		t.Helper()
		port, err := FreePort("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		t0 := time.Now()
		srv, err := Start(Options{Postgres: pg, FrontendAddr: addr, Namespace: namespace, Log: slog.New(slog.NewTextHandler(testLog{t}, nil)),
			SearchAttributes: map[string]enums.IndexedValueType{"TestStage": enums.INDEXED_VALUE_TYPE_KEYWORD}})
		if err != nil {
			t.Fatalf("start on Postgres: %v", err)
		}
		t.Logf("server on %s started in %s", pg.URL, time.Since(t0).Round(time.Millisecond))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := client.DialContext(ctx, client.Options{HostPort: addr, Namespace: namespace})
		if err != nil {
			srv.Stop()
			t.Fatalf("dial: %v", err)
		}
		return srv, c
	}

	srv, c := start()
	w := sdkworker.New(c, "pgtest", sdkworker.Options{})
	w.RegisterWorkflowWithOptions(greet, workflow.RegisterOptions{Name: "greet"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "greet-1", TaskQueue: "pgtest"}, "greet", "postgres")
	if err != nil {
		t.Fatalf("start the workflow: %v", err)
	}
	var got string
	if err := run.Get(ctx, &got); err != nil || got != "hello postgres" {
		t.Fatalf("workflow result %q, %v", got, err)
	}
	w.Stop()
	c.Close()
	srv.Stop()

	// The restart finds the schema up to date: nothing is set up or
	// updated again.
	updates := func() (n int) {
		t.Helper()
		db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(pg.URL)))
		defer db.Close()
		if err := db.QueryRow("SELECT count(*) FROM schema_update_history").Scan(&n); err != nil {
			t.Fatalf("schema history: %v", err)
		}
		return n
	}
	before := updates()
	srv, c = start()
	defer func() { c.Close(); srv.Stop() }()
	if after := updates(); after != before {
		t.Errorf("schema updates applied on restart: %d before, %d after", before, after)
	}
	// The namespace and its search attribute were kept, not registered anew.
	sa, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		t.Fatalf("search attributes: %v", err)
	}
	if sa.GetCustomAttributes()["TestStage"] != enums.INDEXED_VALUE_TYPE_KEYWORD {
		t.Errorf("custom search attributes after restart: %v", sa.GetCustomAttributes())
	}
	var events []enums.EventType
	it := c.GetWorkflowHistory(ctx, "greet-1", run.GetRunID(), false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatalf("history after restart: %v", err)
		}
		events = append(events, ev.GetEventType())
	}
	if len(events) < 2 || events[0] != enums.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED ||
		events[len(events)-1] != enums.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED {
		t.Fatalf("history after restart: %v", events)
	}
	d, err := c.DescribeWorkflowExecution(ctx, "greet-1", run.GetRunID())
	if err != nil {
		t.Fatalf("describe after restart: %v", err)
	}
	if st := d.GetWorkflowExecutionInfo().GetStatus(); st != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Errorf("status after restart: %v", st)
	}
}
