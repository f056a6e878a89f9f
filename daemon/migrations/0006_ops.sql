-- Operations and security: the storm guard counts automatic answers per
-- sender, and `klg status` / `klg tick` stay fast on ten years of history.

-- The address whose incoming mail this outgoing mail answers (Ctx.send with
-- reply_to=…); NULL for mail nobody asked for (agendas, reminders, notices).
ALTER TABLE outbox ADD COLUMN answer_to TEXT;
CREATE INDEX outbox_answer_to ON outbox (answer_to, created_at);

-- `klg status` counts quarantined mail, overall and in the last seven days.
CREATE INDEX messages_in_disposition ON messages_in (disposition, received_at);

-- The outbox worker asks on every pass for the queued mail, oldest first;
-- without this it reads the whole outbox (7 ms at 50,000 mails, growing).
CREATE INDEX outbox_queued ON outbox (id) WHERE state = 'queued';
