package policy

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/collections-engine/collections/invoice"
	"sigs.k8s.io/yaml"
)

// gentle is testdata/policies/gentle.yaml written in Go.
func gentle() Policy {
	return Policy{
		Name: "gentle", Version: 1,
		Description: "A gentler schedule for good customers: a friendly reminder three days before the due date, " +
			"a friendly inquiry three days after it, two firm reminders, management at 60 days and the agency at 120.",
		Steps: []Step{
			{ID: "notify", Stage: invoice.StageNotified, Anchor: AnchorIssue, Offset: 0, Channels: []Channel{Email}, Template: "invoice", Tone: Neutral},
			{ID: "remind", Stage: invoice.StageReminded, Anchor: AnchorDue, Offset: D(-3 * day), Channels: []Channel{Email}, Template: "reminder", Tone: Friendly},
			{ID: "inquire", Stage: invoice.StageInquired, Anchor: AnchorDue, Offset: D(3 * day), Channels: []Channel{Email}, Template: "inquiry", Tone: Friendly},
			{ID: "overdue-20", Stage: invoice.StagePressing, Anchor: AnchorDue, Offset: D(20 * day), Channels: []Channel{Email, SMS}, Template: "firm", Tone: Firm},
			{ID: "overdue-40", Stage: invoice.StagePressing, Anchor: AnchorDue, Offset: D(40 * day), Channels: []Channel{Email, SMS}, Template: "firm", Tone: Firm},
			{ID: "escalate", Stage: invoice.StageEscalated, Action: ActionEscalate, Anchor: AnchorDue, Offset: D(60 * day), Channels: []Channel{Email, SMS}, Template: "final_notice", Tone: Final},
			{ID: "agency", Stage: invoice.StageAgency, Action: ActionAgency, Anchor: AnchorDue, Offset: D(120 * day)},
		},
		FinalNoticeDeadline: D(21 * day),
		EscalationDefault:   DecisionWriteOff,
		DisputeDeadline:     D(21 * day),
		PromiseGrace:        D(5 * day),
		Calendar: Calendar{WindowStart: "10:00", WindowEnd: "16:00",
			Days: []string{"mon", "tue", "wed", "thu", "fri"}, Spread: D(time.Hour)},
	}
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseBuiltinsRoundTrip(t *testing.T) {
	for _, p := range []Policy{Standard(), Demo(), gentle()} {
		raw, err := json.MarshalIndent(p, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		back, err := Parse(raw)
		if err != nil {
			t.Fatalf("%s as JSON: %v\n%s", p.Name, err, raw)
		}
		if !reflect.DeepEqual(back, p) {
			t.Fatalf("%s as JSON parses to\n%+v\nwant\n%+v", p.Name, back, p)
		}
		y, err := yaml.JSONToYAML(raw)
		if err != nil {
			t.Fatal(err)
		}
		back, err = Parse(y)
		if err != nil {
			t.Fatalf("%s as YAML: %v\n%s", p.Name, err, y)
		}
		if !reflect.DeepEqual(back, p) {
			t.Fatalf("%s as YAML parses to\n%+v\nwant\n%+v", p.Name, back, p)
		}
	}
}

func TestParseGentle(t *testing.T) {
	p, err := Parse(readFile(t, "testdata/policies/gentle.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, gentle()) {
		t.Fatalf("gentle.yaml parses to\n%+v\nwant\n%+v", p, gentle())
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	issued := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	plan := p.Schedule(issued, issued.AddDate(0, 0, 30))
	if len(plan) != 7 || plan[6].Step.ID != "agency" || !plan[6].At.Equal(issued.AddDate(0, 0, 150)) {
		t.Fatalf("plan %+v", plan)
	}
}

func TestParseBadDocuments(t *testing.T) {
	want := map[string]string{
		"bad-holiday.json":              `calendar.holidays[1]: "2026-13-01" is not a date (YYYY-MM-DD)`,
		"bad-offset.yaml":               `steps[1].offset: invalid duration "3 days"`,
		"duplicate-key.yaml":            `key "name" already set`,
		"escalate-without-deadline.yml": "final_notice_deadline: an escalate step needs a positive deadline",
		"missing-version.json":          "version: must be 1 or more",
		"not-yaml.yaml":                 "not a YAML or JSON document",
		"number-offset.yaml":            `steps[0].offset: write a duration as a string such as "7d", "-3d" or "36h", not the number 0`,
		"spread-too-long.yaml":          "calendar.spread: 7h0m0s is longer than the window 10:00 to 16:00 (6h0m0s)",
		"steps-not-a-list.yaml":         `steps: must be a list, not the string "notify"`,
		"two-documents.yaml":            "line 35: a second YAML document",
		"unknown-anchor.yaml":           `steps[1].anchor: must be "issue" or "due", not "paid"`,
		"unknown-day.yaml":              `calendar.days[4]: unknown day "fry"`,
		"unknown-field.yaml":            "steps[2].tmplate: unknown field (id, stage, action, anchor, offset, channels, template, tone, repeat, task)",
		"unknown-template.yaml":         `steps[1].template: unknown template "poem"`,
		"unknown-top-level-field.yaml":  "escalation_deadline: unknown field (name, version, description, steps, ",
		"version-a-string.yaml":         `version: must be a whole number, not the string "1"`,
		"window-across-midnight.yaml":   `calendar.window_end: "06:00" must be after window_start "10:00"`,
	}
	entries, err := os.ReadDir("testdata/bad")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(want) {
		t.Errorf("%d files in testdata/bad, %d expected errors", len(entries), len(want))
	}
	for _, e := range entries {
		t.Run(e.Name(), func(t *testing.T) {
			w, ok := want[e.Name()]
			if !ok {
				t.Fatal("no expected error for this file")
			}
			_, err := Parse(readFile(t, filepath.Join("testdata/bad", e.Name())))
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Fatalf("got %v, want it to mention %q", err, w)
			}
		})
	}
}

func TestParseErrorsNameTheField(t *testing.T) {
	valid := func(edit func(map[string]any)) []byte {
		var m map[string]any
		raw, _ := json.Marshal(gentle())
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		out, _ := json.Marshal(m)
		return out
	}
	step := func(m map[string]any, i int) map[string]any { return m["steps"].([]any)[i].(map[string]any) }
	cases := []struct {
		name string
		doc  []byte
		want string
	}{
		{"odd key", []byte("name: a\n\"my key: x\": 1\n"), `"my key: x": unknown field`},
		{"empty", []byte(""), "empty document"},
		{"only comments", []byte("# nothing\n"), "empty document"},
		{"null", []byte("null"), "empty document"},
		{"a list", []byte("[1, 2]"), "a policy document must be a mapping"},
		{"a string", []byte("gentle"), "a policy document must be a mapping"},
		{"unknown calendar field", valid(func(m map[string]any) { m["calendar"].(map[string]any)["timezone"] = "UTC" }),
			"calendar.timezone: unknown field (window_start, window_end, days, holidays, spread)"},
		{"field in another case", valid(func(m map[string]any) { m["Name"] = m["name"]; delete(m, "name") }), "Name: unknown field"},
		{"unknown repeat field", valid(func(m map[string]any) { step(m, 1)["repeat"] = map[string]any{"every": "7d", "count": 2} }),
			"steps[1].repeat.count: unknown field (every, times)"},
		{"bad repeat duration", valid(func(m map[string]any) { step(m, 1)["repeat"] = map[string]any{"every": "weekly", "times": 2} }),
			`steps[1].repeat.every: invalid duration "weekly"`},
		{"repeat never", valid(func(m map[string]any) { step(m, 1)["repeat"] = map[string]any{"every": "7d", "times": 0} }),
			"steps[1].repeat: every must be positive and times at least 1"},
		{"null offset", valid(func(m map[string]any) { step(m, 3)["offset"] = nil }), "steps[3].offset: write a duration as a string"},
		{"empty offset", valid(func(m map[string]any) { step(m, 3)["offset"] = "" }), "steps[3].offset: empty duration"},
		{"overflowing duration", valid(func(m map[string]any) { m["promise_grace"] = "3650d2562000h" }), `promise_grace: duration "3650d2562000h" is out of range`},
		{"a mapping for a string", valid(func(m map[string]any) { m["name"] = map[string]any{"en": "gentle"} }), "name: must be a string, not a mapping"},
		{"a number for a string", []byte("name: 7\nversion: 1\n"), "name: must be a string, not the number 7 (quote it)"},
		{"yes for a string", []byte("name: yes\nversion: 1\n"), "name: must be a string, not true"},
		{"a fractional version", valid(func(m map[string]any) { m["version"] = 1.5 }), "version: must be a whole number, not 1.5"},
		{"a list for a mapping", valid(func(m map[string]any) { m["calendar"] = []any{} }), "calendar: must be a mapping, not a list"},
		{"a string for a list", valid(func(m map[string]any) { step(m, 0)["channels"] = "email" }), `steps[0].channels: must be a list, not the string "email"`},
		{"unknown channel", valid(func(m map[string]any) { step(m, 0)["channels"] = []any{"fax"} }), `steps[0].channels: unknown channel "fax"`},
		{"JSON key twice", []byte(`{"name": "a", "steps": [{"id": "x", "id": "y"}]}`), "steps[0].id: given twice"},
		{"YAML key twice", []byte("name: a\ncalendar:\n  spread: 1h\n  spread: 2h\n"), `key "spread" already set`},
		{"two documents after an end marker", []byte("name: a\n...\nname: b\n"), "line 3: a second YAML document"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.doc)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want it to mention %q\n%s", err, tc.want, tc.doc)
			}
		})
	}
}

