package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// Results are the figures of one bench run, also written as JSON
// (docs/benchmarks/<store>.json) so that a later run can show them as its
// before (-before).
type Results struct {
	Machine Machine
	// Commit is the checkout's HEAD; CodeCommit the last commit that
	// changed anything outside bench/ and docs/ (the engine measured), which
	// differs when the bench's own code was changed on top of it.
	Commit, CodeCommit string
	// Store names the stores the run used: sqlite, postgres (Temporal and
	// the application database), or temporal-postgres / app-postgres when
	// only one of them was on PostgreSQL. It names the report's section
	// and the JSON file.
	Store string
	// Load is /proc/loadavg when the run started and ended: the machine is
	// shared, and a loaded one slows both sides.
	LoadStart, LoadEnd string
	// Note is the -note flag: what else the machine was doing.
	Note     string `json:",omitempty"`
	Started  time.Time
	Took     time.Duration
	Command  string
	Settings [][2]string // name, value
	// TemporalStore and AppStore say where Temporal and the application
	// database kept their data (SQLite files, or which PostgreSQL).
	TemporalStore, AppStore string

	Ingest      *IngestResult
	Reaction    *ReactionResult
	Punctuality []PunctualityResult
	Capacity    *CapacityResult
	Cost        []CostResult
	Desk        *DeskResult `json:"-"` // the desk has its own section

	// LatenessSVG is the lateness plot's path from the report (empty:
	// none was written).
	LatenessSVG string `json:"-"`
}

// Machine describes where the bench ran.
type Machine struct {
	CPU       string
	Cores     int
	MemoryGiB float64
	OS, Go    string
}

// IngestResult holds one start rate (starts a second) per round and side.
type IngestResult struct {
	Concurrency, PerRound int
	Bare, Ours            []float64
}

// ReactionResult holds the latencies from the payment (signal) to the
// workflow closed.
type ReactionResult struct {
	Bare, Ours []time.Duration
}

// PunctualityResult is the lateness of N sends due inside one window.
type PunctualityResult struct {
	N          int
	Window     time.Duration
	Bare, Ours []time.Duration
	// Missed counts sends that did not happen before the bench gave up.
	BareMissed, OursMissed int
}

// CapacityResult is what N open, sleeping workflows cost the process and
// the databases.
type CapacityResult struct {
	N          int
	Bare, Ours CapacitySample
	// How the databases were measured (e.g. "pg_database_size of ...").
	TemporalMeasure, AppMeasure string
	// StickyCache is the worker's sticky cache size (workflows).
	StickyCache int
}

// CapacitySample is the growth caused by N open workflows.
type CapacitySample struct {
	RSS, Heap  int64 // process resident set and live Go heap, bytes
	TemporalDB int64 // Temporal's SQLite file and WAL, or its two PostgreSQL databases, bytes
	// TemporalVisibility is the part of TemporalDB in the visibility
	// database (PostgreSQL only; 0 on SQLite, where they share the file).
	TemporalVisibility int64
	AppDB              int64 // the application database, bytes (0 for the bare side)
	Took               time.Duration
	Retries            int // starts that failed and were tried again
}

// CostResult is the history one workflow run leaves in Temporal.
type CostResult struct {
	Path   string
	Events int
	Bytes  int
	// Kinds counts the events by what they record (workflow task,
	// activity, local activity marker, timer, upsert, update, …).
	Kinds map[string]int
	// Actions are the run's billable actions on Temporal Cloud (see
	// actions.go), counted from History.
	Actions int
	History []HistoryEvent
}

