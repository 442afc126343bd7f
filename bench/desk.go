package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/collections-engine/collections/api"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/internal/app"
	"github.com/collections-engine/collections/internal/devserver"
)

// The desk scenario: the collectors' read side at real size. For each
// store (SQLite, PostgreSQL) it fills a fresh application database with
// the book (deskfill.go), starts the HTTP API on it as a separate process
// (this binary again, see serveDeskAPI) so that the API's own resident
// memory can be read from /proc/<pid>/status, and times repeated requests
// of what a collector opens all day: the worklist, a filtered page, a deep
// page, the account view of the largest customer, and every report.

// deskConfig holds the scenario's flags.
type deskConfig struct {
	open, closed   int
	stores         []string // sqlite, postgres
	postgres       string   // the PostgreSQL database to fill (dropped and created anew)
	requests       int      // timed requests per desk view
	reportRequests int      // timed requests per report
	pageSize       int      // worklist rows a page
	deepPages      int      // pages followed for the deep page
	seed           uint64
	// reuse measures the PostgreSQL book an earlier run with the same
	// flags filled, instead of dropping and filling it again (the fill of
	// 1.1 million invoices takes most of an hour on this machine).
	reuse bool
}

// DeskResult is the scenario's figures, one entry per store.
type DeskResult struct {
	Open, Closed int
	PageSize     int
	DeepPages    int
	Stores       []DeskStore
}

// DeskStore is one store's fill and timings.
type DeskStore struct {
	Name        string // sqlite or postgres
	Description string // what and where
	Fill        deskFillStats
	DBBytes     int64
	Largest     string // the largest customer and its size
	Endpoints   []DeskEndpoint
	// Resident memory of the API process: when it answered its first
	// health check, after the last request, and its peak (VmHWM).
	RSSStart, RSSEnd, RSSPeak int64
	Notes                     []string
}

// DeskEndpoint is one request's timings.
type DeskEndpoint struct {
	Name   string
	Path   string
	Target time.Duration // 0: none
	Bytes  int           // the answer's size
	Times  []time.Duration
}

// deskAPIEnv names the environment variables that turn this binary into
// the desk scenario's API process.
const (
	deskAPIEnv      = "BENCH_DESK_API_ADDR"
	deskAPIDBEnv    = "BENCH_DESK_API_DATABASE_URL"
	deskAPITempEnv  = "BENCH_DESK_API_TEMPORAL"
	deskTargetFirst = 100 * time.Millisecond
	deskTargetRep   = time.Second
	deskTargetRSS   = 50 << 20
)

// serveDeskAPI is the API process of the desk scenario: the same
// app.Build as `collections api`, on the filled database and the bench's
// Temporal, serving until SIGTERM or until its standard input closes (the
// bench went away).
func serveDeskAPI() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	cfg := app.Config{HTTPAddr: os.Getenv(deskAPIEnv), DatabaseURL: os.Getenv(deskAPIDBEnv), Log: log, RateLimit: 1e6,
		Webhooks: api.WebhookConfig{PaymentsSecret: paymentsSecret}}
	cfg.Temporal.Address = os.Getenv(deskAPITempEnv)
	a, err := app.Build(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	return a.ServeAPI(ctx, nil)
}

// desk runs the scenario on each store.
func (b *bench) desk(ctx context.Context) (*DeskResult, error) {
	dc := b.cfg.desk
	res := &DeskResult{Open: dc.open, Closed: dc.closed, PageSize: dc.pageSize, DeepPages: dc.deepPages}
	for _, store := range dc.stores {
		s, err := b.deskStore(ctx, store)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", store, err)
		}
		res.Stores = append(res.Stores, s)
	}
	return res, nil
}

