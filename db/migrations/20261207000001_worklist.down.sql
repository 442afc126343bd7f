DROP INDEX customers_manager_idx;
--bun:split
DROP INDEX tasks_open_invoice_idx;
--bun:split
DROP INDEX invoices_customer_due_idx;
--bun:split
DROP INDEX invoices_customer_open_idx;
--bun:split
DROP INDEX invoices_open_due_idx;
--bun:split
DROP INDEX invoices_unfilled_idx;
--bun:split
ALTER TABLE customers DROP COLUMN payment_trend;
--bun:split
ALTER TABLE invoices DROP COLUMN promise_until;
--bun:split
ALTER TABLE invoices DROP COLUMN broken_promises;
--bun:split
ALTER TABLE invoices DROP COLUMN amount_log;
--bun:split
ALTER TABLE invoices DROP COLUMN due_unix;
