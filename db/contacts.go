package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// ContactLimit is at most Max contacts with one customer in any period Per,
// across all of the customer's invoices; the channels of one step count as
// one contact.
type ContactLimit struct {
	Max int
	Per time.Duration
}

// clockSlack is how far after its own clock a reservation still counts a
// contact as made: a send another worker finished while this one waited for
// the customer's lock, or a worker whose clock runs a little ahead. A
// contact recorded later than that is not one this send came after (in
// tests, a contact planted in the future).
const clockSlack = 5 * time.Minute

// Reservation is what ClaimWithinLimit did.
type Reservation struct {
	// Stored is the outbox row that stands: the new claim when Claimed, else
	// an earlier attempt's row for the same (invoice, step, channel), which
	// holds its slot already.
	Stored  *Message
	Claimed bool
	// Full: the customer had no slot left; nothing was written. Contacts is
	// how many were counted, and RetryAt is when the earliest ages out.
	Full     bool
	Contacts int
	RetryAt  time.Time
}

// ClaimWithinLimit claims m in the outbox, as ClaimMessage does, only if
// the customer has a contact slot left under lim: taking the slot and
// claiming the row are one transaction, and every such transaction for the
// same customer waits for the one before it (it first locks the customer's
// row; on SQLite, transactions begin with the write lock). The slots counted
// are the customer's contacts sent within lim.Per before now and the claims
// still pending (a send may be under way); a claim the provider refused for
// now (released) holds no slot, and taking it back needs one again. So
// several workers on several invoices of one customer, due in the same
// second, let exactly lim.Max contacts through.
func (r *Messages) ClaimWithinLimit(ctx context.Context, m *Message, lim ContactLimit, now time.Time) (Reservation, error) {
	var res Reservation
	err := r.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res = Reservation{}
		if err := lockCustomer(ctx, tx, m.CustomerID); err != nil {
			return err
		}
		existing := new(Message)
		err := tx.NewSelect().Model(existing).
			Where("invoice_id = ? AND step = ? AND channel = ?", m.InvoiceID, m.Step, m.Channel).Scan(ctx)
		released := err == nil && existing.Status == MessagePending && strings.HasPrefix(existing.Detail, ReleasedPrefix)
		switch {
		case err == nil && !released:
			// A retry of a claim that holds its slot (or is settled).
			res.Stored = existing
			return nil
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("load claimed message: %w", err)
		}
		n, first, err := contactsSince(ctx, tx, m.CustomerID, now.Add(-lim.Per), now.Add(clockSlack), m.InvoiceID, m.Step)
		if err != nil {
			return err
		}
		if n >= lim.Max {
			res.Full, res.Contacts, res.RetryAt = true, n, first.Add(lim.Per)
			return nil
		}
		if released {
			// Take the released claim back with the slot just found.
			if _, err := tx.NewUpdate().Model((*Message)(nil)).Set("detail = ''").Set("created_at = ?", now).
				Where("id = ? AND status = ?", existing.ID, MessagePending).Exec(ctx); err != nil {
				return fmt.Errorf("reclaim message: %w", err)
			}
			existing.Detail, existing.CreatedAt = "", now
			res.Stored, res.Claimed = existing, true
			return nil
		}
		if _, err := tx.NewInsert().Model(m).Exec(ctx); err != nil {
			return fmt.Errorf("claim message: %w", err)
		}
		res.Stored, res.Claimed = m, true
		return nil
	})
	return res, err
}

// lockCustomer takes the customer's row lock for the rest of tx, so that
// every transaction that reads, decides and writes about one customer (a
// contact slot, the credit limit) waits for the one before it: a no-op
// update locks the row on PostgreSQL; on SQLite, transactions begin with
// the database's write lock already.
func lockCustomer(ctx context.Context, tx bun.Tx, customerID string) error {
	res, err := tx.NewUpdate().Model((*Customer)(nil)).Set("updated_at = updated_at").Where("id = ?", customerID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("lock customer: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound(sql.ErrNoRows, "customer", customerID)
	}
	return nil
}

// contactsSince counts the distinct (invoice, step) contacts with a
// customer since a moment — sent or delivered since then, or claimed since
// then and still pending unless the provider refused them — leaving out
// one (invoice, step), whose other channels are the same contact. It also
// returns when the earliest of them was made. Contacts sent up to until
// count: callers pass a moment a little after their own clock (clockSlack),
// since the worker that sent one may have recorded it while this one
// waited for the customer's lock, or run a clock ahead of this one's.
func contactsSince(ctx context.Context, idb bun.IDB, customerID string, since, until time.Time, exceptInvoice, exceptStep string) (int, time.Time, error) {
	var rows []struct {
		Contact string    `bun:"contact"`
		First   time.Time `bun:"first"`
	}
	err := idb.NewSelect().Model((*Message)(nil)).
		ColumnExpr("invoice_id || '/' || step AS contact").
		ColumnExpr("MIN(CASE WHEN status = ? THEN created_at ELSE sent_at END) AS first", MessagePending).
		Where("customer_id = ? AND direction = ?", customerID, Outbound).
		Where("channel IN (?)", bun.In([]string{"email", "sms"})).
		WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("status IN (?) AND sent_at > ? AND sent_at <= ?", bun.In([]string{MessageSent, MessageDelivered}), since, until).
				WhereOr("status = ? AND created_at > ? AND detail NOT LIKE ?", MessagePending, since, ReleasedPrefix+"%")
		}).
		Where("NOT (invoice_id = ? AND step = ?)", exceptInvoice, exceptStep).
		GroupExpr("invoice_id, step").
		Scan(ctx, &rows)
	var first time.Time
	for _, row := range rows {
		if first.IsZero() || row.First.Before(first) {
			first = row.First
		}
	}
	return len(rows), first, err
}