func (b *bench) deskStore(ctx context.Context, store string) (DeskStore, error) {
	dc := b.cfg.desk
	out := DeskStore{Name: store}
	var dsn string
	switch store {
	case "sqlite":
		dsn = filepath.Join(b.dir, "desk.db")
		for _, p := range []string{dsn, dsn + "-wal", dsn + "-shm"} {
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				return out, err
			}
		}
		out.Description = "SQLite file (WAL, synchronous=normal)"
	case "postgres":
		dsn = dc.postgres
		if dc.reuse {
			server, err := describePG(ctx, dsn, "postgres")
			if err != nil {
				return out, fmt.Errorf("-desk-postgres: %w", err)
			}
			out.Description = server + ", the book an earlier run filled (-desk-reuse)"
			break
		}
		desc, err := freshPG(ctx, dsn)
		if err != nil {
			return out, fmt.Errorf("-desk-postgres: %w", err)
		}
		out.Description = desc
	default:
		return out, fmt.Errorf("unknown store %q", store)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	bdb, err := app.OpenDatabase(ctx, dsn, log)
	if err != nil {
		return out, err
	}
	defer bdb.Close()
	book := newDeskBook(dc.open, dc.closed, dc.seed, time.Now())
	workers := 1
	if store == "postgres" {
		// Each status save is a few round trips: more writers than
		// cores keep PostgreSQL busy.
		workers = 4
	}
	if dc.reuse && store == "postgres" {
		if out.Fill, err = countDesk(ctx, bdb); err != nil {
			return out, err
		}
		out.Notes = append(out.Notes, "measured on the book an earlier run with the same flags filled (-desk-reuse); its fill time is not shown")
	} else {
		fmt.Fprintf(os.Stderr, "bench:   desk %s: filling %d open and %d closed invoices for %d customers…\n", store, dc.open, dc.closed, book.customers)
		if out.Fill, err = book.fill(ctx, bdb, store, workers); err != nil {
			return out, err
		}
	}
	if err := settleDesk(ctx, dsn, bdb, store); err != nil {
		return out, err
	}
	fmt.Fprintf(os.Stderr, "bench:   desk %s: filled in %s (%d payments, %d messages, %d tasks)\n", store, out.Fill.Took.Round(time.Second),
		out.Fill.Payments, out.Fill.Messages, out.Fill.Tasks)
	if store == "postgres" {
		err = bdb.QueryRowContext(ctx, "SELECT pg_database_size(current_database())").Scan(&out.DBBytes)
	} else {
		out.DBBytes = fileSizes(dsn)
	}
	if err != nil {
		return out, err
	}
	// The largest customer, as the database counts it (by construction
	// cust-00000).
	var largest struct {
		CustomerID string `bun:"customer_id"`
		N          int    `bun:"n"`
		Open       int    `bun:"open"`
	}
	if err := bdb.NewSelect().Table("invoices").ColumnExpr("customer_id, count(*) AS n, sum(CASE WHEN closed_at IS NULL THEN 1 ELSE 0 END) AS open").
		Group("customer_id").OrderExpr("n DESC").Limit(1).Scan(ctx, &largest); err != nil {
		return out, err
	}
	out.Largest = fmt.Sprintf("%s (%d invoices, %d open)", largest.CustomerID, largest.N, largest.Open)
	secret, rec, err := api.NewKey("bench desk", db.RoleAdmin, time.Now())
	if err != nil {
		return out, err
	}
	if err := db.NewStore(bdb).InsertAPIKey(ctx, rec); err != nil {
		return out, err
	}
	if err := bdb.Close(); err != nil {
		return out, err
	}

	srv, err := startDeskAPI(ctx, dsn, b.s.TemporalAddr)
	if err != nil {
		return out, err
	}
	defer srv.stop()
	if out.RSSStart, _, err = procRSS(srv.cmd.Process.Pid); err != nil {
		return out, err
	}
	// A report over the whole book may take a while on a slow read side:
	// it is measured, not cut off.
	c := deskClient{http: &http.Client{Timeout: 10 * time.Minute}, base: srv.url, key: secret}
	if err := b.measureDesk(ctx, c, book, largest.CustomerID, &out); err != nil {
		return out, err
	}
	if out.RSSEnd, out.RSSPeak, err = procRSS(srv.cmd.Process.Pid); err != nil {
		return out, err
	}
	return out, nil
}

