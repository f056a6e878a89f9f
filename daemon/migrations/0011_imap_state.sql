-- What an IMAP mailbox must remember across restarts: the UIDVALIDITY each
-- folder had when klg last selected it. A different value at the next start
-- means the folder was recreated or restored while klg was away; klg says so
-- in the log and the audit log, and matches the mail by Message-ID.
CREATE TABLE imap_state (
    account     TEXT NOT NULL,      -- user@host of the mailbox
    folder      TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    seen_at     TEXT NOT NULL,      -- when klg first saw this value (UTC, ISO 8601)
    PRIMARY KEY (account, folder)
);
