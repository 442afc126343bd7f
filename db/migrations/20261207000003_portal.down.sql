DROP INDEX invoices_portal_due_idx;
--bun:split
DROP INDEX portal_revocations_customer_idx;
--bun:split
DROP INDEX portal_revocations_link_idx;
--bun:split
DROP TABLE portal_revocations;
