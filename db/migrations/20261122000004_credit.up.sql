-- Credit applications: what a company asked for, how it scored, and what was
-- decided (automatically inside the configured bounds, else by management).
CREATE TABLE credit_applications (
    id                    VARCHAR(64)   PRIMARY KEY,
    customer_id           VARCHAR(128)  NOT NULL REFERENCES customers (id),
    -- true when the customer was created by this application (a new applicant)
    new_customer          BOOLEAN       NOT NULL DEFAULT FALSE,
    company_name          VARCHAR(300)  NOT NULL,
    registration_number   VARCHAR(100)  NOT NULL DEFAULT '',
    address               VARCHAR(1000) NOT NULL DEFAULT '',
    contact_email         VARCHAR(320)  NOT NULL DEFAULT '',
    requested_limit_minor BIGINT        NOT NULL,
    currency              VARCHAR(3)    NOT NULL,
    requested_terms_days  INTEGER       NOT NULL,
    trade_references      TEXT          NOT NULL DEFAULT '[]', -- JSON list
    -- submitted, pending_review, approved, declined
    status                VARCHAR(16)   NOT NULL,
    score                 INTEGER,
    reasons               TEXT          NOT NULL DEFAULT '[]', -- JSON list
    -- who must decide while pending_review, by when, and when they were reminded
    reviewer              VARCHAR(200)  NOT NULL DEFAULT '',
    review_due_at         TIMESTAMPTZ,
    reminded_at           TIMESTAMPTZ,
    approved_limit_minor  BIGINT,
    approved_terms_days   INTEGER,
    decision_note         VARCHAR(1000) NOT NULL DEFAULT '',
    decided_by            VARCHAR(200)  NOT NULL DEFAULT '',
    decided_at            TIMESTAMPTZ,
    workflow_id           VARCHAR(200)  NOT NULL,
    created_at            TIMESTAMPTZ   NOT NULL,
    updated_at            TIMESTAMPTZ   NOT NULL
);
--bun:split
CREATE INDEX credit_applications_status_idx ON credit_applications (status, created_at);
--bun:split
-- Reports read payments by when they arrived.
CREATE INDEX payments_received_at_idx ON payments (received_at);
