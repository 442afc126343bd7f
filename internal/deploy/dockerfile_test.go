package deploy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	dockerfile "github.com/moby/buildkit/frontend/dockerfile/parser"
)

// instruction is one parsed Dockerfile instruction.
type instruction struct {
	cmd   string   // lower-case keyword, e.g. "from"
	flags []string // e.g. --from=build
	args  []string // the arguments (for a shell-form RUN: the whole command)
	line  int
}

type stage struct {
	image, name string
	instrs      []instruction
}

// parseDockerfile parses the repository's Dockerfile with BuildKit's own
// parser (what `docker build` uses) and splits it into stages.
func parseDockerfile(t *testing.T) []stage {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := dockerfile.Parse(f)
	if err != nil {
		t.Fatalf("Dockerfile does not parse: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("Dockerfile: %s", w.Short)
	}
	var stages []stage
	for _, n := range res.AST.Children {
		in := instruction{cmd: strings.ToLower(n.Value), flags: n.Flags, line: n.StartLine}
		for a := n.Next; a != nil; a = a.Next {
			in.args = append(in.args, a.Value)
		}
		if in.cmd == "from" {
			s := stage{image: in.args[0]}
			if len(in.args) == 3 && strings.EqualFold(in.args[1], "as") {
				s.name = in.args[2]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			if in.cmd != "arg" {
				t.Errorf("line %d: %s before the first FROM", in.line, in.cmd)
			}
			continue
		}
		stages[len(stages)-1].instrs = append(stages[len(stages)-1].instrs, in)
	}
	return stages
}

func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t)
	if len(stages) != 2 {
		t.Fatalf("Dockerfile has %d stages, want a build stage and a final stage", len(stages))
	}
	build, final := stages[0], stages[1]

	// The build stage: the Go of go.mod, a static binary without the
	// embedded dev server.
	if build.name != "build" {
		t.Errorf("the first stage is named %q, want build", build.name)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(readFile(t, filepath.Join(repoRoot, "go.mod")))
	if goVersion == nil || build.image != "golang:"+goVersion[1] {
		t.Errorf("build stage is FROM %q, want golang:<go.mod's go version> (%v)", build.image, goVersion)
	}
	var compiles bool
	for _, in := range build.instrs {
		if in.cmd != "run" {
			continue
		}
		cmd := strings.Join(in.args, " ")
		fields := strings.Fields(cmd)
		if strings.Contains(cmd, "CGO_ENABLED=0 go build") && hasTag(fields, "nodev") && slices.Contains(fields, "./cmd/collections") &&
			slices.Contains(fields, "/out/collections") {
			compiles = true
		}
	}
	if !compiles {
		t.Errorf("build stage has no `RUN CGO_ENABLED=0 go build -tags nodev -o /out/collections ./cmd/collections`")
	}

	// The final stage: small, no Go toolchain, the binary only, non-root.
	if !strings.HasPrefix(final.image, "gcr.io/distroless/static") || !strings.HasSuffix(final.image, ":nonroot") {
		t.Errorf("final stage is FROM %q, want a distroless static nonroot image", final.image)
	}
	var user, entrypoint string
	var copies []string
	for _, in := range final.instrs {
		switch in.cmd {
		case "user":
			user = strings.Join(in.args, " ")
		case "entrypoint":
			entrypoint = strings.Join(in.args, " ")
		case "copy", "add":
			copies = append(copies, strings.Join(append(slices.Clone(in.flags), in.args...), " "))
		case "run":
			t.Errorf("line %d: the final stage runs %q; it has no shell", in.line, in.args)
		}
	}
	if name, _, _ := strings.Cut(user, ":"); name == "" || name == "root" || name == "0" {
		t.Errorf("final stage USER = %q, want a non-root user", user)
	}
	if !slices.Equal(copies, []string{"--from=build /out/collections /collections"}) {
		t.Errorf("final stage copies %q, want only the binary from the build stage", copies)
	}
	if entrypoint != "/collections" {
		t.Errorf("final stage ENTRYPOINT = %q, want /collections", entrypoint)
	}

	// Secrets never enter the build context.
	ignore := strings.Fields(readFile(t, filepath.Join(repoRoot, ".dockerignore")))
	for _, f := range []string{".env", "collections.env", ".git"} {
		if !slices.Contains(ignore, f) {
			t.Errorf(".dockerignore does not exclude %s", f)
		}
	}
}

// hasTag reports whether go build arguments select the given build tag via
// "-tags x,y" or "-tags=x,y".
func hasTag(fields []string, tag string) bool {
	for i, f := range fields {
		var list string
		switch {
		case f == "-tags" || f == "--tags":
			if i+1 < len(fields) {
				list = fields[i+1]
			}
		case strings.HasPrefix(f, "-tags=") || strings.HasPrefix(f, "--tags="):
			_, list, _ = strings.Cut(f, "=")
		}
		if slices.Contains(strings.Split(strings.Trim(list, `"'`), ","), tag) {
			return true
		}
	}
	return false
}

// The example env file lists every variable the binary reads: it finds them
// in the source (flag Sources cli.EnvVars(...), os.Getenv, os.LookupEnv and
// the channels' getter) and in the settings fixed for the whole project.
func TestEnvExampleListsEverySetting(t *testing.T) {
	example := readFile(t, filepath.Join(repoRoot, "deploy", "collections.env.example"))
	listed := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#?([A-Z][A-Z0-9_]+)=`).FindAllStringSubmatch(example, -1) {
		listed[m[1]] = true
	}
	read := sourceEnvVars(t)
	if len(read) < 20 {
		t.Fatalf("found only %d variables in the source; the scan is broken: %v", len(read), read)
	}
	for _, name := range append(read,
		"COLLECTIONS_CODEC_KEYS", "COLLECTIONS_CODEC_KEYS_FILE", "COLLECTIONS_CODEC", "CODEC_CORS_ORIGINS",
		"METRICS_ADDR", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME", "LOG_FORMAT", "LOG_LEVEL", "SHUTDOWN_TIMEOUT") {
		if !listed[name] {
			t.Errorf("deploy/collections.env.example does not list %s", name)
		}
	}
}

// sourceEnvVars returns the environment variables named by string literals
// in calls to EnvVars, Getenv, LookupEnv or get in non-test Go files.
func sourceEnvVars(t *testing.T) []string {
	t.Helper()
	seen := map[string]bool{}
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != repoRoot || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			var name string
			switch fn := call.Fun.(type) {
			case *ast.Ident:
				name = fn.Name
			case *ast.SelectorExpr:
				name = fn.Sel.Name
			}
			if !slices.Contains([]string{"EnvVars", "Getenv", "LookupEnv", "get"}, name) {
				return true
			}
			for _, arg := range call.Args {
				if lit, ok := arg.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					v, _ := strconv.Unquote(lit.Value)
					if regexp.MustCompile(`^[A-Z][A-Z0-9_]+$`).MatchString(v) && !strings.HasPrefix(v, "TEST_") {
						seen[v] = true
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return slices.Sorted(func(yield func(string) bool) {
		for k := range seen {
			if !yield(k) {
				return
			}
		}
	})
}
