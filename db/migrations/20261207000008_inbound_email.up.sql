-- Files that came with a customer's emailed reply (remittance advice, a
-- statement), kept with the reply in the communication log. The content is
-- base64 text so the column is the same on SQLite and PostgreSQL; its size
-- is bounded by the inbound webhook (docs/inbound.md).
CREATE TABLE message_attachments (
    id            VARCHAR(64)   PRIMARY KEY,
    message_id    VARCHAR(64)   NOT NULL REFERENCES messages (id),
    filename      VARCHAR(255)  NOT NULL,
    content_type  VARCHAR(127)  NOT NULL,
    size_bytes    BIGINT        NOT NULL,
    content       TEXT          NOT NULL,
    created_at    TIMESTAMPTZ   NOT NULL
);
--bun:split
CREATE INDEX message_attachments_message_idx ON message_attachments (message_id);
--bun:split
-- Every email that came in through SendGrid Inbound Parse, matched or not:
-- an unmatched one (no invoice found) is the team's to sort out, open until
-- resolved_at is set.
CREATE TABLE inbound_emails (
    id           VARCHAR(64)   PRIMARY KEY,
    received_at  TIMESTAMPTZ   NOT NULL,
    sender       VARCHAR(320)  NOT NULL,
    recipient    VARCHAR(1000) NOT NULL DEFAULT '',
    subject      VARCHAR(500)  NOT NULL DEFAULT '',
    body         TEXT          NOT NULL DEFAULT '',
    -- matched, unmatched or auto_reply
    status       VARCHAR(16)   NOT NULL,
    -- token, in_reply_to or subject: how it was matched
    matched_by   VARCHAR(16)   NOT NULL DEFAULT '',
    flags        VARCHAR(200)  NOT NULL DEFAULT '',
    invoice_id   VARCHAR(64),
    message_id   VARCHAR(64),
    attachments  INTEGER       NOT NULL DEFAULT 0,
    resolved_at  TIMESTAMPTZ
);
--bun:split
CREATE INDEX inbound_emails_status_idx ON inbound_emails (status, received_at);
