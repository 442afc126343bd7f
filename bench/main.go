// Command bench measures the collections engine beside bare Temporal
// workflows on the same embedded server, in one run: ingest rate, payment
// reaction, reminder punctuality, capacity and history cost. It prints the
// figures and writes docs/benchmarks.md and docs/benchmarks-lateness-<store>.svg (and docs/benchmarks/<store>.json).
//
//	go run ./bench                      # the defaults: a few minutes on 2 cores
//	go run ./bench -punctuality 1000,10000 -capacity 10000
//
// By default Temporal and the application database are SQLite files in a
// temporary directory. On PostgreSQL instead (databases dropped and
// created anew for the run unless -fresh=false):
//
//	go run ./bench -temporal-postgres 'postgres://postgres@127.0.0.1:5432/bench_temporal?sslmode=disable' \
//	    -db 'postgres://postgres@127.0.0.1:5432/bench_app?sslmode=disable' -capacity 100000 -scenarios capacity
//
// The desk scenario runs only when named: it fills a fresh application
// database on SQLite and on PostgreSQL (-desk-postgres) with -desk-open and
// -desk-closed invoices and times the collectors' read side through a
// separate API process (desk.go), writing its own section of the report:
//
//	go run ./bench -scenarios desk
//	go run ./bench -scenarios desk -desk-open 2000 -desk-closed 10000
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/collections-engine/collections/api"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/internal/app"
	"github.com/collections-engine/collections/internal/devserver"
	"github.com/collections-engine/collections/internal/devstack"
)

type config struct {
	scenarios       map[string]bool
	concurrency     int
	ingestN, rounds int
	reactionN       int
	punctuality     []int
	window          time.Duration // 0: 15 minutes per 10,000
	capacityN       int
	settle          time.Duration
	dataDir         string
	markdown, svg   string
	// jsonOut is where the run's figures go as JSON; before is an earlier
	// run's JSON, shown beside this one's.
	jsonOut, before string
	note            string
	tuning          tuning
	// temporalPG and appDB are postgres:// URLs (empty: SQLite files in
	// dataDir); fresh drops and creates their databases before the run.
	temporalPG, appDB string
	fresh             bool
	shards            int
	desk              deskConfig
}

var allScenarios = []string{"ingest", "reaction", "punctuality", "capacity", "cost"}

// extraScenarios run only when named: desk fills databases with a million
// invoices and more.
var extraScenarios = []string{"desk"}

