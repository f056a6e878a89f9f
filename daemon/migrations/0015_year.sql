-- Issue 17, the group's year. Who comes to a meeting: a member's regrets (or
-- "coming after all") for one meeting, by mail or by a calendar reply, with
-- the stand-in who comes instead. One row per member and meeting; the latest
-- message wins. Only the member's own real replies write here.
CREATE TABLE attendance (
    meeting TEXT NOT NULL,              -- YYYY-MM-DD
    email TEXT NOT NULL,                -- the member's configured address
    state TEXT NOT NULL,                -- attendance.AttendanceState: absent, present
    reason TEXT,
    substitute_name TEXT,               -- as written or as configured
    substitute_email TEXT,              -- only a configured stand-in has one (klg mails only them)
    source TEXT NOT NULL,               -- mail, calendar
    message_id TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (meeting, email)
);
-- The last day away an out-of-office reply named. Never counts as an answer:
-- it only marks the member as probably absent for meetings up to that day.
CREATE TABLE away (
    email TEXT PRIMARY KEY,
    through TEXT NOT NULL,              -- the last day away, YYYY-MM-DD
    seen_at TEXT NOT NULL,
    message_id TEXT
);
-- Invited presenters who are not members (guests): one row per item. A guest
-- gets their own invitation for the item's slot and the item's documents,
-- nothing else; ``sequence`` counts the .ics versions of their invitation.
CREATE TABLE guests (
    item_id TEXT PRIMARY KEY REFERENCES items(id),
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    state TEXT NOT NULL,                -- guests.GuestState: named, invited, declined, cancelled
    meeting TEXT,                       -- the meeting of the last invitation
    slot_start TEXT, slot_end TEXT,     -- HH:MM of the last invitation
    sequence INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);
CREATE INDEX guests_email ON guests (email);
