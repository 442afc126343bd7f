package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
)

func durations(ms ...int) []time.Duration {
	out := make([]time.Duration, len(ms))
	for i, m := range ms {
		out[i] = time.Duration(m) * time.Millisecond
	}
	return out
}

func TestPercentilesOnKnownData(t *testing.T) {
	// 1..100 ms, shuffled: the nearest-rank p50 is 50, p90 90, p99 99.
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration((i*37)%100+1)*time.Millisecond)
	}
	s := Summarize(d)
	if s.N != 100 || s.P50 != 50*time.Millisecond || s.P90 != 90*time.Millisecond || s.P99 != 99*time.Millisecond ||
		s.Max != 100*time.Millisecond || s.Mean != 50500*time.Microsecond {
		t.Fatalf("summary of 1..100 ms: %+v", s)
	}
	if d[1] != 64*time.Millisecond { // (99*37)%100+1
		t.Fatal("Summarize sorted its input in place")
	}
	for _, tc := range []struct {
		data []time.Duration
		p    float64
		want time.Duration
	}{
		{durations(7), 50, 7 * time.Millisecond},
		{durations(7), 99, 7 * time.Millisecond},
		{durations(1, 2), 50, 1 * time.Millisecond},
		{durations(1, 2), 51, 2 * time.Millisecond},
		{durations(1, 2, 3, 4, 1000), 99, 1000 * time.Millisecond}, // one outlier in five is the p99
		{durations(1, 2, 3, 4, 1000), 80, 4 * time.Millisecond},
		{nil, 50, 0},
	} {
		if got := Percentile(tc.data, tc.p); got != tc.want {
			t.Errorf("p%v of %v = %v, want %v", tc.p, tc.data, got, tc.want)
		}
	}
	if Summarize(nil) != (Summary{}) {
		t.Error("an empty sample has no percentiles")
	}
	if m := Median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median of 3,1,2 = %v", m)
	}
	if m := Median([]float64{4, 1, 2, 3}); m != 2.5 {
		t.Errorf("median of 4,1,2,3 = %v", m)
	}
	if Ratio(1, 0) != 0 || Ratio(3, 2) != 1.5 {
		t.Error("ratio")
	}
}

func sample() *Results {
	return &Results{
		Machine: Machine{CPU: "Test CPU <fast> & cheap", Cores: 2, MemoryGiB: 7.7, OS: "Linux test", Go: "go1.26.8"},
		Store:   "sqlite", LatenessSVG: "benchmarks-lateness-sqlite.svg",
		Commit: "abc123", Started: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC), Took: 3 * time.Minute, Command: "go run ./bench",
		Settings:      [][2]string{{"-concurrency", "8"}},
		TemporalStore: "SQLite file (WAL, synchronous=normal), 1 history shard", AppStore: "SQLite file",
		Ingest:      &IngestResult{Concurrency: 8, PerRound: 100, Bare: []float64{100, 200, 150}, Ours: []float64{90, 160, 150}},
		Reaction:    &ReactionResult{Bare: durations(10, 11, 12), Ours: durations(20, 22, 30)},
		Punctuality: []PunctualityResult{{N: 3, Window: time.Minute, Bare: durations(5, 6, 70), Ours: durations(8, 9, 1500), OursMissed: 1}},
		Capacity: &CapacityResult{N: 1000, Bare: CapacitySample{RSS: 10 << 20, Heap: 5 << 20, TemporalDB: 4 << 20},
			Ours:            CapacitySample{RSS: 30 << 20, Heap: 12 << 20, TemporalDB: 9 << 20, AppDB: 3 << 20, Took: 2 * time.Second},
			TemporalMeasure: "the SQLite file with its WAL", AppMeasure: "the SQLite file, checkpointed", StickyCache: 10000},
		Cost: []CostResult{{Path: "issued → paid", Events: 37, Bytes: 9470}},
	}
}

// Every table row has as many cells as its header.
func checkTables(t *testing.T, md string) (tables int) {
	t.Helper()
	cols := 0
	for i, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			cols = 0
			continue
		}
		n := strings.Count(line, "|") - 1
		if cols == 0 {
			cols = n
			tables++
			continue
		}
		if n != cols {
			t.Errorf("line %d has %d cells, its table %d: %q", i+1, n, cols, line)
		}
	}
	return tables
}