// settleDesk brings the planner's statistics up to date after the fill, as
// autovacuum or a periodic ANALYZE would on a live database.
// On PostgreSQL it runs on a connection of its own without the
// application's read timeout: VACUUM of a million-invoice book takes
// minutes.
func settleDesk(ctx context.Context, dsn string, bdb *bun.DB, store string) error {
	t := time.Now()
	stmts := []string{"ANALYZE", "PRAGMA wal_checkpoint(TRUNCATE)"}
	var conn interface {
		ExecContext(context.Context, string, ...any) (sql.Result, error)
	} = bdb
	if store == "postgres" {
		stmts = []string{"VACUUM ANALYZE"}
		long := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(dsn), pgdriver.WithReadTimeout(time.Hour)))
		defer long.Close()
		conn = long
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	fmt.Fprintf(os.Stderr, "bench:   desk %s: %s in %s\n", store, strings.Join(stmts, ", "), time.Since(t).Round(time.Millisecond))
	return nil
}

// countDesk counts the rows of a book already filled.
func countDesk(ctx context.Context, bdb *bun.DB) (deskFillStats, error) {
	var f deskFillStats
	for table, n := range map[string]*int64{"customers": &f.Customers, "invoices": &f.Invoices, "payments": &f.Payments,
		"messages": &f.Messages, "tasks": &f.Tasks, "notes": &f.Notes} {
		if err := bdb.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(n); err != nil {
			return f, fmt.Errorf("count %s: %w", table, err)
		}
	}
	return f, nil
}

