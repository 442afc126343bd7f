package main

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// docs/benchmarks.md holds one section per store (SQLite, PostgreSQL),
// each between markers and written by a run on that store alone, so that
// a run on one store leaves the other's figures as they were. Around them
// sit the introduction and the notes (from this code) and the desk's
// section (deskreport.go), which a run without the desk keeps.

// storeOrder is the order of the stores' sections in the report.
var storeOrder = []string{"sqlite", "postgres", "temporal-postgres", "app-postgres"}

func storeBeginPrefix(store string) string { return "<!-- bench:" + store + ":begin" }

func storeBegin(store string) string {
	return storeBeginPrefix(store) + " (written by go run ./bench on this store; the other sections stay) -->"
}

func storeEnd(store string) string { return "<!-- bench:" + store + ":end -->" }

// storeSectionOf returns the section of store in doc, markers included;
// nil when it has none.
func storeSectionOf(doc []byte, store string) []byte {
	i := bytes.Index(doc, []byte(storeBeginPrefix(store)+" "))
	if i < 0 {
		return nil
	}
	end := []byte(storeEnd(store))
	j := bytes.Index(doc[i:], end)
	if j < 0 {
		return nil
	}
	return append([]byte(nil), doc[i:i+j+len(end)]...)
}

// storeHeading is the title of a store's section.
func storeHeading(store string) string {
	switch store {
	case "sqlite":
		return "SQLite (the default: `collections dev`)"
	case "postgres":
		return "PostgreSQL (Temporal and the application database)"
	case "temporal-postgres":
		return "Temporal on PostgreSQL, the application database on SQLite"
	case "app-postgres":
		return "Temporal on SQLite, the application database on PostgreSQL"
	}
	return store
}

// Document is the report with this run's section in place of its store's
// in old, the other stores' sections and the desk's kept from old, and
// the introduction and notes written anew.
func (r *Results) Document(old []byte, before *Results, notes string) []byte {
	var doc bytes.Buffer
	doc.WriteString(reportIntro)
	for _, store := range storeOrder {
		var sec []byte
		if store == r.Store {
			var b bytes.Buffer
			r.StoreSection(&b, before)
			sec = b.Bytes()
		} else {
			sec = storeSectionOf(old, store)
		}
		if len(sec) > 0 {
			doc.Write(bytes.TrimSpace(sec))
			doc.WriteString("\n\n")
		}
	}
	if notes != "" {
		doc.WriteString(strings.TrimSpace(notes))
		doc.WriteString("\n")
	}
	return spliceDesk(doc.Bytes(), deskSectionOf(old))
}

// The targets, judged on each store.
const (
	targetIngest      = 0.95 // ours/bare starts a second, at least
	targetReactionP99 = 1.3  // ours/bare, at most
	targetRemindPaid  = 36   // history events of issued → reminded → paid, at most
	targetBytesRatio  = 1.2  // Temporal bytes per open invoice, ours/bare, at most
	remindedPaidPath  = "issued → reminded → paid"
)

