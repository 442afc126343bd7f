package devserver

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	"go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	pgplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql"
	"go.temporal.io/server/common/resolver"
	pgschema "go.temporal.io/server/schema/postgresql/v12"
	schematool "go.temporal.io/server/tools/common/schema"
	sqltool "go.temporal.io/server/tools/sql"
)

// Postgres keeps the embedded server's state in PostgreSQL instead of a
// SQLite file: two databases on one server, the default store (named by the
// URL) and visibility (the same name with "_visibility"). Both are created
// when missing, and their schema is set up and brought to the version this
// server needs by Temporal's own schema tool, in process (what
// `temporal-sql-tool create-database`, `setup-schema -v 0.0` and
// `update-schema` do). On an existing database only the updates not yet
// applied run, so a restart keeps every workflow.
type Postgres struct {
	// URL is postgres://user:password@host:port/name; query parameters
	// (sslmode=disable, ...) are passed to the driver. The name is an SQL
	// identifier: letters, digits and underscores.
	URL string
	// NumHistoryShards is the number of history shards (default 4). It is
	// fixed when the databases are created: on an existing database the
	// stored count wins (the server logs the mismatch), so a different
	// count needs new databases.
	NumHistoryShards int32
	// MaxConns is each service's connection limit to the default store
	// (default 10); visibility gets half of it. The four services of the
	// embedded server each keep their own pools, so the server may hold up
	// to 4 × 1.5 × MaxConns connections.
	MaxConns int
}

// Plugin is the persistence plugin the embedded server uses on PostgreSQL
// (Temporal's PostgreSQL 12+ plugin on the pgx driver).
const Plugin = pgplugin.PluginNamePGX

const (
	defaultPostgresShards   = 4
	defaultPostgresMaxConns = 10
	visibilitySuffix        = "_visibility"
	// Schema directories inside go.temporal.io/server/schema (embedded).
	pgMainSchema       = "postgresql/v12/temporal"
	pgVisibilitySchema = "postgresql/v12/visibility"
)

var pgIdentifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// PostgresDatabases are the names of the two databases a Postgres URL
// stands for: the default store and visibility.
func PostgresDatabases(rawURL string) (main, visibility string, err error) {
	c, err := parsePostgres(rawURL)
	if err != nil {
		return "", "", err
	}
	return c.DatabaseName, c.DatabaseName + visibilitySuffix, nil
}

// parsePostgres turns a postgres:// URL into the server's SQL config for
// the default store.
func parsePostgres(rawURL string) (*config.SQL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("devserver: Postgres URL: %w", err)
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return nil, fmt.Errorf("devserver: Postgres URL: scheme %q, want postgres://", u.Scheme)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if !pgIdentifier.MatchString(name) {
		return nil, fmt.Errorf("devserver: Postgres URL: database name %q: use letters, digits and underscores", name)
	}
	if len(name)+len(visibilitySuffix) > 63 {
		return nil, fmt.Errorf("devserver: Postgres URL: database name %q is too long for %q", name, name+visibilitySuffix)
	}
	host := u.Host
	if host == "" {
		host = "127.0.0.1"
	}
	if _, _, err := net.SplitHostPort(host); err != nil {
		host = net.JoinHostPort(host, "5432")
	}
	conf := &config.SQL{
		PluginName:        Plugin,
		DatabaseName:      name,
		ConnectAddr:       host,
		ConnectProtocol:   "tcp",
		ConnectAttributes: map[string]string{},
		MaxConnLifetime:   time.Hour,
	}
	if u.User != nil {
		conf.User = u.User.Username()
		conf.Password, _ = u.User.Password()
	}
	for k, v := range u.Query() {
		if len(v) != 1 {
			return nil, fmt.Errorf("devserver: Postgres URL: parameter %s given %d times", k, len(v))
		}
		if strings.EqualFold(k, "synchronous_commit") && strings.EqualFold(v[0], "off") {
			return nil, errors.New("devserver: synchronous_commit=off would lose acknowledged writes in a crash")
		}
		conf.ConnectAttributes[k] = v[0]
	}
	return conf, nil
}

