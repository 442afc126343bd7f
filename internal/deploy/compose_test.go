package deploy

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"go.temporal.io/api/enums/v1"

	"github.com/collections-engine/collections/workflows"
)

// repoRoot is the repository root relative to this package's directory
// (go test runs with the package directory as working directory).
const repoRoot = "../.."

// The passwords a user would put into .env; the tests fill them in.
var testSecrets = map[string]string{
	"POSTGRES_PASSWORD":       "pg-superuser-secret",
	"TEMPORAL_DB_PASSWORD":    "temporal-db-secret",
	"COLLECTIONS_DB_PASSWORD": "collections-db-secret",
}

// stackDir lays out what an operator has after following the header of
// docker-compose.yml: the repository's compose file and deploy/ directory,
// .env copied from deploy/compose.env.example and collections.env from
// deploy/collections.env.example. edit may change the two files' contents
// (nil: fill in the passwords in .env, leave collections.env as shipped).
func stackDir(t *testing.T, edit func(dotenv, appenv string) (string, string)) string {
	t.Helper()
	dir := t.TempDir()
	copyFile(t, filepath.Join(repoRoot, "docker-compose.yml"), filepath.Join(dir, "docker-compose.yml"))
	entries, err := os.ReadDir(filepath.Join(repoRoot, "deploy"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		copyFile(t, filepath.Join(repoRoot, "deploy", e.Name()), filepath.Join(dir, "deploy", e.Name()))
	}
	dotenv := readFile(t, filepath.Join(repoRoot, "deploy", "compose.env.example"))
	appenv := readFile(t, filepath.Join(repoRoot, "deploy", "collections.env.example"))
	if edit == nil {
		edit = func(dotenv, appenv string) (string, string) { return fillSecrets(dotenv), appenv }
	}
	dotenv, appenv = edit(dotenv, appenv)
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(dotenv), 0o600); err != nil {
		t.Fatal(err)
	}
	if appenv != "" {
		if err := os.WriteFile(filepath.Join(dir, "collections.env"), []byte(appenv), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func fillSecrets(dotenv string) string {
	for k, v := range testSecrets {
		dotenv = strings.Replace(dotenv, "\n"+k+"=\n", "\n"+k+"="+v+"\n", 1)
	}
	return dotenv
}

// load loads dir's docker-compose.yml the way `docker compose` does (its .env
// for interpolation, schema validation, env_file resolution, normalisation,
// consistency checks), without the environment of the machine running the
// test.
func load(t *testing.T, dir string) (*types.Project, error) {
	t.Helper()
	opts, err := cli.NewProjectOptions(
		[]string{filepath.Join(dir, "docker-compose.yml")},
		cli.WithWorkingDirectory(dir),
		cli.WithName("collections"),
		cli.WithEnvFiles(filepath.Join(dir, ".env")),
		cli.WithDotEnv,
	)
	if err != nil {
		t.Fatalf("compose options: %v", err)
	}
	return cli.ProjectFromOptions(context.Background(), opts)
}

func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	p, err := load(t, stackDir(t, nil))
	if err != nil {
		t.Fatalf("loading docker-compose.yml: %v", err)
	}
	return p
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	svc, err := p.GetService(name)
	if err != nil {
		t.Fatalf("service %q: %v", name, err)
	}
	return svc
}

func env(svc types.ServiceConfig, key string) string {
	if v := svc.Environment[key]; v != nil {
		return *v
	}
	return ""
}

var appServices = map[string]string{"migrate": "migrate", "api": "api", "worker": "worker"}

func TestComposeServices(t *testing.T) {
	p := loadCompose(t)
	want := []string{"postgres", "temporal-schema", "temporal", "temporal-namespace", "temporal-ui", "migrate", "api", "worker"}
	if got := p.ServiceNames(); !slices.Equal(sorted(got), sorted(want)) {
		t.Fatalf("services = %v, want %v", got, want)
	}

	// The three application services are built from this repository and run
	// one subcommand of the same binary, hardened alike.
	for name, cmd := range appServices {
		svc := service(t, p, name)
		if svc.Build == nil || svc.Build.Context != p.WorkingDir {
			t.Errorf("%s is not built from the repository: %+v", name, svc.Build)
		}
		if !slices.Equal([]string(svc.Command), []string{cmd}) {
			t.Errorf("%s command = %q, want [%q]", name, svc.Command, cmd)
		}
		if svc.User != "" {
			t.Errorf("%s overrides the image's non-root user with %q", name, svc.User)
		}
		if !svc.ReadOnly || !slices.Contains(svc.CapDrop, "ALL") || !slices.Contains(svc.SecurityOpt, "no-new-privileges:true") {
			t.Errorf("%s: read_only=%v cap_drop=%v security_opt=%v, want a read-only root, no capabilities, no-new-privileges",
				name, svc.ReadOnly, svc.CapDrop, svc.SecurityOpt)
		}
	}

	// One-shot jobs run once; everything else comes back after a crash or a
	// reboot of the host.
	for _, svc := range p.Services {
		want := types.RestartPolicyUnlessStopped
		if slices.Contains([]string{"migrate", "temporal-schema", "temporal-namespace"}, svc.Name) {
			want = types.RestartPolicyNo
		}
		if svc.Restart != want {
			t.Errorf("%s restart = %q, want %q", svc.Name, svc.Restart, want)
		}
	}
}

// The start order, as depends_on conditions: postgres healthy → Temporal's
// schema job done → Temporal healthy → namespace job done and the
// application's migrations done → api and worker.
func TestComposeStartOrder(t *testing.T) {
	p := loadCompose(t)
	want := map[string]map[string]string{
		"temporal-schema":    {"postgres": types.ServiceConditionHealthy},
		"temporal":           {"temporal-schema": types.ServiceConditionCompletedSuccessfully},
		"temporal-namespace": {"temporal": types.ServiceConditionHealthy},
		"temporal-ui":        {"temporal": types.ServiceConditionHealthy},
		"migrate":            {"postgres": types.ServiceConditionHealthy},
	}
	for _, name := range []string{"api", "worker"} {
		want[name] = map[string]string{
			"migrate":            types.ServiceConditionCompletedSuccessfully,
			"temporal":           types.ServiceConditionHealthy,
			"temporal-namespace": types.ServiceConditionCompletedSuccessfully,
		}
	}
	for name, deps := range want {
		svc := service(t, p, name)
		got := map[string]string{}
		for dep, cfg := range svc.DependsOn {
			got[dep] = cfg.Condition
			if !cfg.Required {
				t.Errorf("%s: dependency on %s is not required", name, dep)
			}
		}
		if !maps.Equal(got, deps) {
			t.Errorf("%s depends on %v, want %v", name, got, deps)
		}
	}
}

func TestComposeHealthchecks(t *testing.T) {
	p := loadCompose(t)
	want := map[string]string{
		"postgres": "CMD pg_isready -h 127.0.0.1 -U postgres -d collections",
		"temporal": "CMD wget -q -O /dev/null http://127.0.0.1:7243/api/v1/cluster-info",
		"api":      "CMD /collections healthcheck http://localhost:8080/healthz",
		"worker":   "CMD /collections healthcheck http://localhost:9090/healthz",
	}
	for name, test := range want {
		hc := service(t, p, name).HealthCheck
		if hc == nil || hc.Disable {
			t.Errorf("%s has no healthcheck", name)
			continue
		}
		if got := strings.Join(hc.Test, " "); got != test {
			t.Errorf("%s healthcheck = %q, want %q", name, got, test)
		}
		if hc.Interval == nil || hc.Retries == nil || hc.Timeout == nil {
			t.Errorf("%s healthcheck lacks interval, timeout or retries: %+v", name, hc)
		}
	}
}

func TestComposeAppEnvironment(t *testing.T) {
	dir := stackDir(t, func(dotenv, appenv string) (string, string) {
		// A provider setting an operator filled in reaches the containers.
		return fillSecrets(dotenv), strings.Replace(appenv, "#SENDGRID_FROM_NAME=\n", "SENDGRID_FROM_NAME=Acme AR\n", 1)
	})
	p, err := load(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	dsn := "postgres://collections:collections-db-secret@postgres:5432/collections?sslmode=disable"
	for _, name := range []string{"migrate", "api", "worker"} {
		svc := service(t, p, name)
		if got := env(svc, "DATABASE_URL"); got != dsn {
			t.Errorf("%s DATABASE_URL = %q, want %q", name, got, dsn)
		}
		if got := env(svc, "LOG_FORMAT"); got != "json" {
			t.Errorf("%s LOG_FORMAT = %q, want json", name, got)
		}
	}
	for _, name := range []string{"api", "worker"} {
		svc := service(t, p, name)
		for k, v := range map[string]string{"TEMPORAL_ADDRESS": "temporal:7233", "TEMPORAL_NAMESPACE": "default", "SENDGRID_FROM_NAME": "Acme AR"} {
			if got := env(svc, k); got != v {
				t.Errorf("%s %s = %q, want %q", name, k, got, v)
			}
		}
		// The example leaves the codec keys empty on purpose: the binaries
		// refuse to start until they are set.
		if v, ok := svc.Environment["COLLECTIONS_CODEC_KEYS"]; !ok || v == nil || *v != "" {
			t.Errorf("%s COLLECTIONS_CODEC_KEYS = %v, want present and empty from collections.env", name, v)
		}
		if len(svc.EnvFiles) != 1 || filepath.Base(svc.EnvFiles[0].Path) != "collections.env" || !bool(svc.EnvFiles[0].Required) {
			t.Errorf("%s env_file = %+v, want the required collections.env", name, svc.EnvFiles)
		}
	}
	api, worker := service(t, p, "api"), service(t, p, "worker")
	if got := env(api, "HTTP_ADDR"); got != "0.0.0.0:8080" {
		t.Errorf("api HTTP_ADDR = %q", got)
	}
	if got := env(worker, "METRICS_ADDR"); got != "0.0.0.0:9090" {
		t.Errorf("worker METRICS_ADDR = %q, want 0.0.0.0:9090", got)
	}
	// The migrate job needs nothing but its database.
	if keys := slices.Sorted(maps.Keys(service(t, p, "migrate").Environment)); !slices.Equal(keys, []string{"DATABASE_URL", "LOG_FORMAT"}) {
		t.Errorf("migrate environment = %v", keys)
	}

	// Each password reaches only the services that use it.
	users := map[string][]string{
		"pg-superuser-secret":   {"postgres"},
		"temporal-db-secret":    {"postgres", "temporal-schema", "temporal"},
		"collections-db-secret": {"postgres", "migrate", "api", "worker"},
	}
	for secret, want := range users {
		var got []string
		for _, svc := range p.Services {
			for _, v := range svc.Environment {
				if v != nil && strings.Contains(*v, secret) {
					got = append(got, svc.Name)
					break
				}
			}
		}
		if !slices.Equal(sorted(got), sorted(want)) {
			t.Errorf("the password %q reaches %v, want only %v", secret, got, want)
		}
	}
}

// Nothing secret is in the compose file: without the passwords in .env, or
// without collections.env, compose refuses to start and says what is missing.
func TestComposeRefusesToStartWithoutSecrets(t *testing.T) {
	raw := readFile(t, filepath.Join(repoRoot, "docker-compose.yml"))
	if regexp.MustCompile(`(?im)^\s*[a-z_]*(password|secret|api_key|token|pwd)[a-z_]*:\s*[^$\s{]`).MatchString(raw) {
		t.Errorf("docker-compose.yml sets a password, secret, key or token to a literal value")
	}

	_, err := load(t, stackDir(t, func(dotenv, appenv string) (string, string) { return dotenv, appenv }))
	if err == nil || !strings.Contains(err.Error(), "POSTGRES_PASSWORD") {
		t.Errorf("with the example .env unedited: err = %v, want one naming POSTGRES_PASSWORD", err)
	}
	for name := range testSecrets {
		_, err := load(t, stackDir(t, func(dotenv, appenv string) (string, string) {
			return strings.Replace(fillSecrets(dotenv), name+"="+testSecrets[name], name+"=", 1), appenv
		}))
		if err == nil || !strings.Contains(err.Error(), "set "+name+" in .env") {
			t.Errorf("without %s: err = %v, want one naming it", name, err)
		}
	}
	_, err = load(t, stackDir(t, func(dotenv, appenv string) (string, string) { return fillSecrets(dotenv), "" }))
	if err == nil || !strings.Contains(err.Error(), "collections.env") {
		t.Errorf("without collections.env: err = %v, want one naming it", err)
	}
}

func TestComposePortsAndUI(t *testing.T) {
	p := loadCompose(t)
	published := func(name string) []string {
		var out []string
		for _, port := range service(t, p, name).Ports {
			out = append(out, strings.TrimPrefix(port.HostIP+":", ":")+port.Published+"->"+itoa(port.Target))
		}
		return out
	}
	want := map[string][]string{
		"api":         {"8080->8080"},
		"temporal-ui": {"8233->8080"},
		"temporal":    {"127.0.0.1:7233->7233"}, // the host's temporal CLI only
	}
	for _, svc := range p.Services {
		if got := published(svc.Name); !slices.Equal(got, want[svc.Name]) {
			t.Errorf("%s publishes %v, want %v", svc.Name, got, want[svc.Name])
		}
	}

	// The Web UI's browser-side codec calls go to the API's /codec, which
	// lets the UI's origin in.
	ui, api := service(t, p, "temporal-ui"), service(t, p, "api")
	if got := env(ui, "TEMPORAL_CODEC_ENDPOINT"); got != "http://localhost:8080/codec" {
		t.Errorf("temporal-ui TEMPORAL_CODEC_ENDPOINT = %q", got)
	}
	if got := env(api, "CODEC_CORS_ORIGINS"); got != "http://localhost:8233" {
		t.Errorf("api CODEC_CORS_ORIGINS = %q, want the UI's origin", got)
	}
	if got := env(api, "TEMPORAL_UI_URL"); got != "http://localhost:8233" {
		t.Errorf("api TEMPORAL_UI_URL = %q, want the UI's address (the collectors' page links there)", got)
	}
	if got := env(ui, "TEMPORAL_ADDRESS"); got != "temporal:7233" {
		t.Errorf("temporal-ui TEMPORAL_ADDRESS = %q", got)
	}

	// Deployed elsewhere: the public addresses follow .env.
	p, err := load(t, stackDir(t, func(dotenv, appenv string) (string, string) {
		return fillSecrets(dotenv) + "API_PUBLIC_URL=https://ar.example.com\nUI_PUBLIC_URL=https://temporal.example.com\n", appenv
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got := env(service(t, p, "temporal-ui"), "TEMPORAL_CODEC_ENDPOINT"); got != "https://ar.example.com/codec" {
		t.Errorf("with API_PUBLIC_URL: TEMPORAL_CODEC_ENDPOINT = %q", got)
	}
	if got := env(service(t, p, "api"), "CODEC_CORS_ORIGINS"); got != "https://temporal.example.com" {
		t.Errorf("with UI_PUBLIC_URL: CODEC_CORS_ORIGINS = %q", got)
	}
	if got := env(service(t, p, "api"), "TEMPORAL_UI_URL"); got != "https://temporal.example.com" {
		t.Errorf("with UI_PUBLIC_URL: TEMPORAL_UI_URL = %q", got)
	}
}

// Temporal: the server and its schema job run the same version, the one this
// repository's embedded server and tests use; the UI likewise.
func TestComposeTemporal(t *testing.T) {
	p := loadCompose(t)
	gomod := readFile(t, filepath.Join(repoRoot, "go.mod"))
	server := moduleVersion(t, gomod, "go.temporal.io/server")
	ui := moduleVersion(t, gomod, "github.com/temporalio/ui-server/v2")
	for name, image := range map[string]string{
		"temporal":           "temporalio/server:" + server,
		"temporal-schema":    "temporalio/admin-tools:" + server,
		"temporal-namespace": "temporalio/admin-tools:" + server,
		"temporal-ui":        "temporalio/ui:" + ui,
	} {
		if got := service(t, p, name).Image; got != image {
			t.Errorf("%s image = %q, want %q", name, got, image)
		}
	}
	tmp := service(t, p, "temporal")
	for k, v := range map[string]string{"DB": "postgres12", "POSTGRES_SEEDS": "postgres", "POSTGRES_USER": "temporal", "BIND_ON_IP": "0.0.0.0", "PROMETHEUS_ENDPOINT": "0.0.0.0:8000"} {
		if got := env(tmp, k); got != v {
			t.Errorf("temporal %s = %q, want %q", k, got, v)
		}
	}
	// The server will not start without its dynamic config file.
	mounted(t, p, "temporal", "deploy/temporal-dynamicconfig.yaml", env(tmp, "DYNAMIC_CONFIG_FILE_PATH"))
	mounted(t, p, "temporal-schema", "deploy/temporal-schema.sh", "/deploy/temporal-schema.sh")
	mounted(t, p, "temporal-namespace", "deploy/temporal-namespace.sh", "/deploy/temporal-namespace.sh")
	if got := strings.Join(service(t, p, "temporal-schema").Command, " "); got != "/deploy/temporal-schema.sh" {
		t.Errorf("temporal-schema runs %q", got)
	}
	if got := strings.Join(service(t, p, "temporal-namespace").Command, " "); got != "/deploy/temporal-namespace.sh" {
		t.Errorf("temporal-namespace runs %q", got)
	}

	// Both schemas are migrated, with the postgres12 plugin.
	schema := readFile(t, filepath.Join(repoRoot, "deploy", "temporal-schema.sh"))
	for _, want := range []string{"SQL_PLUGIN=postgres12", "temporal:temporal", "temporal_visibility:visibility", "create-database", "setup-schema -v 0.0", "update-schema -d"} {
		if !strings.Contains(schema, want) {
			t.Errorf("deploy/temporal-schema.sh lacks %q", want)
		}
	}
}

// The namespace job registers exactly the workflows' search attributes, with
// their types, so the stack is complete before the first worker starts.
func TestComposeRegistersTheSearchAttributes(t *testing.T) {
	script := readFile(t, filepath.Join(repoRoot, "deploy", "temporal-namespace.sh"))
	got := map[string]enums.IndexedValueType{}
	for _, m := range regexp.MustCompile(`(?m)^register (\w+) (\w+)$`).FindAllStringSubmatch(script, -1) {
		typ, err := enums.IndexedValueTypeFromString(m[2])
		if err != nil {
			t.Errorf("register %s %s: %v", m[1], m[2], err)
		}
		got[m[1]] = typ
	}
	if !maps.Equal(got, workflows.SearchAttributes) {
		t.Errorf("deploy/temporal-namespace.sh registers %v, the workflows use %v", got, workflows.SearchAttributes)
	}
	for _, want := range []string{"operator namespace create", "operator search-attribute create", "operator cluster health"} {
		if !strings.Contains(script, want) {
			t.Errorf("deploy/temporal-namespace.sh lacks %q", want)
		}
	}
}

// Data lives in a named volume; the roles and the application database are
// created by the init script on the volume's first start.
func TestComposePostgres(t *testing.T) {
	p := loadCompose(t)
	pg := service(t, p, "postgres")
	var data bool
	for _, v := range pg.Volumes {
		if v.Type == types.VolumeTypeVolume && v.Source == "postgres-data" && v.Target == "/var/lib/postgresql/data" {
			data = true
		}
	}
	if _, ok := p.Volumes["postgres-data"]; !ok || !data {
		t.Errorf("postgres does not keep its data in the named volume postgres-data: %+v", pg.Volumes)
	}
	mounted(t, p, "postgres", "deploy/postgres-init.sh", "/docker-entrypoint-initdb.d/10-collections.sh")
	sql := readFile(t, filepath.Join(repoRoot, "deploy", "postgres-init.sh"))
	for _, want := range []string{"CREATE ROLE temporal LOGIN CREATEDB", "CREATE ROLE collections LOGIN", "CREATE DATABASE collections OWNER collections"} {
		if !strings.Contains(sql, want) {
			t.Errorf("deploy/postgres-init.sh lacks %q", want)
		}
	}
	for _, script := range []string{"postgres-init.sh", "temporal-schema.sh", "temporal-namespace.sh"} {
		fi, err := os.Stat(filepath.Join(repoRoot, "deploy", script))
		if err != nil || fi.Mode()&0o111 == 0 {
			t.Errorf("deploy/%s is not executable (%v)", script, err)
		}
		if !strings.HasPrefix(readFile(t, filepath.Join(repoRoot, "deploy", script)), "#!/bin/sh\n") {
			t.Errorf("deploy/%s does not start with #!/bin/sh (the images have no bash)", script)
		}
	}
}

// Docker stops a container with SIGTERM and kills it stop_grace_period later;
// the api and the worker need longer than their SHUTDOWN_TIMEOUT (30s) to
// let requests and activities finish.
func TestComposeGivesShutdownTime(t *testing.T) {
	p := loadCompose(t)
	for _, name := range []string{"api", "worker"} {
		svc := service(t, p, name)
		if svc.StopGracePeriod == nil || time.Duration(*svc.StopGracePeriod) <= 30*time.Second {
			t.Errorf("%s stop_grace_period = %v, want more than the 30s SHUTDOWN_TIMEOUT", name, svc.StopGracePeriod)
		}
		if svc.Deploy == nil || svc.Deploy.Resources.Limits == nil || svc.Deploy.Resources.Limits.MemoryBytes == 0 {
			t.Errorf("%s has no memory limit", name)
		}
	}
}

func mounted(t *testing.T, p *types.Project, name, source, target string) {
	t.Helper()
	for _, v := range service(t, p, name).Volumes {
		if v.Type == types.VolumeTypeBind && v.Source == filepath.Join(p.WorkingDir, source) && v.Target == target {
			if !v.ReadOnly {
				t.Errorf("%s mounts %s writable", name, source)
			}
			return
		}
	}
	t.Errorf("%s does not mount %s at %s: %+v", name, source, target, service(t, p, name).Volumes)
}

func moduleVersion(t *testing.T, gomod, module string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(module) + `\s+v(\S+)`).FindStringSubmatch(gomod)
	if m == nil {
		t.Fatalf("go.mod does not require %s", module)
	}
	return m[1]
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	raw, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, raw, fi.Mode().Perm()); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }

func itoa(n uint32) string { return strconv.FormatUint(uint64(n), 10) }
