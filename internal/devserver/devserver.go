// Package devserver runs an embedded Temporal server, persisted in a SQLite
// file (or, for larger workloads such as the bench's, in PostgreSQL), and
// the Temporal Web UI, inside the `dev` command, the bench and integration
// tests. Production points at a real Temporal cluster instead; nothing else
// imports this package, so only `dev`, the bench and tests link the server.
package devserver

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiserveroptions "github.com/temporalio/ui-server/v2/server/server_options"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Options configure the embedded server.
type Options struct {
	// DatabaseFile is the SQLite file that keeps workflows and timers across
	// restarts; created with its schema when missing. The SQLite server has
	// one history shard.
	DatabaseFile string
	// Postgres, when set, keeps them in PostgreSQL instead (DatabaseFile
	// is then not used).
	Postgres *Postgres
	// FrontendAddr is the gRPC address clients and workers dial (host:port).
	FrontendAddr string
	// UIAddr is where the Web UI listens (host:port); empty for no UI.
	UIAddr string
	// UICodecEndpoint, when set, lets the UI decode payloads through our API.
	UICodecEndpoint string
	Namespace       string
	// SearchAttributes are registered on the namespace when it is created.
	SearchAttributes map[string]enums.IndexedValueType
	// Retention is how long closed workflows stay visible (default 30 days).
	Retention time.Duration
	// Log receives the server's warnings and errors.
	Log *slog.Logger
	// Tuning adjusts persistence and dynamic configuration (zero: defaults).
	Tuning Tuning
}

// Tuning adjusts the embedded server for a workload. Durability is not
// negotiable: the journal stays in WAL mode and synchronous at NORMAL or
// FULL, so a process killed at any moment loses nothing it acknowledged
// (NORMAL: a power cut may lose the last transactions; FULL: not even that).
// On PostgreSQL durability is the server's own configuration (fsync and
// synchronous_commit on by default); a URL asking for synchronous_commit=off
// is refused.
type Tuning struct {
	// SQLiteConns is the number of connections to the SQLite file (default
	// 1); with WAL, readers then run beside the single writer. Not for
	// Postgres (see Postgres.MaxConns).
	SQLiteConns int
	// SQLitePragmas are set on every connection (e.g. cache_size, mmap_size,
	// synchronous=full). journal_mode cannot be changed, nor synchronous
	// lowered below NORMAL. Not for Postgres.
	SQLitePragmas map[string]string
	// Dynamic overrides dynamic configuration keys, e.g.
	// "history.persistenceMaxQPS".
	Dynamic map[string]any
}

// Server is a running embedded Temporal server and UI.
type Server struct {
	server   temporal.Server
	ui       *uiserver.Server
	opts     Options
	logLevel zap.AtomicLevel
}

const (
	clusterName = "active"
	// devClusterID is fixed so the database keeps one cluster identity across restarts.
	devClusterID = "6c4d3f0a-5b8e-4b1e-9c1d-2f0e7a9b3c51"
)

