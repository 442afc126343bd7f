DROP INDEX invoices_issued_at_idx;
--bun:split
DROP INDEX invoices_currency_issued_idx;
--bun:split
DROP INDEX invoices_closed_at_idx;
--bun:split
DROP INDEX payments_invoice_received_idx;
--bun:split
DROP TABLE invoice_events;
