package collect

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/workflows"
)

// BenchmarkCreateInvoice measures the request side of creating invoices:
// eight at once for one customer (as the ingest bench posts them), against
// the application database, with the workflow start faked. With
// TEST_DATABASE_URL it runs on PostgreSQL too.
func BenchmarkCreateInvoice(b *testing.B) {
	for _, d := range dbtest.All(b) {
		b.Run(d.Name, func(b *testing.B) {
			ctx := context.Background()
			s := &Service{Store: db.NewStore(d.DB), Workflows: &workflows.Client{Temporal: &fakeTemporal{started: map[string]int{}}},
				Log: slog.New(slog.DiscardHandler), Clock: func() time.Time { return time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC) }}
			if _, err := s.CreateCustomer(ctx, CreateCustomer{Customer: Customer{ID: "C-1", Name: "One", Email: "ap@one.example", Timezone: "UTC"}}); err != nil {
				b.Fatal(err)
			}
			var n atomic.Int64
			b.SetParallelism(max(1, 8/runtime.GOMAXPROCS(0)))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.CreateInvoice(ctx, invoiceCmd(fmt.Sprintf("B-%d", n.Add(1)))); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
