UPDATE inbound_emails SET task_id = NULL WHERE task_id LIKE 'inbound-%';
--bun:split
DELETE FROM tasks WHERE kind = 'unmatched_reply' AND id LIKE 'inbound-%';