func TestMarkdownReport(t *testing.T) {
	var b bytes.Buffer
	b.Write(sample().Document(nil, nil, "## Notes\n\nWhat limits each figure.\n"))
	md := b.String()
	for _, want := range []string{
		"# Benchmarks", "`go run ./bench`", "Test CPU <fast> & cheap, 2 cores, 7.7 GiB", "`abc123`", "| -concurrency | 8 |",
		"| **median** | **150.0** | **150.0** | **0.90×**", // per-round ratios 0.9, 0.8, 1.0
		"| ours/bare | 2.00× |",                            // reaction p50 22 / 11
		"| 3 | 1m0s | ours | 9.0 ms | 1500.0 ms | 1500.0 ms | 1 |",
		"![lateness distribution](benchmarks-lateness-sqlite.svg)",
		"| ours | 1000 | 300.0 MiB | 120.0 MiB | 9437 B | 3146 B | 2s |",
		"| issued → paid | 37 | 9470 |", "## Notes",
		"| Temporal persistence | SQLite file (WAL, synchronous=normal), 1 history shard |", "| application database | SQLite file |",
		"Temporal DB: the SQLite file with its WAL; app DB: the SQLite file, checkpointed.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q:\n%s", want, md)
		}
	}
	if n := checkTables(t, md); n != 6 {
		t.Errorf("%d tables, want 6 (the run and five scenarios)", n)
	}
	// On PostgreSQL: where each store was, the visibility share of
	// Temporal's bytes, retried starts, and what memory per 10,000 means
	// beyond a full sticky cache.
	r := sample()
	r.TemporalStore = "PostgreSQL 15.20 (fsync=on, synchronous_commit=on), databases `t` and `t_visibility`, 4 history shards"
	r.AppStore = "PostgreSQL 15.20 (fsync=on, synchronous_commit=on), database `app`"
	r.Capacity = &CapacityResult{N: 100000, StickyCache: 10000, TemporalMeasure: "pg_database_size of t and t_visibility", AppMeasure: "pg_database_size",
		Bare: CapacitySample{TemporalDB: 5e9, TemporalVisibility: 3e9, Took: time.Minute},
		Ours: CapacitySample{TemporalDB: 6e9, TemporalVisibility: 4e9, AppDB: 1e8, Took: 2 * time.Minute, Retries: 2}}
	b.Reset()
	b.Write(r.Document(nil, nil, ""))
	md = b.String()
	for _, want := range []string{
		"| Temporal persistence | PostgreSQL 15.20 (fsync=on, synchronous_commit=on), databases `t` and `t_visibility`, 4 history shards |",
		"| application database | PostgreSQL 15.20 (fsync=on, synchronous_commit=on), database `app` |",
		"| ours | 100000 | 0.0 MiB | 0.0 MiB | 60000 B | 1000 B | 2m0s (2 retried) |",
		"Temporal DB: pg_database_size of t and t_visibility; app DB: pg_database_size.",
		"visibility (a row with an index on each search attribute column) holds 30000 B bare and 40000 B ours",
		"Above 10000 open workflows the worker's sticky cache is full",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the PostgreSQL report lacks %q:\n%s", want, md)
		}
	}
	if n := checkTables(t, md); n != 6 {
		t.Errorf("%d tables in the PostgreSQL report, want 6", n)
	}
	if strings.Contains(sampleMarkdown(), "sticky cache is full") || strings.Contains(sampleMarkdown(), "visibility (") {
		t.Error("a SQLite run of 1000 has neither the sticky cache note nor a visibility share")
	}

	// A run of some scenarios only reports those.
	r = &Results{Store: "sqlite", Command: "go run ./bench -scenarios cost", Cost: sample().Cost}
	b.Reset()
	b.Write(r.Document(nil, nil, ""))
	if strings.Contains(b.String(), "Ingest") || !strings.Contains(b.String(), "Cost per invoice") {
		t.Errorf("partial run:\n%s", b.String())
	}
}