// Start starts the server (and the UI) and returns once the frontend
// accepts connections.
func Start(o Options) (*Server, error) {
	if (o.DatabaseFile == "" && o.Postgres == nil) || o.FrontendAddr == "" || o.Namespace == "" {
		return nil, errors.New("devserver: DatabaseFile (or Postgres), FrontendAddr and Namespace are required")
	}
	if o.Postgres != nil && (o.Tuning.SQLiteConns != 0 || len(o.Tuning.SQLitePragmas) > 0) {
		return nil, errors.New("devserver: SQLite connections and pragmas do not apply to a server on Postgres")
	}
	if o.Retention == 0 {
		o.Retention = 30 * 24 * time.Hour
	}
	host, portStr, err := net.SplitHostPort(o.FrontendAddr)
	if err != nil {
		return nil, fmt.Errorf("devserver: frontend address %q: %w", o.FrontendAddr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("devserver: frontend port %q: %w", portStr, err)
	}
	if err := portFree(o.FrontendAddr); err != nil {
		return nil, err
	}
	if o.UIAddr != "" {
		if err := portFree(o.UIAddr); err != nil {
			return nil, err
		}
	}
	logLevel := zap.NewAtomicLevelAt(zapcore.WarnLevel)
	logger := serverLogger(logLevel)
	conf, err := o.serverConfig(host, port, logger)
	if err != nil {
		return nil, err
	}
	hosts := map[primitives.ServiceName]static.Hosts{}
	for name, svc := range conf.Services {
		hosts[primitives.ServiceName(name)] = static.SingleLocalHost(net.JoinHostPort(host, strconv.Itoa(svc.RPC.GRPCPort)))
	}
	dyn := dynamicconfig.StaticClient{
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key():                 8192,
		// The history service reads each shard's task queues at most 20
		// times a second by default: with our single shard every workflow
		// and activity task waits for the next read before it reaches
		// matching, and a payment's reaction is several such hand-offs.
		// The queues are read when a task is written, so a higher ceiling
		// costs nothing while idle. What it bought: docs/benchmarks.md,
		// "Tuning".
		dynamicconfig.TransferProcessorMaxPollRPS.Key():   1000,
		dynamicconfig.TimerProcessorMaxPollRPS.Key():      1000,
		dynamicconfig.VisibilityProcessorMaxPollRPS.Key(): 1000,
	}
	for k, v := range o.Tuning.Dynamic {
		dyn[dynamicconfig.MakeKey(k)] = v
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(logger),
		temporal.WithDynamicConfigClient(dyn),
	)
	if err != nil {
		return nil, fmt.Errorf("devserver: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("devserver: start: %w", err)
	}
	s := &Server{server: srv, opts: o, logLevel: logLevel}
	if o.UIAddr != "" {
		if err := s.startUI(); err != nil {
			srv.Stop()
			return nil, err
		}
	}
	return s, nil
}

// Stop stops the UI and the server. The services' complaints about each
// other going away during shutdown are silenced.
func (s *Server) Stop() {
	s.logLevel.SetLevel(zapcore.FatalLevel)
	if s.ui != nil {
		s.ui.Stop()
	}
	s.server.Stop()
}

func (s *Server) startUI() error {
	host, portStr, err := net.SplitHostPort(s.opts.UIAddr)
	if err != nil {
		return fmt.Errorf("devserver: UI address %q: %w", s.opts.UIAddr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return fmt.Errorf("devserver: UI port %q: %w", portStr, err)
	}
	s.ui = uiserver.NewServer(uiserveroptions.WithConfigProvider(&uiconfig.Config{
		Host:                host,
		Port:                port,
		TemporalGRPCAddress: s.opts.FrontendAddr,
		EnableUI:            true,
		DefaultNamespace:    s.opts.Namespace,
		Codec:               uiconfig.Codec{Endpoint: s.opts.UICodecEndpoint},
		CORS:                uiconfig.CORS{CookieInsecure: true},
		HideLogs:            true,
		DisableNewsFetch:    true,
	}))
	errc := make(chan error, 1)
	go func() { errc <- s.ui.Start() }()
	// The UI's Start blocks while it serves; give it a moment to fail on a
	// bad address, then wait until it accepts connections.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-errc:
			return fmt.Errorf("devserver: web UI: %w", err)
		default:
		}
		if c, err := net.DialTimeout("tcp", s.opts.UIAddr, 200*time.Millisecond); err == nil {
			_ = c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("devserver: web UI did not start listening on %s", s.opts.UIAddr)
}

func (o Options) serverConfig(host string, port int, logger log.Logger) (*config.Config, error) {
	var conf config.Config
	if o.Postgres != nil {
		mainConf, visConf, err := o.postgresStores(logger)
		if err != nil {
			return nil, err
		}
		if err := o.createNamespace(mainConf); err != nil {
			return nil, err
		}
		conf.Persistence.DefaultStore = "postgres-default"
		conf.Persistence.VisibilityStore = "postgres-visibility"
		conf.Persistence.NumHistoryShards = o.Postgres.NumHistoryShards
		if conf.Persistence.NumHistoryShards <= 0 {
			conf.Persistence.NumHistoryShards = defaultPostgresShards
		}
		conf.Persistence.DataStores = map[string]config.DataStore{
			"postgres-default":    {SQL: mainConf},
			"postgres-visibility": {SQL: visConf},
		}
	} else {
		sqlConf, err := o.sqlConfig()
		if err != nil {
			return nil, err
		}
		conf.Persistence.DefaultStore = "sqlite-default"
		conf.Persistence.VisibilityStore = "sqlite-default"
		conf.Persistence.NumHistoryShards = 1
		conf.Persistence.DataStores = map[string]config.DataStore{"sqlite-default": {SQL: sqlConf}}
	}
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = host
	httpPort, err := FreePort(host)
	if err != nil {
		return nil, err
	}
	conf.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace:    false,
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{clusterName: {
			Enabled:                true,
			InitialFailoverVersion: 1,
			RPCAddress:             net.JoinHostPort(host, strconv.Itoa(port)),
			HTTPAddress:            net.JoinHostPort(host, strconv.Itoa(httpPort)),
			ClusterID:              devClusterID,
		}},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	conf.Services = map[string]config.Service{}
	for _, name := range []string{"frontend", "history", "matching", "worker"} {
		var svc config.Service
		svc.RPC.BindOnIP = host
		if name == "frontend" {
			svc.RPC.GRPCPort = port
			svc.RPC.HTTPPort = httpPort
		} else if svc.RPC.GRPCPort, err = FreePort(host); err != nil {
			return nil, err
		}
		conf.Services[name] = svc
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = o.FrontendAddr
	return &conf, nil
}

// sqlConfig points the server at the SQLite file, creating its schema and
// the namespace when they do not exist yet.
func (o Options) sqlConfig() (*config.SQL, error) {
	conf := &config.SQL{
		PluginName:   sqliteplugin.PluginName,
		DatabaseName: o.DatabaseFile,
		ConnectAttributes: map[string]string{
			"mode":         "rwc",
			"journal_mode": "wal",
			"synchronous":  "normal",
			"busy_timeout": "10000",
		},
		MaxConns:     o.Tuning.SQLiteConns,
		MaxIdleConns: o.Tuning.SQLiteConns,
	}
	for k, v := range o.Tuning.SQLitePragmas {
		switch k = strings.ToLower(strings.TrimSpace(k)); {
		case k == "journal_mode":
			return nil, errors.New("devserver: the SQLite journal stays in WAL mode")
		case k == "synchronous" && !slices.Contains([]string{"normal", "full", "1", "2"}, strings.ToLower(v)):
			return nil, fmt.Errorf("devserver: SQLite synchronous=%s would lose acknowledged writes in a crash; use normal or full", v)
		}
		conf.ConnectAttributes[k] = v
	}
	if err := os.MkdirAll(filepath.Dir(o.DatabaseFile), 0o755); err != nil {
		return nil, fmt.Errorf("devserver: data dir: %w", err)
	}
	if _, err := os.Stat(o.DatabaseFile); errors.Is(err, os.ErrNotExist) {
		if err := sqliteschema.SetupSchema(conf); err != nil {
			return nil, fmt.Errorf("devserver: set up schema in %s: %w", o.DatabaseFile, err)
		}
	}
	if err := o.createNamespace(conf); err != nil {
		return nil, err
	}
	return conf, nil
}

// createNamespace registers the namespace, with its search attributes and
// retention, in the default store unless it is there already (then it is
// left as it is). The SQLite schema package's helper writes the namespace
// row through the generic SQL persistence layer, so it serves PostgreSQL
// as well: the server reads it at start, as if registered through the API.
func (o Options) createNamespace(conf *config.SQL) error {
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, o.Namespace, false, o.SearchAttributes)
	if err != nil {
		return fmt.Errorf("devserver: namespace: %w", err)
	}
	ns.Detail.Config.Retention = durationpb.New(o.Retention)
	if err := sqliteschema.CreateNamespaces(conf, ns); err != nil {
		return fmt.Errorf("devserver: create namespace: %w", err)
	}
	return nil
}

// serverLogger keeps the embedded server quiet: warnings and errors only
// (level), as JSON on stderr.
func serverLogger(level zap.AtomicLevel) log.Logger {
	cfg := zap.NewProductionConfig()
	cfg.Level = level
	cfg.Sampling = nil
	cfg.OutputPaths = []string{"stderr"}
	cfg.ErrorOutputPaths = []string{"stderr"}
	cfg.EncoderConfig.TimeKey = "time"
	cfg.EncoderConfig.EncodeTime = zapcore.RFC3339TimeEncoder
	zl, err := cfg.Build()
	if err != nil {
		return log.NewNoopLogger()
	}
	return log.NewZapLogger(zl.With(zap.String("component", "temporal")))
}

// FreePort returns a TCP port on host that nothing listens on right now.
func FreePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func portFree(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("devserver: %s is not free (is another `collections dev` or Temporal running?): %w", addr, err)
	}
	return l.Close()
}
