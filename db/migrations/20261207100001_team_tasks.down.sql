DROP INDEX customers_email_idx;
--bun:split
DROP INDEX inbound_emails_open_idx;
--bun:split
ALTER TABLE inbound_emails DROP COLUMN task_id;
--bun:split
ALTER TABLE inbound_emails DROP COLUMN not_kept;
--bun:split
ALTER TABLE inbound_emails DROP COLUMN html;
--bun:split
-- Attachments of replies never attached to an invoice have no place in
-- the older table.
CREATE TABLE message_attachments_prev (
    id            VARCHAR(64)   PRIMARY KEY,
    message_id    VARCHAR(64)   NOT NULL REFERENCES messages (id),
    filename      VARCHAR(255)  NOT NULL,
    content_type  VARCHAR(127)  NOT NULL,
    size_bytes    BIGINT        NOT NULL,
    content       TEXT          NOT NULL,
    created_at    TIMESTAMPTZ   NOT NULL
);
--bun:split
INSERT INTO message_attachments_prev (id, message_id, filename, content_type, size_bytes, content, created_at)
SELECT id, message_id, filename, content_type, size_bytes, content, created_at FROM message_attachments WHERE message_id IS NOT NULL;
--bun:split
DROP TABLE message_attachments;
--bun:split
ALTER TABLE message_attachments_prev RENAME TO message_attachments;
--bun:split
CREATE INDEX message_attachments_message_idx ON message_attachments (message_id);
--bun:split
-- Team tasks (no invoice) have no place in the older table.
CREATE TABLE tasks_prev (
    id            VARCHAR(64)  PRIMARY KEY,
    invoice_id    VARCHAR(64)  NOT NULL REFERENCES invoices (id),
    customer_id   VARCHAR(128) NOT NULL,
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
    UNIQUE (invoice_id, task_key)
);
--bun:split
INSERT INTO tasks_prev (id, invoice_id, customer_id, task_key, kind, assignee, title, detail, status, outcome, note, due_at, created_at, completed_at)
SELECT id, invoice_id, COALESCE(customer_id, ''), task_key, kind, assignee, title, detail, status, outcome, note, due_at, created_at, completed_at
  FROM tasks WHERE invoice_id IS NOT NULL;
--bun:split
DROP TABLE tasks;
--bun:split
ALTER TABLE tasks_prev RENAME TO tasks;
--bun:split
CREATE INDEX tasks_status_assignee_idx ON tasks (status, assignee);
--bun:split
CREATE INDEX tasks_customer_idx ON tasks (customer_id, status);
--bun:split
CREATE INDEX tasks_open_invoice_idx ON tasks (invoice_id, due_at) WHERE status = 'open';