func TestSVGPlotIsWellFormed(t *testing.T) {
	for name, r := range map[string]*Results{"with data": sample(), "without": {}} {
		var b bytes.Buffer
		r.SVG(&b)
		dec := xml.NewDecoder(&b)
		elements := map[string]int{}
		for {
			tok, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: not well-formed XML: %v", name, err)
			}
			if se, ok := tok.(xml.StartElement); ok {
				elements[se.Name.Local]++
				if se.Name.Local == "svg" && se.Name.Space != "http://www.w3.org/2000/svg" {
					t.Errorf("%s: svg namespace %q", name, se.Name.Space)
				}
			}
		}
		wantLines := 0
		if name == "with data" {
			wantLines = 2 // bare and ours at N = 3
		}
		if elements["svg"] != 1 || elements["polyline"] != wantLines {
			t.Errorf("%s: elements %v", name, elements)
		}
	}
	if niceCeil(1500) != 2000 || niceCeil(70) != 100 || niceCeil(0.2) != 1 || niceCeil(300) != 500 {
		t.Error("axis rounding")
	}
}

func TestEventKindsGroupHistoryEvents(t *testing.T) {
	for typ, want := range map[enums.EventType]string{
		enums.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:            "workflow task",
		enums.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:            "activity",
		enums.EVENT_TYPE_MARKER_RECORDED:                    "marker",
		enums.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:  "upsert",
		enums.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: "update",
		enums.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:         "start",
		enums.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:       "close",
		enums.EVENT_TYPE_TIMER_FIRED:                        "timer",
		enums.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:        "signal",
	} {
		if got := eventKind(typ); got != want {
			t.Errorf("eventKind(%s) = %q, want %q", typ, got, want)
		}
	}
	if got, want := kindsLine(map[string]int{"marker": 5, "workflow task": 15, "activity": 5}), "workflow task 15 · activity 5 · marker 5"; got != want {
		t.Errorf("kindsLine = %q, want %q", got, want)
	}
}

func sampleMarkdown() string {
	return string(sample().Document(nil, nil, ""))
}

func TestRedactHidesPasswords(t *testing.T) {
	got := redact("go run ./bench -temporal-postgres postgres://bench:s3cr%40t@db:5432/t?sslmode=disable -db postgresql://u:p@h/app")
	want := "go run ./bench -temporal-postgres postgres://bench:***@db:5432/t?sslmode=disable -db postgresql://u:***@h/app"
	if got != want {
		t.Errorf("redact:\n got %s\nwant %s", got, want)
	}
	if s := "postgres://postgres@127.0.0.1:5432/bench?sslmode=disable"; redact(s) != s {
		t.Errorf("a URL without a password changed: %s", redact(s))
	}
}

// A run on one store rewrites its own section of the report and keeps the
// other store's and the desk's as they were; the notes are written once.
func TestStoreSectionsKeepEachOther(t *testing.T) {
	desk := deskBegin + "\n## Desk at real size\n\nfigures of the desk\n" + deskEnd
	legacy := []byte("# Benchmarks\n\nAn old report without sections.\n\n" + desk + "\n")

	lite := sample()
	doc := lite.Document(legacy, nil, "## What limits each figure\n\nNotes.\n")
	if storeSectionOf(doc, "sqlite") == nil || !bytes.Contains(doc, []byte(desk)) || bytes.Contains(doc, []byte("An old report")) {
		t.Fatalf("the first run's report:\n%s", doc)
	}

	pg := sample()
	pg.Store, pg.Commit, pg.Command = "postgres", "def456", "go run ./bench -temporal-postgres 'postgres://x@h/t' -db 'postgres://x@h/a'"
	pg.Ingest.Ours = []float64{50, 80, 75}
	doc2 := pg.Document(doc, nil, "## What limits each figure\n\nNotes.\n")
	if !bytes.Equal(storeSectionOf(doc2, "sqlite"), storeSectionOf(doc, "sqlite")) {
		t.Errorf("the PostgreSQL run changed SQLite's section:\n%s", doc2)
	}
	pgSec := string(storeSectionOf(doc2, "postgres"))
	if !strings.Contains(pgSec, "## PostgreSQL") || !strings.Contains(pgSec, "`def456`") || !strings.Contains(pgSec, pg.Command) {
		t.Errorf("PostgreSQL's section:\n%s", pgSec)
	}
	// SQLite first, then PostgreSQL, then the notes, then the desk.
	md := string(doc2)
	order := []string{"# Benchmarks", "## SQLite", "## PostgreSQL", "## What limits each figure", "## Desk at real size"}
	for i := 1; i < len(order); i++ {
		if a, b := strings.Index(md, order[i-1]), strings.Index(md, order[i]); a < 0 || b < a {
			t.Errorf("%q should come before %q:\n%s", order[i-1], order[i], md)
		}
	}
	if strings.Count(md, "## What limits each figure") != 1 || strings.Count(md, deskBegin) != 1 {
		t.Errorf("notes or desk twice:\n%s", md)
	}

	// SQLite again: its section changes, PostgreSQL's stays.
	lite2 := sample()
	lite2.Commit = "fff999"
	doc3 := lite2.Document(doc2, nil, "## What limits each figure\n\nNotes.\n")
	if !bytes.Equal(storeSectionOf(doc3, "postgres"), storeSectionOf(doc2, "postgres")) || !bytes.Contains(storeSectionOf(doc3, "sqlite"), []byte("`fff999`")) {
		t.Errorf("the second SQLite run:\n%s", doc3)
	}
	if checkTables(t, string(doc3)) != 12 {
		t.Errorf("%d tables, want 12 (the run and five scenarios, for each store)", checkTables(t, string(doc3)))
	}
}

