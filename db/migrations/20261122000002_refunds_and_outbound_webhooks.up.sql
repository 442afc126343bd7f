-- Refunds, outbound webhooks, and customers' credit terms. A new file rather than an edit of the first:
-- databases that ran the first migration get these changes too.
--
-- A reported payment event is a payment or a refund.
ALTER TABLE payment_events ADD COLUMN kind VARCHAR(16) NOT NULL DEFAULT 'payment';
--bun:split
-- How many timeline events of each invoice have been offered to webhook
-- subscribers, so a retried status save offers none twice.
ALTER TABLE invoices ADD COLUMN events_published INTEGER NOT NULL DEFAULT 0;
--bun:split
-- A customer's credit limit (in its currency; NULL: none set) and payment
-- terms in days (0: none; an invoice without a due date is due this many
-- days after issue).
ALTER TABLE customers ADD COLUMN credit_limit_minor BIGINT;
--bun:split
ALTER TABLE customers ADD COLUMN credit_currency VARCHAR(3) NOT NULL DEFAULT '';
--bun:split
ALTER TABLE customers ADD COLUMN payment_terms_days INTEGER NOT NULL DEFAULT 0;
--bun:split
CREATE TABLE webhook_subscriptions (
    id          VARCHAR(64)   PRIMARY KEY,
    url         VARCHAR(2000) NOT NULL,
    events      VARCHAR(1000) NOT NULL, -- comma-separated event types
    secret      VARCHAR(128)  NOT NULL, -- signs deliveries (HMAC-SHA256)
    description VARCHAR(500)  NOT NULL DEFAULT '',
    active      BOOLEAN       NOT NULL DEFAULT TRUE,
    created_at  TIMESTAMPTZ   NOT NULL
);
--bun:split
CREATE TABLE webhook_deliveries (
    id              VARCHAR(64)  PRIMARY KEY,
    subscription_id VARCHAR(64)  NOT NULL REFERENCES webhook_subscriptions (id),
    event_id        VARCHAR(200) NOT NULL,
    event_type      VARCHAR(64)  NOT NULL,
    invoice_id      VARCHAR(64)  NOT NULL DEFAULT '',
    payload         TEXT         NOT NULL,
    status          VARCHAR(16)  NOT NULL, -- pending, delivered, failed
    attempts        INTEGER      NOT NULL DEFAULT 0,
    last_error      VARCHAR(500) NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ  NOT NULL,
    dispatched_at   TIMESTAMPTZ,
    delivered_at    TIMESTAMPTZ,
    UNIQUE (subscription_id, event_id)
);
--bun:split
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (invoice_id, status);
--bun:split
CREATE TABLE webhook_attempts (
    delivery_id  VARCHAR(64)  NOT NULL REFERENCES webhook_deliveries (id),
    attempt      INTEGER      NOT NULL,
    started_at   TIMESTAMPTZ  NOT NULL,
    duration_ms  BIGINT       NOT NULL,
    status_code  INTEGER      NOT NULL DEFAULT 0,
    error        VARCHAR(500) NOT NULL DEFAULT '',
    PRIMARY KEY (delivery_id, attempt)
);
