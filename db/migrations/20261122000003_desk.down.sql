DROP INDEX tasks_customer_idx;
--bun:split
ALTER TABLE invoices DROP COLUMN over_credit_limit;