// With -before, the section shows the earlier run beside this one: its
// command and commit, each figure before and after, the change and the
// target.
func TestBeforeAndAfter(t *testing.T) {
	hist := func(n int) []HistoryEvent {
		h := []HistoryEvent{{Type: "WorkflowExecutionStarted"}, {Type: "WorkflowExecutionSignaled"}}
		for i := range n {
			h = append(h, HistoryEvent{Type: "TimerStarted", Task: int64(i)})
		}
		return h
	}
	before := sample()
	before.Commit, before.CodeCommit = "aaa111 (with uncommitted changes)", "add5423"
	before.Command = "go run ./bench -scenarios cost -json docs/benchmarks/sqlite-before.json"
	before.LoadStart, before.LoadEnd, before.Note = "7.5 6.0 3.1", "8.0 7.0 4.0", "Two other helpers were building."
	before.Cost = []CostResult{{Path: "issued → reminded → paid", Events: 43, Bytes: 9730, History: hist(8)}, {Path: "gone", Events: 5}}
	after := sample()
	after.CodeCommit = "abc123"
	after.Ingest.Ours = []float64{100, 200, 150} // ratio 1.00
	after.Cost = []CostResult{{Path: "issued → reminded → paid", Events: 34, Bytes: 8000, History: hist(5)}}
	// The before's JSON, read back, is what the report shows.
	raw, err := json.Marshal(before)
	if err != nil {
		t.Fatal(err)
	}
	var back Results
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	after.StoreSection(&b, &back)
	md := b.String()
	for _, want := range []string{
		"### Before and after",
		"**Before**: `go run ./bench -scenarios cost -json docs/benchmarks/sqlite-before.json` at commit `add5423` (the engine; the checkout, with the bench's code: `aaa111 (with uncommitted changes)`)",
		"load average 7.5 6.0 3.1 at the start, 8.0 7.0 4.0 at the end.\n",
		"**After**: this run (below), at commit `abc123`",
		"| ingest, ours/bare, median of the rounds' ratios | 0.90× | 1.00× | +0.10× (+11 %), better | ≥ 0.95×: met |",
		"| payment reaction p99, ours/bare | 2.50× | 2.50× | none | ≤ 1.3×: **missed** |",
		"| Temporal bytes per open invoice, ours/bare | 2.25× (9437 B / 4194 B, N = 1000) | 2.25× (9437 B / 4194 B, N = 1000) | none | ≤ 1.2×: **missed** |",
		"| history events: issued → reminded → paid | 43 | 34 | −9 (−21 %), better | ≤ 36: met |",
		"| billable actions: issued → reminded → paid | 10 | 7 | −3 (−30 %), better | – |",
		"| history events: gone | 5 | – | – | – |",
		"| issued → reminded → paid | 34 | 8000 | 7 | 70000 (≈ $3.50) |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the section lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "history events: issued → paid |") {
		t.Errorf("a path neither run has is listed:\n%s", md)
	}
	checkTables(t, md)
}
