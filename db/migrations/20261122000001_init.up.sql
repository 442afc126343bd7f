-- Customers, invoices, payments and every message sent. Portable SQL: the same
-- file runs on PostgreSQL and SQLite.
CREATE TABLE customers (
    id          VARCHAR(128) PRIMARY KEY,
    name        VARCHAR(300) NOT NULL,
    email       VARCHAR(320) NOT NULL,
    phone       VARCHAR(32)  NOT NULL DEFAULT '',
    timezone    VARCHAR(64)  NOT NULL,
    locale          VARCHAR(16)  NOT NULL DEFAULT 'en',
    account_manager VARCHAR(200) NOT NULL DEFAULT '',
    default_policy  VARCHAR(64)  NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ  NOT NULL,
    updated_at  TIMESTAMPTZ  NOT NULL
);
--bun:split
CREATE TABLE invoices (
    id              VARCHAR(64)  PRIMARY KEY,
    number          VARCHAR(128) NOT NULL UNIQUE,
    customer_id     VARCHAR(128) NOT NULL REFERENCES customers (id),
    amount_minor    BIGINT       NOT NULL,
    balance_minor   BIGINT       NOT NULL,
    currency        VARCHAR(3)   NOT NULL,
    issued_at       TIMESTAMPTZ  NOT NULL,
    due_at          TIMESTAMPTZ  NOT NULL,
    stage           VARCHAR(32)  NOT NULL,
    policy_name     VARCHAR(64)  NOT NULL,
    policy_version  INTEGER      NOT NULL,
    workflow_id     VARCHAR(200) NOT NULL,
    status          TEXT,
    closed_at       TIMESTAMPTZ,
    created_at      TIMESTAMPTZ  NOT NULL,
    updated_at      TIMESTAMPTZ  NOT NULL
);
--bun:split
CREATE INDEX invoices_customer_id_idx ON invoices (customer_id);
--bun:split
CREATE INDEX invoices_stage_idx ON invoices (stage);
--bun:split
CREATE TABLE payments (
    id            VARCHAR(64)  PRIMARY KEY,
    invoice_id    VARCHAR(64)  NOT NULL REFERENCES invoices (id),
    reference     VARCHAR(200) NOT NULL,
    amount_minor  BIGINT       NOT NULL,
    currency      VARCHAR(3)   NOT NULL,
    received_at   TIMESTAMPTZ  NOT NULL,
    UNIQUE (invoice_id, reference)
);
--bun:split
CREATE TABLE messages (
    id                   VARCHAR(64)  PRIMARY KEY,
    invoice_id           VARCHAR(64)  NOT NULL REFERENCES invoices (id),
    customer_id          VARCHAR(128) NOT NULL,
    step                 VARCHAR(64)  NOT NULL,
    channel              VARCHAR(16)  NOT NULL,
    direction            VARCHAR(8)   NOT NULL DEFAULT 'out',
    recipient            VARCHAR(320) NOT NULL DEFAULT '',
    subject              VARCHAR(500) NOT NULL DEFAULT '',
    body                 TEXT         NOT NULL DEFAULT '',
    html                 TEXT         NOT NULL DEFAULT '',
    status               VARCHAR(16)  NOT NULL,
    detail               VARCHAR(500) NOT NULL DEFAULT '',
    provider             VARCHAR(32)  NOT NULL DEFAULT '',
    provider_message_id  VARCHAR(200) NOT NULL DEFAULT '',
    scheduled_at         TIMESTAMPTZ  NOT NULL,
    created_at           TIMESTAMPTZ  NOT NULL,
    sent_at              TIMESTAMPTZ,
    UNIQUE (invoice_id, step, channel)
);
--bun:split
CREATE INDEX messages_created_at_idx ON messages (created_at);
--bun:split
CREATE INDEX messages_customer_idx ON messages (customer_id, created_at);
--bun:split
CREATE INDEX messages_provider_id_idx ON messages (provider_message_id);
--bun:split
CREATE TABLE message_events (
    id          VARCHAR(64)  PRIMARY KEY,
    message_id  VARCHAR(64)  NOT NULL REFERENCES messages (id),
    status      VARCHAR(32)  NOT NULL,
    detail      VARCHAR(500) NOT NULL DEFAULT '',
    source      VARCHAR(32)  NOT NULL,
    occurred_at TIMESTAMPTZ  NOT NULL
);
--bun:split
CREATE INDEX message_events_message_idx ON message_events (message_id, occurred_at);
--bun:split
CREATE TABLE opt_outs (
    channel     VARCHAR(16)  NOT NULL,
    address     VARCHAR(320) NOT NULL,
    reason      VARCHAR(200) NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ  NOT NULL,
    PRIMARY KEY (channel, address)
);
--bun:split
CREATE TABLE webhook_events (
    provider     VARCHAR(32)  NOT NULL,
    event_id     VARCHAR(200) NOT NULL,
    received_at  TIMESTAMPTZ  NOT NULL,
    PRIMARY KEY (provider, event_id)
);
--bun:split
CREATE TABLE tasks (
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
CREATE INDEX tasks_status_assignee_idx ON tasks (status, assignee);
--bun:split
CREATE TABLE policies (
    name        VARCHAR(64)  NOT NULL,
    version     INTEGER      NOT NULL,
    document    TEXT         NOT NULL,
    created_at  TIMESTAMPTZ  NOT NULL,
    PRIMARY KEY (name, version)
);
--bun:split
CREATE TABLE api_keys (
    id          VARCHAR(64)  PRIMARY KEY,
    name        VARCHAR(200) NOT NULL,
    role        VARCHAR(16)  NOT NULL,
    prefix      VARCHAR(16)  NOT NULL,
    key_hash    VARCHAR(64)  NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ  NOT NULL,
    revoked_at  TIMESTAMPTZ
);
--bun:split
CREATE TABLE idempotency_keys (
    api_key_id    VARCHAR(64)  NOT NULL,
    idem_key      VARCHAR(255) NOT NULL,
    request_hash  VARCHAR(64)  NOT NULL,
    status        INTEGER      NOT NULL DEFAULT 0,
    response      TEXT         NOT NULL DEFAULT '',
    created_at    TIMESTAMPTZ  NOT NULL,
    PRIMARY KEY (api_key_id, idem_key)
);
--bun:split
CREATE TABLE payment_events (
    id            VARCHAR(64)  PRIMARY KEY,
    source        VARCHAR(32)  NOT NULL,
    event_id      VARCHAR(200) NOT NULL,
    invoice_id    VARCHAR(64)  NOT NULL DEFAULT '',
    invoice_ref   VARCHAR(200) NOT NULL DEFAULT '',
    amount_minor  BIGINT       NOT NULL DEFAULT 0,
    currency      VARCHAR(3)   NOT NULL DEFAULT '',
    reference     VARCHAR(200) NOT NULL DEFAULT '',
    status        VARCHAR(32)  NOT NULL,
    detail        VARCHAR(500) NOT NULL DEFAULT '',
    received_at   TIMESTAMPTZ  NOT NULL,
    UNIQUE (source, event_id)
);
--bun:split
CREATE TABLE notes (
    id           VARCHAR(64)  PRIMARY KEY,
    customer_id  VARCHAR(128) NOT NULL REFERENCES customers (id),
    invoice_id   VARCHAR(64)  NOT NULL DEFAULT '',
    kind         VARCHAR(16)  NOT NULL,
    body         TEXT         NOT NULL,
    author       VARCHAR(200) NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ  NOT NULL
);
--bun:split
CREATE INDEX notes_customer_idx ON notes (customer_id, created_at);
