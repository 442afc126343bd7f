package app_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/collections-engine/collections/internal/app"
	"github.com/collections-engine/collections/metrics"
)

// The worker's METRICS_ADDR: /metrics and /healthz on their own listener,
// stopped with the context.
func TestServeMetricsServesTheRegistryAndStops(t *testing.T) {
	m, err := metrics.New()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.MessageSent("sms")
	m.MessageFailed("email")
	m.ReminderLateness(90 * time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- app.ServeMetrics(ctx, "127.0.0.1:0", m, func(a net.Addr) { ready <- a }) }()
	base := "http://" + (<-ready).String()

	get := func(path string) string {
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, res.StatusCode, body)
		}
		return string(body)
	}
	text := get("/metrics")
	for _, want := range []string{
		`collections_messages_sent_total{channel="sms"} 1`,
		`collections_messages_failed_total{channel="email"} 1`,
		`collections_reminder_lateness_seconds_bucket{le="300"} 1`,
		`collections_reminder_lateness_seconds_bucket{le="60"} 0`,
		"go_goroutines ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if body := get("/healthz"); !strings.Contains(body, "ok") {
		t.Errorf("/healthz: %s", body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ServeMetrics: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ServeMetrics did not stop")
	}
}