func main() {
	if os.Getenv(deskAPIEnv) != "" {
		// The desk scenario's API process (see serveDeskAPI).
		if err := serveDeskAPI(); err != nil {
			fmt.Fprintln(os.Stderr, "bench desk API:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	var cfg config
	var scen, punct, deskStores string
	flag.StringVar(&scen, "scenarios", strings.Join(allScenarios, ","), "scenarios to run, comma-separated; desk (the collectors' read side on a filled book) runs only when named")
	flag.IntVar(&cfg.concurrency, "concurrency", 8, "concurrent starts (ingest, capacity)")
	flag.IntVar(&cfg.ingestN, "ingest", 200, "starts per side per ingest round")
	flag.IntVar(&cfg.rounds, "rounds", 3, "ingest rounds (bare and ours alternate in each)")
	flag.IntVar(&cfg.reactionN, "reaction", 50, "payments (and bare signals) timed")
	flag.StringVar(&punct, "punctuality", "1000", "reminders due in one window, comma-separated sizes (e.g. 1000,10000)")
	flag.DurationVar(&cfg.window, "window", 0, "punctuality window (0: 15 minutes per 10,000 reminders, at least 30s)")
	flag.IntVar(&cfg.capacityN, "capacity", 2000, "open, sleeping workflows started per side for the capacity figures")
	flag.DurationVar(&cfg.settle, "settle", 5*time.Second, "wait after the capacity starts before measuring")
	flag.StringVar(&cfg.dataDir, "data-dir", "", "where the stack keeps its databases (default: a temporary directory, removed)")
	flag.StringVar(&cfg.markdown, "out", "docs/benchmarks.md", "the report to write (empty: none)")
	flag.StringVar(&cfg.svg, "svg", "auto", "the lateness plot to write (auto: docs/benchmarks-lateness-<store>.svg; empty: none)")
	flag.StringVar(&cfg.jsonOut, "json", "auto", "the run's figures as JSON (auto: docs/benchmarks/<store>.json, store sqlite or postgres; empty: none)")
	flag.StringVar(&cfg.before, "before", "", "an earlier run's JSON (-json) of the same store, shown as the before of this run")
	flag.StringVar(&cfg.note, "note", "", "a note on the run kept with its figures (e.g. what else the machine was doing)")
	flag.StringVar(&cfg.temporalPG, "temporal-postgres", "", "run the embedded Temporal server on PostgreSQL: a postgres:// URL naming its database (visibility goes to <name>_visibility); empty: a SQLite file")
	flag.StringVar(&cfg.appDB, "db", "", "the application database as a postgres:// URL; empty: a SQLite file")
	flag.BoolVar(&cfg.fresh, "fresh", true, "drop and create the -temporal-postgres and -db databases before the run, so it starts empty (-fresh=false keeps them)")
	flag.IntVar(&cfg.shards, "shards", 0, "history shards of a Temporal on PostgreSQL, fixed when its databases are created (0: the server's default, 4; SQLite always has 1)")
	flag.IntVar(&cfg.desk.open, "desk-open", 100000, "desk: open invoices in the book")
	flag.IntVar(&cfg.desk.closed, "desk-closed", 1000000, "desk: closed invoices in the book")
	flag.StringVar(&deskStores, "desk-stores", "sqlite,postgres", "desk: application databases to fill and measure, comma-separated (sqlite, postgres)")
	flag.StringVar(&cfg.desk.postgres, "desk-postgres", "postgres://postgres@127.0.0.1:5432/bench_desk?sslmode=disable", "desk: the PostgreSQL database to fill, dropped and created anew")
	flag.IntVar(&cfg.desk.requests, "desk-requests", 100, "desk: timed requests of each worklist page and of the account view")
	flag.IntVar(&cfg.desk.reportRequests, "desk-report-requests", 20, "desk: timed requests of each report")
	flag.IntVar(&cfg.desk.pageSize, "desk-page", 50, "desk: worklist rows a page")
	flag.IntVar(&cfg.desk.deepPages, "desk-deep", 100, "desk: next_cursor links followed to reach the deep page (or its offset in pages)")
	flag.Uint64Var(&cfg.desk.seed, "desk-seed", 1, "desk: seed of the generated book")
	flag.BoolVar(&cfg.desk.reuse, "desk-reuse", false, "desk: measure the PostgreSQL book an earlier run with the same flags filled, without filling it again")
	cfg.tuning.flags(flag.CommandLine)
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the scenarios to this file (go tool pprof)")
	flag.Parse()
	cfg.scenarios = map[string]bool{}
	for _, s := range strings.Split(scen, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		known := append(slices.Clone(allScenarios), extraScenarios...)
		if !slices.Contains(known, s) {
			return fmt.Errorf("-scenarios: unknown scenario %q (known: %s)", s, strings.Join(known, ", "))
		}
		cfg.scenarios[s] = true
	}
	for _, s := range strings.Split(punct, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return fmt.Errorf("-punctuality: %q is not a positive number", s)
		}
		cfg.punctuality = append(cfg.punctuality, n)
	}
	for _, s := range strings.Split(deskStores, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if s != "sqlite" && s != "postgres" {
			return fmt.Errorf("-desk-stores: %q is neither sqlite nor postgres", s)
		}
		cfg.desk.stores = append(cfg.desk.stores, s)
	}
	if cfg.scenarios["desk"] {
		switch {
		case cfg.desk.open < 0 || cfg.desk.closed < 0 || cfg.desk.open+cfg.desk.closed == 0:
			return fmt.Errorf("-desk-open, -desk-closed: at least one invoice, none negative")
		case len(cfg.desk.stores) == 0:
			return fmt.Errorf("-desk-stores: name sqlite, postgres or both")
		case cfg.desk.requests < 1 || cfg.desk.reportRequests < 1:
			return fmt.Errorf("-desk-requests, -desk-report-requests: at least 1")
		case cfg.desk.pageSize < 1 || cfg.desk.deepPages < 1:
			return fmt.Errorf("-desk-page, -desk-deep: at least 1")
		}
	}
	if cfg.concurrency < 1 {
		return fmt.Errorf("-concurrency: must be at least 1")
	}
	if cfg.shards < 0 || (cfg.shards > 0 && cfg.temporalPG == "") {
		return fmt.Errorf("-shards: a positive number, with -temporal-postgres (SQLite has one shard)")
	}
	if cfg.temporalPG != "" && (cfg.tuning.sqliteConns != 0 || len(cfg.tuning.pragmas) > 0) {
		return fmt.Errorf("-sqlite-conns and -sqlite-pragma do not apply with -temporal-postgres")
	}
	if cfg.appDB != "" && !db.IsPostgres(cfg.appDB) {
		return fmt.Errorf("-db: want a postgres:// URL")
	}

	res := &Results{Machine: machine(), Commit: commit(), CodeCommit: codeCommit(), Store: storeName(cfg), Started: time.Now(),
		Command: "go run ./bench " + shellJoin(os.Args[1:]), LoadStart: loadavg(), Note: cfg.note}
	if len(os.Args) == 1 {
		res.Command = "go run ./bench"
	}
	if cfg.jsonOut == "auto" {
		cfg.jsonOut = filepath.Join("docs", "benchmarks", res.Store+".json")
	}
	var before *Results
	if cfg.before != "" {
		var err error
		if before, err = readResults(cfg.before); err != nil {
			return fmt.Errorf("-before: %w", err)
		}
		if before.Store != res.Store {
			return fmt.Errorf("-before: %s is a run on %s, this one is on %s", cfg.before, before.Store, res.Store)
		}
	}
	if cfg.svg == "auto" {
		cfg.svg = filepath.Join("docs", "benchmarks-lateness-"+res.Store+".svg")
	}
	flag.VisitAll(func(f *flag.Flag) {
		if f.Name == "out" || f.Name == "svg" || f.Name == "data-dir" || f.Name == "cpuprofile" || f.Name == "json" || f.Name == "before" || f.Name == "note" {
			return
		}
		if strings.HasPrefix(f.Name, "desk-") && !cfg.scenarios["desk"] {
			return // the desk's settings, in a run without it
		}
		res.Settings = append(res.Settings, [2]string{"-" + f.Name, redact(f.Value.String())})
	})
	res.Command = redact(res.Command)

	dir := cfg.dataDir
	if dir == "" {
		d, err := os.MkdirTemp("", "collections-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	if err := preparePostgres(cfg, res); err != nil {
		return err
	}
	if res.TemporalStore == "" {
		res.TemporalStore = fmt.Sprintf("SQLite file (%s), 1 history shard", sqliteSettings(cfg.tuning))
	}
	if res.AppStore == "" {
		res.AppStore = "SQLite file"
	}
	b, err := start(dir, cfg)
	if err != nil {
		return err
	}
	defer b.stop()
	ctx := context.Background()
	if err := b.setup(ctx); err != nil {
		return err
	}
	if b.temporalSize != nil {
		// The shards the server took: the count stored when its
		// databases were created (-shards only counts then).
		n, err := b.temporalSize.shards(ctx)
		if err != nil {
			return err
		}
		res.TemporalStore += fmt.Sprintf(", %d history shards", n)
	}
	fmt.Fprintf(os.Stderr, "bench: Temporal on %s\nbench: application database on %s\n", res.TemporalStore, res.AppStore)
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	step := func(name string, f func() error) error {
		if !cfg.scenarios[name] {
			return nil
		}
		t := time.Now()
		fmt.Fprintf(os.Stderr, "bench: %s…\n", name)
		if err := f(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		fmt.Fprintf(os.Stderr, "bench: %s took %s\n", name, time.Since(t).Round(time.Second))
		return nil
	}
	if err := step("ingest", func() (err error) { res.Ingest, err = b.ingest(ctx); return }); err != nil {
		return err
	}
	if err := step("reaction", func() (err error) { res.Reaction, err = b.reaction(ctx); return }); err != nil {
		return err
	}
	if err := step("cost", func() (err error) { res.Cost, err = b.cost(ctx); return }); err != nil {
		return err
	}
	if err := step("punctuality", func() error {
		for _, n := range cfg.punctuality {
			p, err := b.punctuality(ctx, n, res.Ingest)
			if err != nil {
				return err
			}
			res.Punctuality = append(res.Punctuality, p)
		}
		return nil
	}); err != nil {
		return err
	}
	if err := step("capacity", func() (err error) { res.Capacity, err = b.capacity(ctx); return }); err != nil {
		return err
	}
	if err := step("desk", func() (err error) { res.Desk, err = b.desk(ctx); return }); err != nil {
		return err
	}
	res.Took = time.Since(res.Started)
	res.LoadEnd = loadavg()
	onlyDesk := len(cfg.scenarios) == 1 && cfg.scenarios["desk"]
	if cfg.svg != "" && !onlyDesk && len(res.Punctuality) > 0 {
		var svg bytes.Buffer
		res.SVG(&svg)
		if err := writeFile(cfg.svg, svg.Bytes()); err != nil {
			return err
		}
		res.LatenessSVG = cfg.svg
		if rel, err := filepath.Rel(filepath.Dir(cfg.markdown), cfg.svg); err == nil && cfg.markdown != "" {
			res.LatenessSVG = rel
		}
	}

	var buf bytes.Buffer
	if before != nil {
		res.BeforeAfter(&buf, before)
	}
	res.Figures(&buf)
	if res.Desk != nil {
		res.DeskFigures(&buf)
	}
	fmt.Print(buf.String())
	if cfg.jsonOut != "" && !onlyDesk {
		raw, err := json.MarshalIndent(res, "", "\t")
		if err != nil {
			return err
		}
		if err := writeFile(cfg.jsonOut, append(raw, '\n')); err != nil {
			return err
		}
	}
	if cfg.markdown != "" {
		// Each store's section and the desk's sit between markers: a run
		// rewrites its store's section and keeps the others, a run without
		// the desk keeps the desk's, and a desk-only run replaces that
		// section alone, leaving the other figures as they were.
		old, err := os.ReadFile(cfg.markdown)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		doc := old
		if !onlyDesk {
			doc = res.Document(old, before, notes+"\n"+actionsNote())
		}
		sec := deskSectionOf(old)
		if res.Desk != nil {
			var b bytes.Buffer
			res.DeskSection(&b)
			sec = b.Bytes()
		}
		if err := writeFile(cfg.markdown, spliceDesk(doc, sec)); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: wrote %s\n", path)
	return nil
}

const paymentsSecret = "bench-payments-secret"

// start brings up the dev stack, as `collections dev` runs it, with the
// bare worker beside it.
func start(dir string, cfg config) (*bench, error) {
	port := func() (string, error) {
		p, err := devserver.FreePort("127.0.0.1")
		return fmt.Sprintf("127.0.0.1:%d", p), err
	}
	httpAddr, err := port()
	if err != nil {
		return nil, err
	}
	temporalAddr, err := port()
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	o := devstack.Options{DataDir: dir, TemporalAddr: temporalAddr, Config: app.Config{HTTPAddr: httpAddr, Log: log,
		RateLimit: 1e6, Webhooks: api.WebhookConfig{PaymentsSecret: paymentsSecret}, DatabaseURL: cfg.appDB}}
	if cfg.temporalPG != "" {
		o.TemporalPostgres = &devserver.Postgres{URL: cfg.temporalPG, NumHistoryShards: int32(cfg.shards)}
	}
	cfg.tuning.apply(&o)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	t := time.Now()
	s, err := devstack.Start(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("start the stack: %w", err)
	}
	fmt.Fprintf(os.Stderr, "bench: the stack started in %s\n", time.Since(t).Round(time.Millisecond))
	w, p, err := startBareWorker(s.Client, o.Worker)
	if err != nil {
		s.Stop()
		return nil, fmt.Errorf("bare worker: %w", err)
	}
	b := newBench(s, w, p, dir, cfg)
	if cfg.temporalPG != "" {
		if b.temporalSize, err = newPGSizer(cfg.temporalPG); err != nil {
			b.stop()
			return nil, err
		}
	}
	return b, nil
}

func machine() Machine {
	m := Machine{CPU: "unknown CPU", Cores: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, Go: runtime.Version()}
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(raw), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if raw, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(raw), "\n") {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
				m.MemoryGiB = kb / (1 << 20)
			}
		}
	}
	if raw, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.OS = "Linux " + strings.TrimSpace(string(raw)) + " " + runtime.GOARCH
	}
	return m
}

func commit() string {
	out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		c += " (with uncommitted changes)"
	}
	return c
}

