DROP TABLE notes;
--bun:split
DROP TABLE payment_events;
--bun:split
DROP TABLE idempotency_keys;
--bun:split
DROP TABLE api_keys;
--bun:split
DROP TABLE webhook_events;
--bun:split
DROP TABLE opt_outs;
--bun:split
DROP TABLE message_events;
--bun:split
DROP TABLE policies;
--bun:split
DROP TABLE tasks;
--bun:split
DROP TABLE messages;
--bun:split
DROP TABLE payments;
--bun:split
DROP TABLE invoices;
--bun:split
DROP TABLE customers;
