package app_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/collections-engine/collections/api"
	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/internal/app"
)

// slowTemporal's health check answers only when release is closed: a
// request held in flight for as long as the test wants.
type slowTemporal struct {
	client.Client
	entered chan struct{}
	release chan struct{}
}

func (s slowTemporal) CheckHealth(ctx context.Context, _ *client.CheckHealthRequest) (*client.CheckHealthResponse, error) {
	s.entered <- struct{}{}
	select {
	case <-s.release:
		return &client.CheckHealthResponse{}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// returned is ServeAPI's result and the moment it returned.
type returned struct {
	err error
	at  time.Time
}

// serve runs ServeAPI until the returned cancel is called; done receives
// its result.
func serve(t *testing.T, temporal client.Client, timeout time.Duration) (base string, cancel context.CancelFunc, done chan returned) {
	t.Helper()
	d := dbtest.SQLite(t)
	srv := &api.Server{Store: db.NewStore(d.DB), Temporal: temporal, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ready := make(chan net.Addr, 1)
	done = make(chan returned, 1)
	go func() {
		err := app.ServeAPI(ctx, "127.0.0.1:0", srv, timeout, func(a net.Addr) { ready <- a })
		done <- returned{err, time.Now()}
	}()
	select {
	case a := <-ready:
		return "http://" + a.String(), cancel, done
	case r := <-done:
		t.Fatalf("ServeAPI: %v", r.err)
	}
	return
}

// On SIGTERM (the context ending) the API stops taking connections at once
// and lets a request already running finish and get its answer.
func TestServeAPIFinishesInFlightRequests(t *testing.T) {
	temporal := slowTemporal{entered: make(chan struct{}, 1), release: make(chan struct{})}
	base, stop, done := serve(t, temporal, 10*time.Second)

	answer := make(chan int, 1)
	go func() {
		res, err := http.Get(base + "/readyz")
		if err != nil {
			answer <- -1
			return
		}
		_ = res.Body.Close()
		answer <- res.StatusCode
	}()
	<-temporal.entered // the request is in its handler
	stop()

	// New connections are refused while the running request is still held.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), time.Second)
		if err != nil {
			break
		}
		_ = c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the API still accepts connections after shutdown began")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// ServeAPI may return only once the request it holds is let go: the
	// moment it returns is recorded and compared with the release, so an
	// early return fails whenever it happens.
	released := time.Now()
	close(temporal.release)
	if code := <-answer; code != http.StatusOK {
		t.Fatalf("the in-flight request got %d, want 200", code)
	}
	select {
	case r := <-done:
		if r.at.Before(released) {
			t.Fatalf("ServeAPI returned (%v) %s before the request in flight was let go", r.err, released.Sub(r.at))
		}
		if r.err != nil {
			t.Fatalf("ServeAPI: %v", r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ServeAPI did not return after the last request finished")
	}
}

// A request that outlives the shutdown timeout is cut off, and ServeAPI
// says so instead of hanging.
func TestServeAPIShutdownTimeout(t *testing.T) {
	temporal := slowTemporal{entered: make(chan struct{}, 1), release: make(chan struct{})}
	defer close(temporal.release)
	base, stop, done := serve(t, temporal, 300*time.Millisecond)
	go func() {
		if res, err := http.Get(base + "/readyz"); err == nil {
			_ = res.Body.Close()
		}
	}()
	<-temporal.entered
	start := time.Now()
	stop()
	select {
	case r := <-done:
		if r.err == nil || !strings.Contains(r.err.Error(), "still running after 300ms") {
			t.Fatalf("ServeAPI = %v, want the shutdown timeout reported", r.err)
		}
		if waited := time.Since(start); waited > 3*time.Second {
			t.Fatalf("ServeAPI took %s to give up", waited)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ServeAPI hangs past its shutdown timeout")
	}
}
