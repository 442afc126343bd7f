DROP INDEX payments_received_at_idx;
--bun:split
DROP INDEX credit_applications_status_idx;
--bun:split
DROP TABLE credit_applications;
