package deploy

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// repoRoot is the repository root relative to this package's directory
// (go test runs with the package directory as working directory).
const repoRoot = "../.."

// loadCompose loads ../../docker-compose.yml the way `docker compose` does
// (schema validation, interpolation, normalisation, consistency checks), but
// with an empty environment and no .env file so the result does not depend on
// the machine running the test.
func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := cli.NewProjectOptions(
		[]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root),
		cli.WithName("collections"),
		cli.WithDiscardEnvFile,
	)
	if err != nil {
		t.Fatalf("compose options: %v", err)
	}
	project, err := cli.ProjectFromOptions(context.Background(), opts)
	if err != nil {
		t.Fatalf("loading docker-compose.yml: %v", err)
	}
	return project
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	svc, err := p.GetService(name)
	if err != nil {
		t.Fatalf("service %q: %v", name, err)
	}
	return svc
}

func TestComposeServices(t *testing.T) {
	p := loadCompose(t)

	want := []string{"postgres", "temporal", "temporal-ui", "migrate", "api", "worker"}
	for _, name := range want {
		if _, ok := p.Services[name]; !ok {
			t.Errorf("docker-compose.yml has no service %q (has %v)", name, p.ServiceNames())
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// The three application services are built from this repository and run
	// one subcommand of the same binary.
	for name, cmd := range map[string]string{"migrate": "migrate", "api": "api", "worker": "worker"} {
		svc := service(t, p, name)
		if svc.Build == nil {
			t.Errorf("service %q is not built from the repository (no build section)", name)
		}
		if !slices.Equal([]string(svc.Command), []string{cmd}) {
			t.Errorf("service %q command = %q, want [%q]", name, svc.Command, cmd)
		}
	}

	if got := service(t, p, "migrate").Restart; got != types.RestartPolicyNo {
		t.Errorf("migrate restart = %q, want %q (it is a one-shot job)", got, types.RestartPolicyNo)
	}
	if dep, ok := service(t, p, "migrate").DependsOn["postgres"]; !ok || dep.Condition != types.ServiceConditionHealthy {
		t.Errorf("migrate must depend on postgres with condition %s, got %+v", types.ServiceConditionHealthy, dep)
	}
}

func TestComposeAPIPublishes8080(t *testing.T) {
	api := service(t, loadCompose(t), "api")
	for _, port := range api.Ports {
		if port.Target == 8080 && port.Published == "8080" {
			return
		}
	}
	t.Errorf("api does not publish 8080:8080; ports = %+v", api.Ports)
}

func TestComposeAppDependencies(t *testing.T) {
	p := loadCompose(t)
	want := map[string]string{
		"temporal": types.ServiceConditionHealthy,
		"migrate":  types.ServiceConditionCompletedSuccessfully,
	}
	for _, name := range []string{"api", "worker"} {
		svc := service(t, p, name)
		for dep, cond := range want {
			got, ok := svc.DependsOn[dep]
			if !ok {
				t.Errorf("%s does not depend on %s", name, dep)
				continue
			}
			if got.Condition != cond {
				t.Errorf("%s depends on %s with condition %q, want %q", name, dep, got.Condition, cond)
			}
		}
	}
}

func TestComposeHealthchecks(t *testing.T) {
	p := loadCompose(t)
	for _, name := range []string{"postgres", "temporal", "api"} {
		hc := service(t, p, name).HealthCheck
		if hc == nil || hc.Disable || len(hc.Test) == 0 {
			t.Errorf("service %q has no healthcheck", name)
			continue
		}
		if hc.Test[0] == "NONE" {
			t.Errorf("service %q healthcheck is disabled (NONE)", name)
		}
	}

	// Spot-check what the healthchecks actually run.
	if hc := service(t, p, "postgres").HealthCheck; hc != nil && !slices.Contains(hc.Test, "pg_isready") {
		t.Errorf("postgres healthcheck should use pg_isready, got %q", hc.Test)
	}
	if hc := service(t, p, "temporal").HealthCheck; hc != nil {
		cmd := strings.Join(hc.Test, " ")
		if !strings.Contains(cmd, "temporal operator") && !strings.Contains(cmd, "tctl") {
			t.Errorf("temporal healthcheck should use the temporal CLI or tctl, got %q", hc.Test)
		}
	}
	if hc := service(t, p, "api").HealthCheck; hc != nil {
		if !strings.Contains(strings.Join(hc.Test, " "), "http://localhost:8080/healthz") {
			t.Errorf("api healthcheck should probe http://localhost:8080/healthz, got %q", hc.Test)
		}
	}
}

func TestComposeAppEnvironment(t *testing.T) {
	p := loadCompose(t)
	for _, name := range []string{"api", "worker"} {
		env := service(t, p, name).Environment
		for _, key := range []string{"DATABASE_URL", "TEMPORAL_ADDRESS"} {
			v, ok := env[key]
			if !ok || v == nil || *v == "" {
				t.Errorf("%s has no value for %s", name, key)
			}
		}
		if v := env["DATABASE_URL"]; v != nil {
			if !strings.HasPrefix(*v, "postgres://") || !strings.Contains(*v, "/collections") {
				t.Errorf("%s DATABASE_URL = %q, want a postgres:// URL for the collections database", name, *v)
			}
		}
		if v := env["TEMPORAL_ADDRESS"]; v != nil && *v != "temporal:7233" {
			t.Errorf("%s TEMPORAL_ADDRESS = %q, want temporal:7233", name, *v)
		}
	}
	if v := service(t, p, "migrate").Environment["DATABASE_URL"]; v == nil || *v == "" {
		t.Errorf("migrate has no DATABASE_URL")
	}
}

// The application database is created by an init script mounted from
// deploy/postgres-init.sql; make sure the mount and the file agree.
func TestComposePostgresInitScript(t *testing.T) {
	pg := service(t, loadCompose(t), "postgres")
	var found bool
	for _, v := range pg.Volumes {
		if strings.HasPrefix(v.Target, "/docker-entrypoint-initdb.d/") &&
			filepath.ToSlash(v.Source) == filepath.ToSlash(mustAbs(t, filepath.Join(repoRoot, "deploy", "postgres-init.sql"))) {
			found = true
		}
	}
	if !found {
		t.Errorf("postgres does not mount deploy/postgres-init.sql into /docker-entrypoint-initdb.d; volumes = %+v", pg.Volumes)
	}
	sql, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "postgres-init.sql"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(sql), "CREATE DATABASE collections") {
		t.Errorf("deploy/postgres-init.sql does not create the collections database")
	}
}

func mustAbs(t *testing.T, path string) string {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// dockerInstruction is one Dockerfile instruction with continuation lines
// joined and comments removed.
type dockerInstruction struct {
	line int    // line number where the instruction starts
	cmd  string // upper-cased instruction keyword, e.g. FROM
	args string // the rest of the instruction
}

// parseDockerfile does the minimum needed for the assertions below: it drops
// comments and blank lines, joins backslash continuations and splits each
// instruction into keyword and arguments. It does not expand ARGs.
func parseDockerfile(t *testing.T, path string) []dockerInstruction {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	var (
		out     []dockerInstruction
		pending strings.Builder
		start   int
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue // comments and blanks may appear inside continuations too
		}
		if pending.Len() == 0 {
			start = n
		} else {
			pending.WriteByte(' ')
		}
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			pending.WriteString(strings.TrimSpace(cont))
			continue
		}
		pending.WriteString(line)
		cmd, args, _ := strings.Cut(pending.String(), " ")
		out = append(out, dockerInstruction{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)})
		pending.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if pending.Len() != 0 {
		t.Fatalf("%s ends with an unterminated line continuation", path)
	}
	return out
}

