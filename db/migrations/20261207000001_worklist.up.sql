-- The worklist and the account view are answered by the database over the
-- whole book (db/worklist.go). What the priority needs and SQL cannot
-- compute portably is stored beside the invoice and kept current where it
-- changes; days overdue are derived at read time from due_unix.
--
-- due_unix: the due time in seconds since 1970 (days overdue are
-- (now - due_unix) / 86400 on SQLite and PostgreSQL alike).
ALTER TABLE invoices ADD COLUMN due_unix BIGINT;
--bun:split
-- amount_log: log10(1 + balance in major units) x 10,000, rounded (0 when
-- nothing is owed); the worklist's amount part is a multiple of it.
ALTER TABLE invoices ADD COLUMN amount_log INTEGER;
--bun:split
-- broken_promises: how many promises of the saved timeline were broken.
ALTER TABLE invoices ADD COLUMN broken_promises INTEGER NOT NULL DEFAULT 0;
--bun:split
-- promise_until: the open promise's date in seconds since 1970, if any.
ALTER TABLE invoices ADD COLUMN promise_until BIGINT;
--bun:split
-- payment_trend: the customer's payment trend (desk.DefaultTrendRule),
-- NULL until first computed.
ALTER TABLE customers ADD COLUMN payment_trend VARCHAR(16);
--bun:split
-- Rows still to backfill (written before these columns, or by raw SQL):
-- empty once filled, so the check after each migration costs nothing.
CREATE INDEX invoices_unfilled_idx ON invoices (id) WHERE due_unix IS NULL OR amount_log IS NULL;
--bun:split
-- The worklist reads open invoices only.
CREATE INDEX invoices_open_due_idx ON invoices (due_unix, id) WHERE closed_at IS NULL;
--bun:split
-- The account view pages a customer's invoices by due date: the open ones,
-- then the closed ones (latest due first, the same index read backwards).
CREATE INDEX invoices_customer_open_idx ON invoices (customer_id, due_unix) WHERE closed_at IS NULL;
--bun:split
CREATE INDEX invoices_customer_due_idx ON invoices (customer_id, due_unix);
--bun:split
-- The worklist sums each invoice's open tasks.
CREATE INDEX tasks_open_invoice_idx ON tasks (invoice_id, due_at) WHERE status = 'open';
--bun:split
-- The worklist filters by account manager.
CREATE INDEX customers_manager_idx ON customers (account_manager, id);
-- (The account view pages a customer's payments by payments_invoice_received_idx,
-- which 20261207000002 creates.)