func TestParseAcceptsJSONAndYAMLForms(t *testing.T) {
	raw, _ := json.Marshal(gentle())
	escaped := strings.Replace(string(raw), `"description":"A gentler`, `"description":"A\/B \ud83d\ude00 gentler`, 1)
	p, err := Parse([]byte(escaped))
	if err != nil || !strings.HasPrefix(p.Description, "A/B \U0001F600 gentler") {
		t.Fatalf("JSON escapes YAML does not know: %v %q", err, p.Description)
	}
	// A leading document marker, a directive, a byte-order mark, CRLF line
	// ends, unquoted times and flow style are all fine.
	doc := readFile(t, "testdata/policies/gentle.yaml")
	variants := map[string]string{
		"document marker": "---\n" + string(doc) + "...\n",
		"directive":       "%YAML 1.1\n---\n" + string(doc),
		"byte-order mark": "\ufeff" + string(doc),
		"CRLF":            strings.ReplaceAll(string(doc), "\n", "\r\n"),
		"unquoted times":  strings.NewReplacer(`"10:00"`, "10:00", `"16:00"`, "16:00").Replace(string(doc)),
	}
	for name, v := range variants {
		p, err := Parse([]byte(v))
		if err != nil || !reflect.DeepEqual(p, gentle()) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Empty lists are absent lists, so that a parsed policy survives being
	// written out and read again.
	p, err = Parse([]byte(strings.Replace(string(raw), `"spread"`, `"holidays":[],"spread"`, 1)))
	if err != nil || p.Calendar.Holidays != nil {
		t.Fatalf("empty holidays: %v %#v", err, p.Calendar.Holidays)
	}
}

// A document that reads but does not validate comes back with the error,
// so that the API can complete it (a new version of a policy may leave its
// version out); one that does not read comes back empty.
func TestParseReturnsWhatItRead(t *testing.T) {
	doc := strings.Replace(string(readFile(t, "testdata/policies/gentle.yaml")), "version: 1\n", "", 1)
	p, err := Parse([]byte(doc))
	if err == nil || !strings.HasPrefix(err.Error(), "version: ") || p.Name != "gentle" || len(p.Steps) != 7 {
		t.Fatalf("got %v, %+v", err, p)
	}
	p.Version = 1
	if !reflect.DeepEqual(p, gentle()) || p.Validate() != nil {
		t.Fatalf("completed: %+v", p)
	}
	for _, name := range []string{"unknown-field.yaml", "number-offset.yaml", "not-yaml.yaml", "two-documents.yaml"} {
		p, err := Parse(readFile(t, filepath.Join("testdata/bad", name)))
		if err == nil || !reflect.DeepEqual(p, Policy{}) {
			t.Fatalf("%s: %v, %+v", name, err, p)
		}
	}
}

func TestLoadDir(t *testing.T) {
	ps, err := LoadDir("testdata/policies")
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || !reflect.DeepEqual(ps[0], gentle()) {
		t.Fatalf("loaded %+v", ps)
	}

	_, err = LoadDir("testdata/bad")
	if want := filepath.Join("testdata", "bad", "bad-holiday.json") + ": calendar.holidays[1]: "; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("got %v, want it to start %q", err, want)
	}
	if _, err := LoadDir("testdata/missing"); err == nil {
		t.Fatal("a missing directory loads")
	}
}

