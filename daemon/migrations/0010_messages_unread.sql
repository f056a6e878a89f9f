-- Parts of an incoming mail that could not be read (kept as they came): the
-- names the mail gave them, as a JSON list; NULL when every part was read.
-- The chancellery's daily list names them, so nobody learns of a lost
-- document at the meeting.
ALTER TABLE messages_in ADD COLUMN unread TEXT;
CREATE INDEX messages_in_unread ON messages_in (notified) WHERE unread IS NOT NULL;
