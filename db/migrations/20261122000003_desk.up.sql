-- The collector's desk. An invoice that took its customer's open balance
-- (in the credit limit's currency) over the limit when it was created is
-- flagged, and stays flagged: it records what happened at creation.
ALTER TABLE invoices ADD COLUMN over_credit_limit BOOLEAN NOT NULL DEFAULT FALSE;
--bun:split
-- The account view lists a customer's tasks.
CREATE INDEX tasks_customer_idx ON tasks (customer_id, status);