// reportIntro opens docs/benchmarks.md.
const reportIntro = "# Benchmarks\n\n" +
	"Each store's section below is written by one command run on that store, on this\n" +
	"machine (2 cores, shared), and names its commit; a run on one store rewrites its own\n" +
	"section and `docs/benchmarks/<store>.json` (its figures as JSON) and keeps the other\n" +
	"store's. With `-before FILE` (an earlier run's JSON) the section shows that run\n" +
	"beside this one: before, after and the change. Figures are medians and ratios\n" +
	"of one run each; do not edit them by hand, run the command again:\n\n" +
	"```\n" +
	"# SQLite (the default)\n" +
	"go run ./bench -scenarios ingest,reaction,punctuality,capacity,cost -punctuality 1000 -capacity 5000 \\\n" +
	"    -before docs/benchmarks/sqlite-before.json\n" +
	"# PostgreSQL (Temporal and the application database, on 127.0.0.1:5432 with trust auth)\n" +
	"go run ./bench -scenarios ingest,reaction,punctuality,capacity,cost -punctuality 1000 -capacity 2000 \\\n" +
	"    -temporal-postgres 'postgres://postgres@127.0.0.1:5432/bench_temporal?sslmode=disable' \\\n" +
	"    -db 'postgres://postgres@127.0.0.1:5432/bench_app?sslmode=disable' \\\n" +
	"    -before docs/benchmarks/postgres-before.json\n" +
	"```\n\n" +
	"The before files are the runs of the same commands (without `-before`, with\n" +
	"`-json docs/benchmarks/<store>-before.json`) on commit `add5423`, issue 18's starting\n" +
	"point, with this bench's code on it, kept as they were measured; each section names\n" +
	"both commands. PostgreSQL's capacity run is 2,000 workflows a side (not 5,000) so\n" +
	"that both runs fitted in the time there was on a machine shared with other builds.\n" +
	"Add `-note '…'` to say what else the machine was doing; the load average at the\n" +
	"start and end of each run is recorded.\n\n"

// StoreSection writes this run's section of the report: the command and
// commits, before and after (with -before), the run's settings and its
// figures.
func (r *Results) StoreSection(w io.Writer, before *Results) {
	fmt.Fprintf(w, "%s\n## %s\n\n", storeBegin(r.Store), storeHeading(r.Store))
	fmt.Fprintf(w, "Generated by `%s` — do not edit the figures by hand; run it again. Its figures as JSON: `docs/benchmarks/%s.json`.\n\n", r.Command, r.Store)
	if before != nil {
		r.BeforeAfter(w, before)
	}
	fmt.Fprintf(w, "### The run\n\n")
	r.runTable(w)
	fmt.Fprintln(w)
	var figs bytes.Buffer
	r.Figures(&figs)
	// The figures' headings sit one level below the store's.
	w.Write(bytes.TrimPrefix(bytes.ReplaceAll(append([]byte("\n"), figs.Bytes()...), []byte("\n### "), []byte("\n#### ")), []byte("\n")))
	fmt.Fprintf(w, "%s\n", storeEnd(r.Store))
}

// runTable is the table of where and how the run ran.
func (r *Results) runTable(w io.Writer) {
	fmt.Fprintf(w, "| | |\n|---|---|\n")
	fmt.Fprintf(w, "| machine | %s, %d cores, %.1f GiB |\n", r.Machine.CPU, r.Machine.Cores, r.Machine.MemoryGiB)
	fmt.Fprintf(w, "| system | %s, %s |\n", r.Machine.OS, r.Machine.Go)
	fmt.Fprintf(w, "| commit | %s |\n", r.commits())
	fmt.Fprintf(w, "| started | %s |\n", r.Started.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "| took | %s |\n", r.Took.Round(time.Second))
	if r.LoadStart != "" {
		fmt.Fprintf(w, "| load average (1, 5, 15 min) | %s at the start, %s at the end |\n", r.LoadStart, r.LoadEnd)
	}
	if r.Note != "" {
		fmt.Fprintf(w, "| note | %s |\n", cell(r.Note))
	}
	if r.TemporalStore != "" {
		fmt.Fprintf(w, "| Temporal persistence | %s |\n", r.TemporalStore)
	}
	if r.AppStore != "" {
		fmt.Fprintf(w, "| application database | %s |\n", r.AppStore)
	}
	for _, kv := range r.Settings {
		fmt.Fprintf(w, "| %s | %s |\n", kv[0], kv[1])
	}
}

// cell keeps a table cell on its line.
func cell(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ").Replace(s)
}