// codeCommit is the last commit that changed anything outside bench/ and
// docs/: the engine the run measured, when the bench's own code was
// changed on top of it. " (with uncommitted changes)" follows it when
// files outside bench/ and docs/ differ from it.
func codeCommit() string {
	paths := []string{"--", ".", ":(exclude)bench", ":(exclude)docs"}
	out, err := exec.Command("git", append([]string{"log", "-1", "--format=%h", "--abbrev=12"}, paths...)...).Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", append([]string{"status", "--porcelain", "--untracked-files=no"}, paths...)...).Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		c += " (with uncommitted changes)"
	}
	return c
}

// storeName names the run's stores: sqlite (the default), postgres
// (-temporal-postgres and -db), or which one was on PostgreSQL.
func storeName(cfg config) string {
	switch {
	case cfg.temporalPG != "" && cfg.appDB != "":
		return "postgres"
	case cfg.temporalPG != "":
		return "temporal-postgres"
	case cfg.appDB != "":
		return "app-postgres"
	}
	return "sqlite"
}

// loadavg is /proc/loadavg's first three fields: the load over the last
// 1, 5 and 15 minutes.
func loadavg() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// shellJoin quotes the arguments that need it, so the command in the
// report can be pasted into a shell as it is.
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=,./:@") == "" {
			out[i] = a
			continue
		}
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}

// readResults reads a run's JSON (-json).
func readResults(path string) (*Results, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Results
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if r.Store == "" {
		return nil, fmt.Errorf("%s: not a bench run's JSON (no store)", path)
	}
	return &r, nil
}
