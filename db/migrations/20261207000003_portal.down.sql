DROP INDEX payments_invoice_received_idx;
--bun:split
DROP INDEX invoices_customer_due_idx;
--bun:split
DROP INDEX portal_revocations_customer_idx;
--bun:split
DROP INDEX portal_revocations_link_idx;
--bun:split
DROP TABLE portal_revocations;
