package policy

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestStandardScheduleFollowsTheSixStages(t *testing.T) {
	issued := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	due := issued.AddDate(0, 0, 30)
	got := map[string]time.Time{}
	for _, p := range Standard().Schedule(issued, due) {
		got[p.Step.ID] = p.At
	}
	want := map[string]time.Time{
		"notify":           issued,
		"confirm-delivery": issued.Add(3 * day),
		"remind":           due.Add(-7 * day),
		"inquire":          due.Add(1 * day),
		"overdue-15":       due.Add(15 * day),
		"overdue-30":       due.Add(30 * day),
		"escalate":         due.Add(45 * day),
		"agency":           due.Add(90 * day),
	}
	if len(got) != len(want) {
		t.Fatalf("steps %v", got)
	}
	for id, at := range want {
		if !got[id].Equal(at) {
			t.Errorf("%s at %s, want %s", id, got[id], at)
		}
	}
}

func TestScheduleNeverRunsBackwards(t *testing.T) {
	// Due two days after issue: the reminder (due - 7d) would fall before
	// the delivery check (issue + 3d); it moves to that step's time instead.
	issued := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	plan := Standard().Schedule(issued, issued.Add(2*day))
	if plan[2].Step.ID != "remind" || !plan[2].At.Equal(issued.Add(3*day)) {
		t.Fatalf("%s at %s, want remind at %s", plan[2].Step.ID, plan[2].At, issued.Add(3*day))
	}
	for i := 1; i < len(plan); i++ {
		if plan[i].At.Before(plan[i-1].At) {
			t.Fatalf("step %s before %s", plan[i].Step.ID, plan[i-1].Step.ID)
		}
	}
}

func TestBuiltinPoliciesAreValid(t *testing.T) {
	for _, name := range []string{"standard", "demo"} {
		p, ok := Builtin(name)
		if !ok {
			t.Fatalf("%s missing", name)
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if _, ok := Builtin("nope"); ok {
		t.Fatal("unknown policy found")
	}
	demo := Demo().Schedule(time.Unix(0, 0), time.Unix(0, 0).Add(30*day))
	if last := demo[len(demo)-1].At.Sub(time.Unix(0, 0)); last > 2*time.Minute {
		t.Fatalf("demo takes %s, want about a minute", last)
	}
}

func TestValidateNamesTheProblem(t *testing.T) {
	cases := []struct {
		name   string
		change func(*Policy)
		want   string
	}{
		{"no name", func(p *Policy) { p.Name = "" }, "name:"},
		{"no version", func(p *Policy) { p.Version = 0 }, "version:"},
		{"no steps", func(p *Policy) { p.Steps = nil }, "steps:"},
		{"duplicate id", func(p *Policy) { p.Steps[1].ID = "notify" }, `steps[1].id: "notify" is used twice`},
		{"unknown channel", func(p *Policy) { p.Steps[2].Channels = []Channel{"fax"} }, `steps[2].channels: unknown channel "fax"`},
		{"unknown template", func(p *Policy) { p.Steps[0].Template = "poem" }, `steps[0].template: unknown template "poem"`},
		{"bad anchor", func(p *Policy) { p.Steps[0].Anchor = "whenever" }, "steps[0].anchor"},
		{"out of order", func(p *Policy) { p.Steps[3].Offset = D(-10 * day) }, "steps[3].offset"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := Standard()
			tc.change(&p)
			err := p.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestDuration(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		str  string
	}{
		{"7d", 7 * day, "7d"},
		{"-7d", -7 * day, "-7d"},
		{"36h", 36 * time.Hour, "1d12h0m0s"},
		{"1d12h", 36 * time.Hour, "1d12h0m0s"},
		{"30s", 30 * time.Second, "30s"},
		{"0", 0, "0s"},
		{"-90m", -90 * time.Minute, "-1h30m0s"},
	}
	for _, tc := range cases {
		d, err := ParseDuration(tc.in)
		if err != nil || d.Std() != tc.want || d.String() != tc.str {
			t.Errorf("%q: %v %v %q", tc.in, d.Std(), err, d.String())
		}
		back, err := ParseDuration(d.String())
		if err != nil || back != d {
			t.Errorf("%q does not round-trip: %v %v", tc.in, back, err)
		}
	}
	for _, bad := range []string{"", "d", "7x", "1.5d", "--7d", "7d-3h", "99999d"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestPolicyJSONRoundTrip(t *testing.T) {
	raw, err := json.Marshal(Standard())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"offset":"-7d"`) {
		t.Fatalf("offsets are written as durations: %s", raw)
	}
	var back Policy
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if err := back.Validate(); err != nil || back.Steps[2].Offset != D(-7*day) {
		t.Fatalf("round trip: %+v %v", back.Steps[2], err)
	}
	if err := json.Unmarshal([]byte(`{"offset": 7}`), &Step{}); err == nil {
		t.Fatal("a number offset must be refused")
	}
}

func TestRepeatsAreScheduledWithTheirOwnKeys(t *testing.T) {
	p := Standard()
	p.Steps[5].Repeat = &Repeat{Every: D(5 * day), Times: 2} // overdue-30, then twice more
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	issued := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	due := issued.AddDate(0, 0, 30)
	var got []string
	for _, o := range p.Schedule(issued, due) {
		if strings.HasPrefix(o.Key, "overdue-30") {
			got = append(got, o.Key+"@"+o.At.Sub(due).String())
		}
	}
	want := "overdue-30@720h0m0s overdue-30#2@840h0m0s overdue-30#3@960h0m0s"
	if strings.Join(got, " ") != want {
		t.Fatalf("got %v, want %s", got, want)
	}
	p.Steps[5].Repeat = &Repeat{Every: D(5 * day)}
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "steps[5].repeat") {
		t.Fatalf("a repeat with no times: %v", err)
	}
}
