package devstack_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Processes of the production binary, for the chaos suite and the
// production-shape tests: built from cmd/collections and run as
// `collections worker` or `collections api` against a stack's Temporal.

// buildWorkerBinary builds the production binary (without the dev
// command) into the test's temporary directory.
func buildWorkerBinary(t *testing.T) (string, error) {
	bin := filepath.Join(t.TempDir(), "collections")
	out, err := exec.Command("go", "build", "-tags", "nodev", "-o", bin, "github.com/collections-engine/collections/cmd/collections").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// workerProcs runs `collections worker` processes against the stack and
// the fake providers, and kills them with SIGKILL on demand; a supervisor
// restarts a dead one after its hold-down, as systemd or Kubernetes would.
type workerProcs struct {
	t       *testing.T
	bin     string
	args    []string // the command line after the binary: worker, or api
	env     []string
	logDir  string
	mu      sync.Mutex
	procs   []*exec.Cmd
	done    []chan struct{}
	holdTil []time.Time
	starts  int
	kills   atomic.Int32
	stop    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

func startWorkerProcs(t *testing.T, n int, bin string, env []string) *workerProcs {
	return startProcs(t, n, bin, env, "worker")
}

// startProcs runs n processes of `bin args...` as startWorkerProcs does.
func startProcs(t *testing.T, n int, bin string, env []string, args ...string) *workerProcs {
	w := &workerProcs{t: t, bin: bin, args: args, env: env, logDir: t.TempDir(), procs: make([]*exec.Cmd, n), done: make([]chan struct{}, n),
		holdTil: make([]time.Time, n), stop: make(chan struct{}), stopped: make(chan struct{})}
	for i := range n {
		w.start(i)
	}
	go w.supervise()
	return w
}

func (w *workerProcs) start(i int) {
	log, err := os.OpenFile(filepath.Join(w.logDir, fmt.Sprintf("%s-%d.log", w.args[0], i)), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		w.t.Error(err)
		return
	}
	cmd := exec.Command(w.bin, w.args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = w.env, log, log
	if err := cmd.Start(); err != nil {
		w.t.Errorf("start %s %d: %v", w.args[0], i, err)
		log.Close()
		return
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); log.Close(); close(done) }()
	w.procs[i], w.done[i] = cmd, done
	w.starts++
}

func (w *workerProcs) supervise() {
	defer close(w.stopped)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-tick.C:
		}
		w.mu.Lock()
		for i := range w.procs {
			select {
			case <-w.done[i]:
				if time.Now().After(w.holdTil[i]) {
					w.start(i)
				}
			default:
			}
		}
		w.mu.Unlock()
	}
}

// kill sends SIGKILL to worker i (all when i < 0), each kept down for a
// while before the supervisor restarts it.
func (w *workerProcs) kill(i int, down time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for j, cmd := range w.procs {
		if (i >= 0 && j != i) || cmd == nil {
			continue
		}
		select {
		case <-w.done[j]:
			continue // already dead
		default:
		}
		if err := cmd.Process.Kill(); err == nil {
			w.kills.Add(1)
		}
		w.holdTil[j] = time.Now().Add(down)
	}
}

// close stops the supervisor and the workers (SIGTERM, then SIGKILL).
func (w *workerProcs) close() { w.once.Do(w.shutdown) }

func (w *workerProcs) shutdown() {
	close(w.stop)
	<-w.stopped
	w.mu.Lock()
	defer w.mu.Unlock()
	for j, cmd := range w.procs {
		if cmd == nil {
			continue
		}
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-w.done[j]:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-w.done[j]
		}
	}
}

func (w *workerProcs) logTail() string {
	var b strings.Builder
	for i := range w.procs {
		raw, _ := os.ReadFile(filepath.Join(w.logDir, fmt.Sprintf("%s-%d.log", w.args[0], i)))
		lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
		fmt.Fprintf(&b, "--- %s %d (last lines)\n%s\n", w.args[0], i, strings.Join(lines[max(0, len(lines)-15):], "\n"))
	}
	return b.String()
}