// kindsLine lists event counts by kind, largest first, e.g.
// "workflow task 15 · activity 6 · marker 5".
func kindsLine(kinds map[string]int) string {
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	slices.SortFunc(names, func(a, b string) int {
		if kinds[a] != kinds[b] {
			return kinds[b] - kinds[a]
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %d", n, kinds[n])
	}
	return strings.Join(parts, " · ")
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

func ratio(a, b float64) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func perTenK(bytes int64, n int) string {
	if n == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f MiB", float64(bytes)/float64(n)*10000/(1<<20))
}

func perOne(bytes int64, n int) string {
	if n == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f B", float64(bytes)/float64(n))
}

// Figures writes the tables (the part printed to the terminal too).
func (r *Results) Figures(w io.Writer) {
	if in := r.Ingest; in != nil {
		fmt.Fprintf(w, "### 1. Ingest\n\n%d starts a round at concurrency %d, bare and ours alternating.\n\n", in.PerRound, in.Concurrency)
		fmt.Fprintf(w, "| round | bare starts/s | ours invoices/s | ours/bare |\n|---|---|---|---|\n")
		var ratios []float64
		for i := range in.Bare {
			ratios = append(ratios, Ratio(in.Ours[i], in.Bare[i]))
			fmt.Fprintf(w, "| %d | %.1f | %.1f | %s |\n", i+1, in.Bare[i], in.Ours[i], ratio(in.Ours[i], in.Bare[i]))
		}
		fmt.Fprintf(w, "| **median** | **%.1f** | **%.1f** | **%.2f×** (target ≥ %.2f×) |\n\n", Median(in.Bare), Median(in.Ours), Median(ratios), targetIngest)
	}
	if re := r.Reaction; re != nil {
		b, o := Summarize(re.Bare), Summarize(re.Ours)
		fmt.Fprintf(w, "### 2. Payment reaction\n\nFrom the request (webhook POST / signal) to the workflow's close time, %d of each, one at a time, alternating.\n\n", o.N)
		fmt.Fprintf(w, "| | p50 | p90 | p99 | max |\n|---|---|---|---|---|\n")
		fmt.Fprintf(w, "| bare signal-and-complete | %s | %s | %s | %s |\n", ms(b.P50), ms(b.P90), ms(b.P99), ms(b.Max))
		fmt.Fprintf(w, "| ours (payment webhook) | %s | %s | %s | %s |\n", ms(o.P50), ms(o.P90), ms(o.P99), ms(o.Max))
		fmt.Fprintf(w, "| ours/bare | %s | %s | %s (target ≤ %.2f×) | %s |\n\n",
			ratio(float64(o.P50), float64(b.P50)), ratio(float64(o.P90), float64(b.P90)), ratio(float64(o.P99), float64(b.P99)), targetReactionP99, ratio(float64(o.Max), float64(b.Max)))
	}
	if len(r.Punctuality) > 0 {
		fmt.Fprintf(w, "### 3. Punctuality\n\nLateness of each send: scheduled time to the provider call (ours: the message's `sent_at − scheduled_at`; bare: a timer, then an activity that notes the time). Target p99 < 2 s at N = 10,000 in 15 minutes.\n\n")
		fmt.Fprintf(w, "| N | window | side | p50 | p99 | max | missed |\n|---|---|---|---|---|---|---|\n")
		for _, p := range r.Punctuality {
			b, o := Summarize(p.Bare), Summarize(p.Ours)
			fmt.Fprintf(w, "| %d | %s | bare | %s | %s | %s | %d |\n", p.N, p.Window, ms(b.P50), ms(b.P99), ms(b.Max), p.BareMissed)
			fmt.Fprintf(w, "| %d | %s | ours | %s | %s | %s | %d |\n", p.N, p.Window, ms(o.P50), ms(o.P99), ms(o.Max), p.OursMissed)
		}
		if r.LatenessSVG != "" {
			fmt.Fprintf(w, "\n![lateness distribution](%s)\n\n", r.LatenessSVG)
		} else {
			fmt.Fprintln(w)
		}
	}
	if c := r.Capacity; c != nil {
		fmt.Fprintf(w, "### 4. Capacity\n\nGrowth of the one bench process (embedded server, worker and API together) and of the databases after starting %d open, sleeping workflows of each kind.\n\n", c.N)
		fmt.Fprintf(w, "| | open | RSS per 10,000 | Go heap per 10,000 | Temporal DB per workflow | app DB per invoice | start time |\n|---|---|---|---|---|---|---|\n")
		for _, row := range []struct {
			name string
			s    CapacitySample
		}{{"bare", c.Bare}, {"ours", c.Ours}} {
			app := perOne(row.s.AppDB, c.N)
			if row.name == "bare" {
				app = "–"
			}
			took := row.s.Took.Round(time.Millisecond).String()
			if row.s.Retries > 0 {
				took += fmt.Sprintf(" (%d retried)", row.s.Retries)
			}
			fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s | %s |\n", row.name, c.N, perTenK(row.s.RSS, c.N), perTenK(row.s.Heap, c.N),
				perOne(row.s.TemporalDB, c.N), app, took)
		}
		fmt.Fprintln(w)
		if c.Bare.TemporalDB > 0 {
			fmt.Fprintf(w, "Temporal's bytes per open invoice, ours/bare: %s (target ≤ %.1f×). ", ratio(float64(c.Ours.TemporalDB), float64(c.Bare.TemporalDB)), targetBytesRatio)
		}
		if c.TemporalMeasure != "" {
			fmt.Fprintf(w, "Temporal DB: %s; app DB: %s.", c.TemporalMeasure, c.AppMeasure)
			if c.Bare.TemporalVisibility != 0 || c.Ours.TemporalVisibility != 0 {
				fmt.Fprintf(w, " Of Temporal's bytes per workflow, visibility (a row with an index on each search attribute column) holds %s bare and %s ours.",
					perOne(c.Bare.TemporalVisibility, c.N), perOne(c.Ours.TemporalVisibility, c.N))
			}
			if c.StickyCache > 0 && c.N > c.StickyCache {
				fmt.Fprintf(w, " Above %d open workflows the worker's sticky cache is full and stops growing, so memory per 10,000 is averaged over more workflows than it holds; the disk figures keep their meaning.", c.StickyCache)
			}
			fmt.Fprintf(w, "\n\n")
		}
	}
	if len(r.Cost) > 0 {
		fmt.Fprintf(w, "### 5. Cost per invoice\n\nHistory of one workflow run, and its billable actions on Temporal Cloud counted from it (the rule: %s, below); for 10,000 invoices a month, the actions times 10,000, priced at $%d a million (the first tier's pay-as-you-go price, %s, read %s). Target: issued → reminded → paid in at most %d events.\n\n",
			actionsSource, actionPricePerMillion, actionPriceSource, actionPriceRead, targetRemindPaid)
		fmt.Fprintf(w, "| path | history events | history bytes | billable actions | per 10,000 invoices a month | events by kind | actions by kind |\n|---|---|---|---|---|---|---|\n")
		for _, c := range r.Cost {
			n := actionsOf(c)
			fmt.Fprintf(w, "| %s | %d | %d | %d | %s | %s | %s |\n", c.Path, c.Events, c.Bytes, n, perMonth(n), kindsLine(c.Kinds), actionsLine(c.History))
		}
		fmt.Fprintln(w)
	}
}

// SVG draws the cumulative distribution of lateness, one line per side and
// N: how many sends (y, %) were at most x late.
func (r *Results) SVG(w io.Writer) {
	const (
		width, height          = 720, 420
		left, right, top, bott = 70, 190, 40, 50
	)
	pw, ph := float64(width-left-right), float64(height-top-bott)
	var maxLate time.Duration
	type series struct {
		name string
		d    []time.Duration
	}
	var all []series
	for _, p := range r.Punctuality {
		for _, s := range []series{{fmt.Sprintf("bare, N=%d", p.N), p.Bare}, {fmt.Sprintf("ours, N=%d", p.N), p.Ours}} {
			if len(s.d) == 0 {
				continue
			}
			s.d = slices.Clone(s.d)
			slices.Sort(s.d)
			all = append(all, s)
			maxLate = max(maxLate, s.d[len(s.d)-1])
		}
	}
	xmax := niceCeil(float64(maxLate) / float64(time.Millisecond))
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(w, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	fmt.Fprintf(w, `<text x="%d" y="22" font-size="15">Reminder lateness: share of sends at most x late</text>`+"\n", left)
	// Axes and grid.
	for i := 0; i <= 4; i++ {
		y := float64(top) + ph - ph*float64(i)/4
		fmt.Fprintf(w, `<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", left, y, float64(left)+pw, y)
		fmt.Fprintf(w, `<text x="%d" y="%.1f" text-anchor="end">%d%%</text>`+"\n", left-6, y+4, i*25)
	}
	for i := 0; i <= 5; i++ {
		x := float64(left) + pw*float64(i)/5
		fmt.Fprintf(w, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", x, top, x, float64(top)+ph)
		fmt.Fprintf(w, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", x, float64(top)+ph+18, fmtMs(xmax*float64(i)/5))
	}
	fmt.Fprintf(w, `<text x="%.1f" y="%d" text-anchor="middle">lateness (scheduled time → provider call)</text>`+"\n", float64(left)+pw/2, height-8)
	colors := []string{"#888888", "#1f77b4", "#bbbbbb", "#d62728", "#555555", "#2ca02c"}
	for i, s := range all {
		var pts strings.Builder
		n := len(s.d)
		step := max(1, n/400) // at most ~400 points a line
		for j := 0; j < n; j += step {
			writePoint(&pts, s.d[j], float64(j+1)/float64(n), xmax, left, top, pw, ph)
		}
		writePoint(&pts, s.d[n-1], 1, xmax, left, top, pw, ph)
		color := colors[i%len(colors)]
		dash := ""
		if strings.HasPrefix(s.name, "bare") {
			dash = ` stroke-dasharray="5,3"`
		}
		fmt.Fprintf(w, `<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>`+"\n", color, dash, strings.TrimSpace(pts.String()))
		ly := top + 10 + 18*i
		fmt.Fprintf(w, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/>`+"\n", width-right+15, ly, width-right+40, ly, color, dash)
		fmt.Fprintf(w, `<text x="%d" y="%d">%s</text>`+"\n", width-right+46, ly+4, s.name)
	}
	if len(all) == 0 {
		fmt.Fprintf(w, `<text x="%.1f" y="%.1f" text-anchor="middle">no punctuality run</text>`+"\n", float64(left)+pw/2, float64(top)+ph/2)
	}
	fmt.Fprintln(w, "</svg>")
}

func writePoint(b *strings.Builder, d time.Duration, frac, xmax float64, left, top int, pw, ph float64) {
	x := float64(left) + pw*math.Min(float64(d)/float64(time.Millisecond)/xmax, 1)
	y := float64(top) + ph - ph*frac
	fmt.Fprintf(b, "%.1f,%.1f ", x, y)
}

// niceCeil rounds v (ms) up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func fmtMs(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%g s", v/1000)
	}
	return fmt.Sprintf("%g ms", v)
}