func TestLoadDirOrderAndDuplicates(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, p Policy) {
		raw, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml") {
			if raw, err = yaml.JSONToYAML(raw); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, name), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	g2 := gentle()
	g2.Version = 2
	write("b-standard.json", Standard())
	write("a-gentle.yaml", gentle())
	write("c-gentle-2.yml", g2)
	write("notes.txt", Policy{})    // not a policy file
	write(".hidden.yaml", Policy{}) // hidden
	if err := os.Mkdir(filepath.Join(dir, "old.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(filepath.Join("old.yaml", "x.yaml"), Policy{}) // not recursive

	ps, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range ps {
		got = append(got, fmt.Sprintf("%s@%d", p.Name, p.Version))
	}
	if strings.Join(got, " ") != "gentle@1 standard@1 gentle@2" {
		t.Fatalf("loaded %v", got)
	}

	write("d-gentle-again.json", gentle())
	_, err = LoadDir(dir)
	want := filepath.Join(dir, "d-gentle-again.json") + `: policy "gentle" version 1 is already defined in ` + filepath.Join(dir, "a-gentle.yaml")
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}

	empty := t.TempDir()
	if ps, err := LoadDir(empty); err != nil || len(ps) != 0 {
		t.Fatalf("empty directory: %v %v", ps, err)
	}
}

func FuzzParse(f *testing.F) {
	for _, dir := range []string{"testdata/policies", "testdata/bad"} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			f.Fatal(err)
		}
		for _, e := range entries {
			f.Add(readFile(f, filepath.Join(dir, e.Name())))
		}
	}
	for _, p := range []Policy{Standard(), Demo()} {
		raw, _ := json.Marshal(p)
		f.Add(raw)
	}
	f.Add([]byte("name: a\nversion: 1\nsteps:\n  - {id: x, anchor: due, offset: 1d, action: agency, repeat: {every: 36h, times: 2}}\ncalendar: {days: [], holidays: []}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("parsed but invalid: %v", err)
		}
		raw, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Parse(raw)
		if err != nil {
			t.Fatalf("re-marshalled policy does not parse: %v\n%s", err, raw)
		}
		if !reflect.DeepEqual(back, p) {
			t.Fatalf("re-marshalled policy parses to\n%#v\nwant\n%#v", back, p)
		}
	})
}
