-- Exactly once on the way out: the outbox commits that it is about to hand a
-- mail to the transport before it does. A mail found queued with this set
-- after a restart was perhaps delivered by the attempt that died; the outbox
-- asks the transport (the Maildir file, the Sent-folder copy) before it sends
-- again. NULL: no attempt began since the mail was queued or last failed.
ALTER TABLE outbox ADD COLUMN attempt_started_at TEXT;
-- How many attempts were found interrupted, and how many of those had to be
-- sent again without proof that the first one failed (a possible duplicate).
ALTER TABLE outbox ADD COLUMN interrupted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN resent_unsure INTEGER NOT NULL DEFAULT 0;
