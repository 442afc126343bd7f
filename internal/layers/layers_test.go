package layers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// tiers is the direction of every import in the module, top to bottom. A
// package may import its own component (a pattern's package and its
// subpackages), or a component of a strictly lower tier; never one above,
// and never another of its own tier unless the tier is marked peers (the
// front doors may share code; the compiler still rules out cycles).
// "x/..." is x and everything under it; a name without "/..." is that
// package alone. Every package of the module must be placed here: a new
// package fails the check until it is given a tier. Packages named here
// that do not exist yet are where they will go.
var tiers = []struct {
	name string
	pkgs []string
}{
	{"commands and checks", []string{"cmd/...", "bench/...", "internal/layers", "internal/deploy/..."}},
	{"development stack", []string{"internal/devstack/..."}},
	{"composition root", []string{"internal/app/..."}},
	{"front doors", []string{"api/...", "hooks/...", "deskpage/...", "portal/...", "worker/..."}},
	{"use cases", []string{"collect/..."}},
	{"workflows", []string{"workflows/..."}},
	{"activities", []string{"activities/..."}},
	{"domain services", []string{"desk/...", "reports/...", "credit", "outbound/...", "documents/..."}},
	{"policy lookup", []string{"internal/policies/..."}},
	{"infrastructure", []string{"db/...", "channels/...", "webhooks/...", "codec/...", "metrics/...",
		"internal/logging/...", "internal/tracing/...", "internal/devserver/...", "internal/fakeprovider/...", "internal/keys/...", "internal/portallink/...", "checkout/..."}},
	{"domain", []string{"policy/...", "money/...", "templates/...", "credit/application/..."}},
	{"vocabulary", []string{"invoice/..."}},
}

// peers are the tiers whose components may import each other.
var peers = map[string]bool{"front doors": true}

// skips are imports the tiers alone would allow, ruled out: a component
// that must not reach a lower tier directly.
var skips = []struct{ from, tier, why string }{
	{"workflows/...", "infrastructure", "a workflow reaches the database, providers and telemetry only through activities"},
}

// pkg is what `go list -json` says of a package.
type pkg struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Imports    []string
	Module     *struct{ Path string }
}

func TestImportsPointDown(t *testing.T) {
	module, pkgs := list(t)
	if len(pkgs) == 0 {
		t.Fatal("go list found no packages")
	}
	for _, p := range pkgs {
		from, ok := place(strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/"))
		if !ok {
			t.Errorf("%s is in no tier: give it one in internal/layers/layers_test.go", p.ImportPath)
			continue
		}
		for _, imp := range p.Imports {
			if imp != module && !strings.HasPrefix(imp, module+"/") {
				continue
			}
			to, ok := place(strings.TrimPrefix(strings.TrimPrefix(imp, module), "/"))
			if !ok {
				continue // reported as a package of its own
			}
			if msg := check(from, to); msg != "" {
				t.Errorf("%s imports %s: %s", p.ImportPath, imp, msg)
			}
		}
	}
}

// placement is where a package sits: its tier and its component (the
// pattern that matched it).
type placement struct {
	tier      int
	component string
}

func place(rel string) (placement, bool) {
	for i, tr := range tiers {
		for _, pat := range tr.pkgs {
			if match(pat, rel) {
				return placement{i, pat}, true
			}
		}
	}
	return placement{}, false
}

func match(pattern, rel string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return rel == base || strings.HasPrefix(rel, base+"/")
	}
	return rel == pattern
}

// check says why an import from one placement to another runs against the
// layers, or "" when it points down.
func check(from, to placement) string {
	switch {
	case from.component == to.component:
		return ""
	case to.tier < from.tier:
		return "it points up, from " + tiers[from.tier].name + " to " + tiers[to.tier].name
	case to.tier == from.tier && !peers[tiers[from.tier].name]:
		return "it points sideways, within " + tiers[from.tier].name + ": move the shared part down a tier"
	}
	for _, s := range skips {
		if match(s.from, from.component) && tiers[to.tier].name == s.tier {
			return s.why
		}
	}
	return ""
}

// list runs `go list -json` over the whole module and returns its path and
// its packages (production imports only: a test may set up what it needs).
func list(t *testing.T) (string, []pkg) {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Dir,GoFiles,Imports,Module", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var (
		module string
		pkgs   []pkg
	)
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		// go test caches a passing result keyed on the files a test
		// touches, and go list's reads are not the test's own: stating
		// every source file and directory makes an edit invalidate it.
		for _, f := range append([]string{"."}, p.GoFiles...) {
			_, _ = os.Stat(filepath.Join(p.Dir, f))
		}
		if p.Module != nil {
			module = p.Module.Path
		}
		pkgs = append(pkgs, p)
	}
	if module == "" {
		t.Fatal("go list named no module")
	}
	return module, pkgs
}

// The rule itself: a few imports it must refuse and allow.
func TestCheckRefusesImportsThatRunBackUp(t *testing.T) {
	cases := []struct {
		from, to string
		ok       bool
	}{
		{"workflows", "activities", true},
		{"workflows", "invoice", true},
		{"workflows", "credit", true},
		{"workflows", "db", false},
		{"workflows", "channels", false},
		{"activities", "workflows", false},
		{"db", "api", false},
		{"desk", "collect", false},
		{"collect", "workflows", true},
		{"api", "collect", true},
		{"api", "deskpage", true},
		{"desk", "reports", false},
		{"db", "db/migrations", true},
		{"db", "credit/application", true},
		{"credit/application", "credit", false},
		{"policy", "invoice", true},
		{"invoice", "policy", false},
	}
	for _, c := range cases {
		from, ok1 := place(c.from)
		to, ok2 := place(c.to)
		if !ok1 || !ok2 {
			t.Fatalf("%s or %s is in no tier", c.from, c.to)
		}
		if msg := check(from, to); (msg == "") != c.ok {
			t.Errorf("%s -> %s: allowed %v, want %v (%s)", c.from, c.to, msg == "", c.ok, msg)
		}
	}
}