// postgresStores returns the default store's and visibility's SQL configs,
// with both databases created and their schema up to date.
func (o Options) postgresStores(logger log.Logger) (main, vis *config.SQL, err error) {
	p := o.Postgres
	if main, err = parsePostgres(p.URL); err != nil {
		return nil, nil, err
	}
	conns := p.MaxConns
	if conns <= 0 {
		conns = defaultPostgresMaxConns
	}
	main.MaxConns, main.MaxIdleConns = conns, conns
	v := *main
	vis = &v
	vis.DatabaseName = main.DatabaseName + visibilitySuffix
	vis.MaxConns = max(2, conns/2)
	vis.MaxIdleConns = vis.MaxConns
	vis.ConnectAttributes = main.ConnectAttributes // read only, shared
	started := time.Now()
	if err := ensureSchema(main, pgMainSchema, pgschema.Version, logger); err != nil {
		return nil, nil, err
	}
	if err := ensureSchema(vis, pgVisibilitySchema, pgschema.VisibilityVersion, logger); err != nil {
		return nil, nil, err
	}
	if o.Log != nil {
		o.Log.Info("Temporal's PostgreSQL databases ready", "databases", main.DatabaseName+", "+vis.DatabaseName,
			"took", time.Since(started).Round(time.Millisecond))
	}
	return main, vis, nil
}

// ensureSchema creates the database when missing, sets up the schema
// version tables on a new one, and applies every schema update newer than
// the database's version, with Temporal's schema tool.
func ensureSchema(conf *config.SQL, schemaName, want string, logger log.Logger) error {
	admin := *conf
	if err := sqltool.DoCreateDatabase(&admin, "", logger); err != nil {
		return fmt.Errorf("devserver: create database %s: %w", conf.DatabaseName, err)
	}
	conn, err := sqltool.NewConnection(conf, logger)
	if err != nil {
		return fmt.Errorf("devserver: connect to %s: %w", conf.DatabaseName, err)
	}
	defer conn.Close()
	if v, err := conn.ReadSchemaVersion(); err != nil || v == "" {
		// A new database: the version tables at 0.0, as
		// `temporal-sql-tool setup-schema -v 0.0` leaves it.
		setup := schematool.NewSetupSchemaTask(conn, &schematool.SetupConfig{InitialVersion: "0.0"}, logger)
		if err := setup.Run(); err != nil {
			return fmt.Errorf("devserver: set up schema in %s: %w", conf.DatabaseName, err)
		}
	}
	// `temporal-sql-tool update-schema --schema-name ...`: every version
	// directory newer than the database's, in order; none when up to date.
	update := schematool.NewUpdateSchemaTask(conn, &schematool.UpdateConfig{SchemaName: schemaName}, logger)
	if err := update.Run(); err != nil {
		return fmt.Errorf("devserver: update schema in %s: %w", conf.DatabaseName, err)
	}
	got, err := conn.ReadSchemaVersion()
	if err != nil {
		return fmt.Errorf("devserver: schema version of %s: %w", conf.DatabaseName, err)
	}
	if got != want {
		return fmt.Errorf("devserver: %s is at schema version %s after the update; this server needs %s", conf.DatabaseName, got, want)
	}
	return nil
}

// DropPostgres drops the two databases a Postgres URL stands for (the
// default store and visibility), ending any session still connected to
// them. Databases that do not exist are skipped.
func DropPostgres(rawURL string) error {
	conf, err := parsePostgres(rawURL)
	if err != nil {
		return err
	}
	names := []string{conf.DatabaseName, conf.DatabaseName + visibilitySuffix}
	conf.DatabaseName = "" // the server's maintenance database ("postgres")
	db, err := sql.NewSQLAdminDB(sqlplugin.DbKindUnknown, conf, resolver.NewNoopResolver(), log.NewNoopLogger(), metrics.NoopMetricsHandler)
	if err != nil {
		return fmt.Errorf("devserver: connect to Postgres: %w", err)
	}
	defer func() { _ = db.Close() }()
	for _, name := range names {
		// The names are identifiers (checked by parsePostgres).
		if err := db.Exec(`DROP DATABASE IF EXISTS "` + name + `" WITH (FORCE)`); err != nil {
			return fmt.Errorf("devserver: drop database %s: %w", name, err)
		}
	}
	return nil
}