func TestDockerfile(t *testing.T) {
	instrs := parseDockerfile(t, filepath.Join(repoRoot, "Dockerfile"))

	// Split into stages at every FROM.
	type stage struct {
		from   dockerInstruction
		name   string
		instrs []dockerInstruction
	}
	var stages []*stage
	for _, in := range instrs {
		if in.cmd == "FROM" {
			fields := strings.Fields(in.args)
			// Skip flags such as --platform=...
			for len(fields) > 0 && strings.HasPrefix(fields[0], "--") {
				fields = fields[1:]
			}
			s := &stage{from: in}
			if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
				s.name = fields[2]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			if in.cmd != "ARG" {
				t.Errorf("line %d: %s before the first FROM", in.line, in.cmd)
			}
			continue
		}
		stages[len(stages)-1].instrs = append(stages[len(stages)-1].instrs, in)
	}
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stages, want a multi-stage build (a build stage and a final stage)", len(stages))
	}

	var build *stage
	for _, s := range stages {
		if s.name == "build" {
			build = s
		}
	}
	if build == nil {
		t.Fatalf("Dockerfile has no `FROM ... AS build` stage")
	}
	if !strings.HasPrefix(build.from.args, "golang:") {
		t.Errorf("build stage is FROM %q, want a golang image", build.from.args)
	}
	var builds bool
	for _, in := range build.instrs {
		if in.cmd != "RUN" || !strings.Contains(in.args, "go build") {
			continue
		}
		fields := strings.Fields(in.args)
		if slices.Contains(fields, "./cmd/collections") && hasTag(fields, "nodev") && strings.Contains(in.args, "CGO_ENABLED=0") {
			builds = true
		}
	}
	if !builds {
		t.Errorf("build stage has no `RUN CGO_ENABLED=0 go build -tags nodev ... ./cmd/collections`")
	}

	final := stages[len(stages)-1]
	if final == build {
		t.Fatalf("the final stage is the build stage; want a separate runtime stage")
	}
	if strings.HasPrefix(final.from.args, "golang:") {
		t.Errorf("final stage is FROM %q, want a minimal runtime image", final.from.args)
	}
	var user, entrypoint string
	var copiesFromBuild bool
	for _, in := range final.instrs {
		switch in.cmd {
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entrypoint = in.args
		case "COPY":
			if strings.Contains(in.args, "--from=build") {
				copiesFromBuild = true
			}
		}
	}
	name, _, _ := strings.Cut(user, ":")
	if name == "" || name == "root" || name == "0" {
		t.Errorf("final stage USER = %q, want a non-root user", user)
	}
	if !copiesFromBuild {
		t.Errorf("final stage does not COPY --from=build")
	}
	if entrypoint != `["/collections"]` {
		t.Errorf("final stage ENTRYPOINT = %s, want [\"/collections\"]", entrypoint)
	}
}

// hasTag reports whether go build arguments select the given build tag via
// "-tags x,y", "-tags=x,y" (or the double-dash forms).
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
		list = strings.Trim(list, `"'`)
		if slices.Contains(strings.Split(list, ","), tag) {
			return true
		}
	}
	return false
}
