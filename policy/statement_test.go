package policy

import (
	"strings"
	"testing"
	"time"
)

// Re-bill monthly, as docs/policies.md writes it: a statement step with a
// monthly repeat parses, validates and is planned every 30 days.
func TestReBillMonthlyStep(t *testing.T) {
	doc := strings.Replace(string(readFile(t, "testdata/policies/gentle.yaml")), "  - id: inquire\n", `  - id: statement
    anchor: due
    offset: 1d
    channels: [email]
    template: statement
    tone: neutral
    repeat: {every: 30d, times: 11}

  - id: inquire
`, 1)
	p, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	issued := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	due := issued.AddDate(0, 0, 30)
	var at []time.Time
	for _, s := range p.Schedule(issued, due) {
		if s.Step.ID == "statement" {
			at = append(at, s.At)
			if s.Step.Template != "statement" || s.Step.Stage != "" {
				t.Errorf("planned %+v", s.Step)
			}
		}
	}
	if len(at) != 12 || !at[0].Equal(due.AddDate(0, 0, 1)) || !at[1].Equal(due.AddDate(0, 0, 31)) {
		t.Fatalf("statements planned at %v", at)
	}
}
