-- Replies left unmatched before team tasks existed get theirs now, so the
-- team's queue holds every open unmatched reply. They go to the whole team
-- (no customer, no assignee) and are due at once: they have waited already.
INSERT INTO tasks (id, invoice_id, customer_id, task_key, kind, assignee, title, detail, status, outcome, note, due_at, created_at)
SELECT 'inbound-' || e.id, NULL, NULL, 'inbound:' || e.id, 'unmatched_reply', '',
       SUBSTR('Reply from ' || e.sender || ' matched no invoice: ' || COALESCE(NULLIF(e.subject, ''), '(no subject)'), 1, 500),
       SUBSTR(e.body, 1, 10000), 'open', '', '', e.received_at, e.received_at
  FROM inbound_emails e
 WHERE e.status = 'unmatched' AND e.resolved_at IS NULL AND e.task_id IS NULL;
--bun:split
UPDATE inbound_emails SET task_id = 'inbound-' || id
 WHERE status = 'unmatched' AND resolved_at IS NULL AND task_id IS NULL;
