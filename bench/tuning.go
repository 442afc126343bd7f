package main

import (
	"flag"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	sdkworker "go.temporal.io/sdk/worker"

	"github.com/collections-engine/collections/internal/devstack"
)

// tuning holds the knobs the bench can turn, so that each change can be
// measured on its own against the same command.
type tuning struct {
	sqliteConns                     int
	pragmas, dynamic                kv
	wfPollers, actPollers           int
	maxActivities, maxWorkflowTasks int
	stickyCache                     int
}

// kv is a repeatable key=value flag.
type kv map[string]string

func (m *kv) String() string {
	if m == nil || len(*m) == 0 {
		return ""
	}
	var parts []string
	for k, v := range *m {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func (m *kv) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("want key=value, got %q", s)
	}
	if *m == nil {
		*m = kv{}
	}
	(*m)[strings.TrimSpace(k)] = strings.TrimSpace(v)
	return nil
}

func (t *tuning) flags(fs *flag.FlagSet) {
	fs.IntVar(&t.sqliteConns, "sqlite-conns", 0, "connections of the embedded server to its SQLite file (0: the server's default, 1)")
	fs.Var(&t.pragmas, "sqlite-pragma", "an extra SQLite pragma for the embedded server, key=value (repeatable)")
	fs.Var(&t.dynamic, "dynamic", "a dynamic configuration override for the embedded server, key=value (repeatable)")
	fs.IntVar(&t.wfPollers, "workflow-pollers", devstack.DefaultPollers, "the workers' workflow task pollers")
	fs.IntVar(&t.actPollers, "activity-pollers", devstack.DefaultPollers, "the workers' activity task pollers")
	fs.IntVar(&t.maxActivities, "max-activities", 0, "the worker's concurrent activities (0: SDK default)")
	fs.IntVar(&t.maxWorkflowTasks, "max-workflow-tasks", 0, "the worker's concurrent workflow tasks (0: SDK default)")
	fs.IntVar(&t.stickyCache, "sticky-cache", 0, "workflows kept in the worker's sticky cache (0: SDK default, 10,000)")
}

// apply sets the stack's options (the bare worker gets the same worker
// options, so both sides are tuned alike).
func (t *tuning) apply(o *devstack.Options) {
	o.Server.SQLiteConns = t.sqliteConns
	o.Server.SQLitePragmas = t.pragmas
	if len(t.dynamic) > 0 {
		o.Server.Dynamic = map[string]any{}
		for k, v := range t.dynamic {
			o.Server.Dynamic[k] = parseValue(v)
		}
	}
	o.Worker = sdkworker.Options{
		MaxConcurrentWorkflowTaskPollers:       t.wfPollers,
		MaxConcurrentActivityTaskPollers:       t.actPollers,
		MaxConcurrentActivityExecutionSize:     t.maxActivities,
		MaxConcurrentWorkflowTaskExecutionSize: t.maxWorkflowTasks,
	}
	if t.stickyCache > 0 {
		sdkworker.SetStickyWorkflowCacheSize(t.stickyCache)
	}
}

// parseValue reads a dynamic config value as the server expects it: a
// number, a boolean, a duration or else a string.
func parseValue(s string) any {
	if i, err := strconv.Atoi(s); err == nil {
		return i
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f
	}
	if b, err := strconv.ParseBool(s); err == nil {
		return b
	}
	if d, err := time.ParseDuration(s); err == nil {
		return d
	}
	return s
}