// commits names the engine's commit and, when the bench's own code was
// changed on top of it, the checkout's.
func (r *Results) commits() string {
	switch {
	case r.CodeCommit == "" || r.CodeCommit == "unknown":
		return "`" + r.Commit + "`"
	case strings.HasPrefix(r.Commit, strings.Fields(r.CodeCommit)[0]) && !strings.Contains(r.Commit, "uncommitted"):
		return "`" + r.CodeCommit + "`"
	}
	return fmt.Sprintf("`%s` (the engine; the checkout, with the bench's code: `%s`)", r.CodeCommit, r.Commit)
}

// comparison is one figure before and after.
type comparison struct {
	name          string
	before, after float64
	ok            [2]bool // each side measured
	format        func(float64) string
	higherBetter  bool
	target        string             // e.g. "≥ 0.95×"
	met           func(float64) bool // nil: no target
	detail        [2]string          // more on each side, e.g. the bytes behind a ratio
}

func times(v float64) string { return fmt.Sprintf("%.2f×", v) }
func count(v float64) string { return fmt.Sprintf("%.0f", v) }

func (c comparison) change() string {
	if !c.ok[0] || !c.ok[1] {
		return "–"
	}
	d := c.after - c.before
	if math.Abs(d) < 1e-9 {
		return "none"
	}
	s := c.format(d)
	if d > 0 {
		s = "+" + s
	}
	s = strings.Replace(s, "-", "−", 1)
	if c.before != 0 {
		s += fmt.Sprintf(" (%+.0f %%)", 100*d/math.Abs(c.before))
		s = strings.Replace(s, "(-", "(−", 1)
	}
	if (d > 0) == c.higherBetter {
		return s + ", better"
	}
	return s + ", worse"
}

func (c comparison) side(i int) string {
	v := c.before
	if i == 1 {
		v = c.after
	}
	if !c.ok[i] {
		return "–"
	}
	s := c.format(v)
	if c.detail[i] != "" {
		s += " (" + c.detail[i] + ")"
	}
	return s
}

func (c comparison) verdict() string {
	switch {
	case c.met == nil:
		return "–"
	case !c.ok[1]:
		return c.target
	case c.met(c.after):
		return c.target + ": met"
	}
	return c.target + ": **missed**"
}

// figures is what the before-and-after table compares, from one run.
type figures struct {
	ingest, reactP50, reactP99, bytesRatio, appBytes float64
	bytesDetail                                      string
	has                                              map[string]bool
	cost                                             map[string]CostResult
}

func (r *Results) figures() figures {
	f := figures{has: map[string]bool{}, cost: map[string]CostResult{}}
	if in := r.Ingest; in != nil && len(in.Bare) > 0 {
		var ratios []float64
		for i := range in.Bare {
			ratios = append(ratios, Ratio(in.Ours[i], in.Bare[i]))
		}
		f.ingest, f.has["ingest"] = Median(ratios), true
	}
	if re := r.Reaction; re != nil && len(re.Bare) > 0 && len(re.Ours) > 0 {
		b, o := Summarize(re.Bare), Summarize(re.Ours)
		f.reactP50, f.reactP99 = Ratio(float64(o.P50), float64(b.P50)), Ratio(float64(o.P99), float64(b.P99))
		f.has["reaction"] = true
	}
	if c := r.Capacity; c != nil && c.N > 0 && c.Bare.TemporalDB > 0 {
		f.bytesRatio = Ratio(float64(c.Ours.TemporalDB), float64(c.Bare.TemporalDB))
		f.bytesDetail = fmt.Sprintf("%s / %s, N = %d", perOne(c.Ours.TemporalDB, c.N), perOne(c.Bare.TemporalDB, c.N), c.N)
		f.appBytes = float64(c.Ours.AppDB) / float64(c.N)
		f.has["capacity"] = true
	}
	for _, c := range r.Cost {
		f.cost[c.Path] = c
	}
	return f
}

// actionsOf is a path's billable actions, counted again from its history
// when the run kept it (so a before counts by today's rule).
func actionsOf(c CostResult) int {
	if len(c.History) > 0 {
		n, _ := Actions(c.History)
		return n
	}
	return c.Actions
}

