-- A reply that matched no invoice is a task for the team (kind
-- unmatched_reply): it has no invoice, and a customer only when the
-- sender's address is one customer's. Every other task keeps its invoice,
-- which the CHECK holds. SQLite cannot drop a NOT NULL, so the table is
-- built again, on both databases alike, with the same indexes.
CREATE TABLE tasks_next (
    id            VARCHAR(64)  PRIMARY KEY,
    invoice_id    VARCHAR(64)  REFERENCES invoices (id),
    customer_id   VARCHAR(128),
    task_key      VARCHAR(128) NOT NULL,
    kind          VARCHAR(64)  NOT NULL,
    assignee      VARCHAR(200) NOT NULL DEFAULT '',
    title         VARCHAR(500) NOT NULL,
    detail        TEXT         NOT NULL DEFAULT '',
    status        VARCHAR(16)  NOT NULL,
    outcome       VARCHAR(64)  NOT NULL DEFAULT '',
    note          TEXT         NOT NULL DEFAULT '',
    due_at        TIMESTAMPTZ  NOT NULL,
    created_at    TIMESTAMPTZ  NOT NULL,
    completed_at  TIMESTAMPTZ,
    UNIQUE (invoice_id, task_key),
    CHECK (invoice_id IS NOT NULL OR kind = 'unmatched_reply')
);
--bun:split
INSERT INTO tasks_next (id, invoice_id, customer_id, task_key, kind, assignee, title, detail, status, outcome, note, due_at, created_at, completed_at)
SELECT id, invoice_id, customer_id, task_key, kind, assignee, title, detail, status, outcome, note, due_at, created_at, completed_at FROM tasks;
--bun:split
DROP TABLE tasks;
--bun:split
ALTER TABLE tasks_next RENAME TO tasks;
--bun:split
CREATE INDEX tasks_status_assignee_idx ON tasks (status, assignee);
--bun:split
CREATE INDEX tasks_customer_idx ON tasks (customer_id, status);
--bun:split
CREATE INDEX tasks_open_invoice_idx ON tasks (invoice_id, due_at) WHERE status = 'open';
--bun:split
-- A team task is keyed by its inbound email, once.
CREATE UNIQUE INDEX tasks_team_key_idx ON tasks (task_key) WHERE invoice_id IS NULL;
--bun:split
-- An unmatched reply's attachments are kept with the inbound email, and
-- join the communication log (message_id) when someone attaches the reply
-- to an invoice.
CREATE TABLE message_attachments_next (
    id                VARCHAR(64)   PRIMARY KEY,
    message_id        VARCHAR(64)   REFERENCES messages (id),
    inbound_email_id  VARCHAR(64),
    filename          VARCHAR(255)  NOT NULL,
    content_type      VARCHAR(127)  NOT NULL,
    size_bytes        BIGINT        NOT NULL,
    content           TEXT          NOT NULL,
    created_at        TIMESTAMPTZ   NOT NULL,
    CHECK (message_id IS NOT NULL OR inbound_email_id IS NOT NULL)
);
--bun:split
INSERT INTO message_attachments_next (id, message_id, inbound_email_id, filename, content_type, size_bytes, content, created_at)
SELECT a.id, a.message_id, (SELECT MIN(e.id) FROM inbound_emails e WHERE e.message_id = a.message_id), a.filename, a.content_type,
       a.size_bytes, a.content, a.created_at
  FROM message_attachments a;
--bun:split
DROP TABLE message_attachments;
--bun:split
ALTER TABLE message_attachments_next RENAME TO message_attachments;
--bun:split
CREATE INDEX message_attachments_message_idx ON message_attachments (message_id);
--bun:split
CREATE INDEX message_attachments_inbound_idx ON message_attachments (inbound_email_id);
--bun:split
-- What an unmatched reply needs to be attached later as if it had matched:
-- its sanitised HTML, the attachments not kept (and why), and its team task.
ALTER TABLE inbound_emails ADD COLUMN html TEXT NOT NULL DEFAULT '';
--bun:split
ALTER TABLE inbound_emails ADD COLUMN not_kept VARCHAR(1000) NOT NULL DEFAULT '';
--bun:split
ALTER TABLE inbound_emails ADD COLUMN task_id VARCHAR(64);
--bun:split
-- The desk's page of open unmatched replies, newest first, a page at a time.
CREATE INDEX inbound_emails_open_idx ON inbound_emails (status, received_at, id) WHERE resolved_at IS NULL;
--bun:split
-- A reply's sender is looked up among the customers' addresses.
CREATE INDEX customers_email_idx ON customers (LOWER(email));
