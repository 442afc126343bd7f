DROP TABLE inbound_emails;
--bun:split
DROP TABLE message_attachments;
