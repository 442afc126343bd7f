-- Payment plans (issue 17), one row per plan of an invoice, as its workflow
-- last saved it: what the plan-kept report counts (reports/plans.go).
CREATE TABLE payment_plans (
    invoice_id   VARCHAR(64)  NOT NULL REFERENCES invoices (id),
    number       INTEGER      NOT NULL,
    currency     VARCHAR(3)   NOT NULL,
    -- pending, active, completed, broken, declined, cancelled
    state        VARCHAR(16)  NOT NULL,
    total_minor  BIGINT       NOT NULL,
    instalments  INTEGER      NOT NULL,
    proposed_at  TIMESTAMPTZ  NOT NULL,
    agreed_at    TIMESTAMPTZ,
    ended_at     TIMESTAMPTZ,
    updated_at   TIMESTAMPTZ  NOT NULL,
    PRIMARY KEY (invoice_id, number)
);
--bun:split
CREATE INDEX payment_plans_ended_idx ON payment_plans (ended_at, state, currency);
