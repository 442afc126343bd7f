DROP INDEX audit_log_at_idx;
--bun:split
DROP TABLE audit_log;
--bun:split
ALTER TABLE api_keys DROP COLUMN last_used_at;
