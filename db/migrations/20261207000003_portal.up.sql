-- Revoked customer portal links (package portal). A row names one link
-- (link_id), or voids every link of a customer issued before a moment
-- (customer_id and revoked_before, link_id empty). Links are otherwise
-- stateless (signed, expiring tokens): nothing is stored when one is made.
CREATE TABLE portal_revocations (
    id              VARCHAR(64)  PRIMARY KEY,
    link_id         VARCHAR(64)  NOT NULL DEFAULT '',
    customer_id     VARCHAR(128) NOT NULL DEFAULT '',
    revoked_before  TIMESTAMPTZ,
    reason          VARCHAR(500) NOT NULL DEFAULT '',
    revoked_by      VARCHAR(200) NOT NULL,
    created_at      TIMESTAMPTZ  NOT NULL
);
--bun:split
CREATE INDEX portal_revocations_link_idx ON portal_revocations (link_id);
--bun:split
CREATE INDEX portal_revocations_customer_idx ON portal_revocations (customer_id, revoked_before);
--bun:split
-- The portal lists a customer's open invoices by due date (its statement
-- walks their payments by payments_invoice_received_idx, 20261207000002).
CREATE INDEX invoices_portal_due_idx ON invoices (customer_id, due_at, id);
