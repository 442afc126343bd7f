DROP TABLE webhook_attempts;
--bun:split
DROP TABLE webhook_deliveries;
--bun:split
DROP TABLE webhook_subscriptions;
--bun:split
ALTER TABLE customers DROP COLUMN payment_terms_days;
--bun:split
ALTER TABLE customers DROP COLUMN credit_currency;
--bun:split
ALTER TABLE customers DROP COLUMN credit_limit_minor;
--bun:split
ALTER TABLE invoices DROP COLUMN events_published;
--bun:split
ALTER TABLE payment_events DROP COLUMN kind;