// freshPG drops and creates the database dsn names and describes it.
func freshPG(ctx context.Context, dsn string) (string, error) {
	if !db.IsPostgres(dsn) {
		return "", fmt.Errorf("want a postgres:// URL")
	}
	name, err := databaseName(dsn)
	if err != nil {
		return "", err
	}
	if err := refuseSystemDatabase(name); err != nil {
		return "", err
	}
	admin, err := withDatabase(dsn, "postgres")
	if err != nil {
		return "", err
	}
	a := openPG(admin)
	defer a.Close()
	if _, err := a.ExecContext(ctx, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`); err != nil {
		return "", fmt.Errorf("drop %s: %w", name, err)
	}
	if _, err := a.ExecContext(ctx, `CREATE DATABASE "`+name+`"`); err != nil {
		return "", fmt.Errorf("create %s: %w", name, err)
	}
	server, err := describePG(ctx, dsn, "postgres")
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s, database `%s` (dropped and created anew)", server, name), nil
}

// deskAPI is the API process.
type deskAPI struct {
	cmd   *exec.Cmd
	stdin io.Closer
	url   string
	done  chan error
}

// startDeskAPI starts this binary as the API process on dsn and waits
// until it answers /healthz.
func startDeskAPI(ctx context.Context, dsn, temporal string) (*deskAPI, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	port, err := devserver.FreePort("127.0.0.1")
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), deskAPIEnv+"="+addr, deskAPIDBEnv+"="+dsn, deskAPITempEnv+"="+temporal)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &deskAPI{cmd: cmd, stdin: stdin, url: "http://" + addr, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get(s.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				fmt.Fprintf(os.Stderr, "bench:   desk API process %d listening on %s\n", cmd.Process.Pid, s.url)
				return s, nil
			}
		}
		select {
		case err := <-s.done:
			return nil, fmt.Errorf("the API process exited before answering: %v", err)
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("the API process did not answer %s/healthz in 2 minutes", s.url)
		}
	}
}

// stop ends the API process: SIGTERM, then after 15 s SIGKILL.
func (s *deskAPI) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	_ = s.stdin.Close()
}

// procRSS reads a process's resident memory now and at its peak.
func procRSS(pid int) (rss, peak int64, err error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		for _, f := range []struct {
			prefix string
			into   *int64
		}{{"VmRSS:", &rss}, {"VmHWM:", &peak}} {
			if rest, ok := strings.CutPrefix(line, f.prefix); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				*f.into = kb << 10
			}
		}
	}
	if rss == 0 {
		return 0, 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
	}
	return rss, peak, nil
}

// deskClient calls the API process.
type deskClient struct {
	http      *http.Client
	base, key string
}

// get fetches path and returns the body; any status but 200 is an error.
func (c deskClient) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return raw, fmt.Errorf("GET %s: status %d: %.300s", path, resp.StatusCode, strings.TrimSpace(string(raw)))
	}
	return raw, nil
}

// worklistPage is what the bench reads of a worklist answer.
type worklistPage struct {
	Rows []struct {
		InvoiceID string `json:"invoice_id"`
	} `json:"rows"`
	NextCursor string `json:"next_cursor"`
}

// deepPath finds the path of a worklist page deep in the book: by
// following next_cursor dc.deepPages times when the API pages by cursor,
// else by offset when it takes one; else "" and why.
func deepPath(ctx context.Context, c deskClient, pageSize, pages int) (path, how string, err error) {
	first := fmt.Sprintf("/v1/worklist?limit=%d", pageSize)
	var p worklistPage
	raw, err := c.get(ctx, first)
	if err != nil {
		return "", "", err
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return "", "", fmt.Errorf("worklist answer: %w", err)
	}
	if p.NextCursor != "" {
		seen := map[string]bool{}
		for _, r := range p.Rows {
			seen[r.InvoiceID] = true
		}
		n := 1
		for ; n <= pages && p.NextCursor != ""; n++ {
			path = first + "&cursor=" + url.QueryEscape(p.NextCursor)
			var next worklistPage
			if raw, err = c.get(ctx, path); err != nil {
				return "", "", err
			}
			if err := json.Unmarshal(raw, &next); err != nil {
				return "", "", fmt.Errorf("worklist answer: %w", err)
			}
			// A page that repeats a row already seen is not the next
			// one: the API did not take the cursor back as `cursor`.
			for _, r := range next.Rows {
				if seen[r.InvoiceID] {
					return "", "", fmt.Errorf("GET %s repeats invoice %s of an earlier page: does the worklist take its next_cursor back as `cursor`?", path, r.InvoiceID)
				}
				seen[r.InvoiceID] = true
			}
			p = next
		}
		return path, fmt.Sprintf("page %d, reached by following `next_cursor`", n), nil
	}
	if len(p.Rows) < pageSize {
		return "", "the whole worklist fits on one page", nil
	}
	// No cursor: does the API take an offset? It does if the page at
	// offset pageSize starts elsewhere than the first page.
	var off worklistPage
	offPath := fmt.Sprintf("%s&offset=%d", first, pageSize*pages)
	if raw, err = c.get(ctx, offPath); err == nil && json.Unmarshal(raw, &off) == nil &&
		len(off.Rows) > 0 && off.Rows[0].InvoiceID != p.Rows[0].InvoiceID {
		return offPath, fmt.Sprintf("page %d, by `offset`", pages+1), nil
	}
	return "", "not measured: this worklist answers neither `next_cursor` nor `offset`, so no page past the first can be asked for", nil
}

// measureDesk times each view and report on the API process.
func (b *bench) measureDesk(ctx context.Context, c deskClient, book deskBook, largest string, out *DeskStore) error {
	dc := b.cfg.desk
	largestCust := book.customer(0)
	if largest != largestCust.ID {
		out.Notes = append(out.Notes, fmt.Sprintf("the largest customer is %s, not cust-00000 as the fill intends", largest))
	}
	// The filtered page: the largest customer's manager, in its currency.
	filter := fmt.Sprintf("/v1/worklist?limit=%d&manager=%s&currency=%s", dc.pageSize, url.QueryEscape(largestCust.AccountManager), largestCust.currency)
	if err := checkFiltered(ctx, c, filter, largestCust.AccountManager, largestCust.currency); err != nil {
		return err
	}
	deep, how, err := deepPath(ctx, c, dc.pageSize, dc.deepPages)
	if err != nil {
		return fmt.Errorf("deep page: %w", err)
	}
	eps := []DeskEndpoint{
		{Name: "worklist, first page", Path: fmt.Sprintf("/v1/worklist?limit=%d", dc.pageSize), Target: deskTargetFirst},
		{Name: "worklist, manager + currency", Path: filter},
	}
	if deep != "" {
		eps = append(eps, DeskEndpoint{Name: "worklist, deep: " + how, Path: deep})
	} else {
		out.Notes = append(out.Notes, "Deep page "+how+".")
	}
	eps = append(eps, DeskEndpoint{Name: "account view of the largest customer", Path: "/v1/customers/" + url.PathEscape(largest) + "/account"})
	raw, err := c.get(ctx, "/v1/reports")
	if err != nil {
		return err
	}
	var list struct {
		Reports []struct {
			Name string `json:"name"`
		} `json:"reports"`
	}
	if err := json.Unmarshal(raw, &list); err != nil || len(list.Reports) == 0 {
		return fmt.Errorf("GET /v1/reports: no reports listed (%v)", err)
	}
	// Reports over the last quarter.
	to := book.now.Format(time.DateOnly)
	from := book.now.AddDate(0, -3, 0).Format(time.DateOnly)
	for _, r := range list.Reports {
		eps = append(eps, DeskEndpoint{Name: "report " + r.Name, Path: fmt.Sprintf("/v1/reports/%s?from=%s&to=%s", url.PathEscape(r.Name), from, to),
			Target: deskTargetRep})
	}
	for i := range eps {
		e := &eps[i]
		n := dc.requests
		if strings.HasPrefix(e.Path, "/v1/reports/") {
			n = dc.reportRequests
		}
		// One request first, not timed: what it reads is then in the
		// caches, as on a server in use.
		body, err := c.get(ctx, e.Path)
		if err != nil {
			return err
		}
		e.Bytes = len(body)
		for range n {
			t := time.Now()
			if _, err := c.get(ctx, e.Path); err != nil {
				return err
			}
			e.Times = append(e.Times, time.Since(t))
		}
		s := Summarize(e.Times)
		fmt.Fprintf(os.Stderr, "bench:   desk %s: %s: p50 %s, p99 %s (%d requests, %d bytes)\n", out.Name, e.Name, ms(s.P50), ms(s.P99), n, e.Bytes)
	}
	out.Endpoints = eps
	return nil
}

// checkFiltered makes sure the filtered page holds rows, and only rows of
// that manager in that currency: a filter the API ignored would time the
// first page twice.
func checkFiltered(ctx context.Context, c deskClient, path, manager, currency string) error {
	raw, err := c.get(ctx, path)
	if err != nil {
		return err
	}
	var p struct {
		Rows []struct {
			AccountManager string `json:"account_manager"`
			Currency       string `json:"currency"`
		} `json:"rows"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return fmt.Errorf("worklist answer: %w", err)
	}
	if len(p.Rows) == 0 {
		return fmt.Errorf("GET %s: no rows; the book should have some", path)
	}
	for _, r := range p.Rows {
		if r.AccountManager == "" || r.Currency == "" {
			return fmt.Errorf("GET %s: rows without account_manager or currency: the bench cannot check the filter", path)
		}
		if r.AccountManager != manager || r.Currency != currency {
			return fmt.Errorf("GET %s: a row of %s in %s: the filter was not applied", path, r.AccountManager, r.Currency)
		}
	}
	return nil
}
