-- The reports are computed by the database (reports/, db/reports.go). The
-- timeline-based ones (promises, disputes, collected by stage and by channel,
-- messages by stage) aggregate these rows: the events of each invoice's
-- timeline that a report counts, written when the workflow's status is saved
-- (db/events.go), with what the timeline said just before each (the stage it
-- counts under, the channel last used, whether a promise stood), so that every
-- report is a GROUP BY over a period.
CREATE TABLE invoice_events (
    invoice_id     VARCHAR(64)  NOT NULL REFERENCES invoices (id),
    -- the event's position in the invoice's timeline (from 0); timelines
    -- only ever grow, so a position names one event for good
    seq            INTEGER      NOT NULL,
    kind           VARCHAR(32)  NOT NULL,
    at             TIMESTAMPTZ  NOT NULL,
    currency       VARCHAR(3)   NOT NULL,
    step           VARCHAR(64)  NOT NULL DEFAULT '',
    -- the event's own channel: a message's; a payment's when it records one
    channel        VARCHAR(16)  NOT NULL DEFAULT '',
    -- a message's outcome, a dispute's reason, "not applied" on a payment
    outcome        VARCHAR(200) NOT NULL DEFAULT '',
    amount_minor   BIGINT       NOT NULL DEFAULT 0,
    -- the stage the event counts under: a message, its policy step's stage
    -- (else the invoice's then); anything else, the invoice's stage just before it
    stage          VARCHAR(32)  NOT NULL,
    -- the channel of the last message sent to the customer before the event
    -- ("agency" once placed), or none
    prior_channel  VARCHAR(16)  NOT NULL DEFAULT 'none',
    -- a promise to pay stood just before the event
    promise_open   BOOLEAN      NOT NULL DEFAULT FALSE,
    PRIMARY KEY (invoice_id, seq)
);
--bun:split
-- Every timeline report reads one kind of event over a period (messages by
-- stage, the most numerous, from the index alone on PostgreSQL).
CREATE INDEX invoice_events_kind_at_idx ON invoice_events (kind, at, currency, stage);
--bun:split
-- One invoice's payments by when they arrived: its balance at a moment
-- (a dispute's; the receivables on SQLite).
CREATE INDEX payments_invoice_received_idx ON payments (invoice_id, received_at, amount_minor);
--bun:split
-- Receivables at a moment: invoices not closed before it (open ones have no closed_at).
CREATE INDEX invoices_closed_at_idx ON invoices (closed_at);
--bun:split
-- Credit sales by month, and each currency's first invoice.
CREATE INDEX invoices_currency_issued_idx ON invoices (currency, issued_at);
--bun:split
-- (with what the sum reads, so PostgreSQL answers from the index alone)
CREATE INDEX invoices_issued_at_idx ON invoices (issued_at, currency, stage, amount_minor);
