-- When each API key was last used (to the minute), for GET /v1/keys.
ALTER TABLE api_keys ADD COLUMN last_used_at TIMESTAMPTZ;
--bun:split
-- Who changed how the engine behaves, and when: policies, webhook
-- subscriptions, API keys and their roles (GET /v1/audit).
CREATE TABLE audit_log (
    id           VARCHAR(64)   PRIMARY KEY,
    at           TIMESTAMPTZ   NOT NULL,
    -- the API key that made the change, by id and by name at the time
    actor_key_id VARCHAR(64)   NOT NULL,
    actor        VARCHAR(200)  NOT NULL,
    actor_role   VARCHAR(16)   NOT NULL,
    -- what was done ("POST /v1/policies") and to what
    action       VARCHAR(200)  NOT NULL,
    subject_kind VARCHAR(32)   NOT NULL,
    subject_id   VARCHAR(200)  NOT NULL DEFAULT '',
    -- the change's non-secret particulars, as JSON
    detail       TEXT          NOT NULL DEFAULT '{}'
);
--bun:split
CREATE INDEX audit_log_at_idx ON audit_log (at, id);
