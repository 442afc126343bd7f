package db_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
	"github.com/collections-engine/collections/invoice"
)

// TestTwoInvoicesAtOnceCannotBothFitUnderALimitForOne: invoices of one
// customer are created at the same instant through separate database
// handles (as separate API processes would); a limit with room for one
// lets exactly one through unflagged, in every round.
func TestTwoInvoicesAtOnceCannotBothFitUnderALimitForOne(t *testing.T) {
	const handles, perRound, rounds = 4, 4, 5
	for _, d := range dbtest.All(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			stores := []*db.Store{db.NewStore(d.DB)}
			for _, h := range dbtest.Handles(t, d, handles-1) {
				stores = append(stores, db.NewStore(h))
			}
			for round := range rounds {
				// A new customer each round, with room for one invoice of 600.
				cust := fmt.Sprintf("limited-%d", round)
				limit := int64(1000)
				if _, err := stores[0].InsertCustomer(ctx, &db.Customer{ID: cust, Name: "Limited", Email: "ap@limited.test", Timezone: "UTC",
					CreditLimitMinor: &limit, CreditCurrency: "EUR", CreatedAt: t0, UpdatedAt: t0}); err != nil {
					t.Fatal(err)
				}
				over := func(c db.Customer, open int64) bool {
					return c.CreditLimitMinor != nil && open+600 > *c.CreditLimitMinor
				}
				var wg sync.WaitGroup
				start := make(chan struct{})
				flags := make([]bool, perRound)
				errs := make([]error, perRound)
				for i := range perRound {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						id := fmt.Sprintf("%s-inv-%d", cust, i)
						inv := &db.Invoice{ID: id, Number: id, CustomerID: cust, AmountMinor: 600, BalanceMinor: 600, Currency: "EUR",
							IssuedAt: t0, DueAt: t0, Stage: invoice.StageIssued, PolicyName: "standard", PolicyVersion: 1,
							WorkflowID: "invoice:" + id, CreatedAt: t0, UpdatedAt: t0}
						var ok bool
						ok, _, errs[i] = stores[i%handles].InsertInvoiceChecked(ctx, inv, over)
						if errs[i] == nil && !ok {
							errs[i] = fmt.Errorf("invoice %s not inserted", id)
						}
						flags[i] = inv.OverCreditLimit
					}()
				}
				close(start)
				wg.Wait()
				within := 0
				for i := range perRound {
					if errs[i] != nil {
						t.Fatal(errs[i])
					}
					if !flags[i] {
						within++
					}
				}
				if within != 1 {
					t.Fatalf("round %d: %d of %d simultaneous invoices of 600 passed a limit of 1000", round, within, perRound)
				}
			}
		})
	}
}