// BeforeAfter writes the table of the figures issue 18 follows, an
// earlier run (before) beside this one.
func (r *Results) BeforeAfter(w io.Writer, before *Results) {
	fmt.Fprintf(w, "### Before and after\n\n")
	// (A run's -note is in its command.)
	fmt.Fprintf(w, "- **Before**: `%s` at commit %s, started %s, took %s, load average %s at the start, %s at the end.\n",
		before.Command, before.commits(), before.Started.UTC().Format(time.RFC3339), before.Took.Round(time.Second), before.LoadStart, before.LoadEnd)
	fmt.Fprintf(w, "- **After**: this run (below), at commit %s, load average %s at the start, %s at the end.\n\n", r.commits(), r.LoadStart, r.LoadEnd)
	b, a := before.figures(), r.figures()
	rows := []comparison{
		{name: "ingest, ours/bare, median of the rounds' ratios", before: b.ingest, after: a.ingest, ok: [2]bool{b.has["ingest"], a.has["ingest"]},
			format: times, higherBetter: true, target: fmt.Sprintf("≥ %.2f×", targetIngest), met: func(v float64) bool { return v >= targetIngest }},
		{name: "payment reaction p50, ours/bare", before: b.reactP50, after: a.reactP50, ok: [2]bool{b.has["reaction"], a.has["reaction"]}, format: times},
		{name: "payment reaction p99, ours/bare", before: b.reactP99, after: a.reactP99, ok: [2]bool{b.has["reaction"], a.has["reaction"]},
			format: times, target: fmt.Sprintf("≤ %.1f×", targetReactionP99), met: func(v float64) bool { return v <= targetReactionP99 }},
		{name: "Temporal bytes per open invoice, ours/bare", before: b.bytesRatio, after: a.bytesRatio, ok: [2]bool{b.has["capacity"], a.has["capacity"]},
			format: times, target: fmt.Sprintf("≤ %.1f×", targetBytesRatio), met: func(v float64) bool { return v <= targetBytesRatio },
			detail: [2]string{b.bytesDetail, a.bytesDetail}},
		{name: "application database bytes per open invoice", before: b.appBytes, after: a.appBytes, ok: [2]bool{b.has["capacity"], a.has["capacity"]}, format: count},
	}
	// The cost paths, in the after's order, then any only the before had.
	var paths []string
	seen := map[string]bool{}
	for _, run := range []*Results{r, before} {
		for _, c := range run.Cost {
			if !seen[c.Path] {
				seen[c.Path] = true
				paths = append(paths, c.Path)
			}
		}
	}
	for _, p := range paths {
		cb, okb := b.cost[p]
		ca, oka := a.cost[p]
		ev := comparison{name: "history events: " + p, before: float64(cb.Events), after: float64(ca.Events), ok: [2]bool{okb, oka}, format: count}
		if p == remindedPaidPath {
			ev.target, ev.met = fmt.Sprintf("≤ %d", targetRemindPaid), func(v float64) bool { return v <= targetRemindPaid }
		}
		rows = append(rows, ev,
			comparison{name: "history bytes: " + p, before: float64(cb.Bytes), after: float64(ca.Bytes), ok: [2]bool{okb, oka}, format: count},
			comparison{name: "billable actions: " + p, before: float64(actionsOf(cb)), after: float64(actionsOf(ca)), ok: [2]bool{okb, oka}, format: count})
	}
	fmt.Fprintf(w, "| figure | before | after | change | target |\n|---|---|---|---|---|\n")
	for _, c := range rows {
		if !c.ok[0] && !c.ok[1] {
			continue
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", c.name, c.side(0), c.side(1), c.change(), c.verdict())
	}
	fmt.Fprintf(w, "\nBillable actions are counted from each path's history as Temporal Cloud counts them (%s; see cost below); the after's run has its full tables below, the before's are in its JSON.\n\n", actionsSource)
}
