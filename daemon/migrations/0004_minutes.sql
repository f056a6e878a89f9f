-- Minutes: the form to the secretary, the versions sent for signing, the
-- approvals, the change requests, the deliveries of the signed minutes, and
-- the action items ("uppföljning") that stay open until marked done.
--
-- A meeting's minutes are in ``minutes`` (one row per meeting, state:
-- form_sent -> signing -> signed -> distributed; ``changes_requested`` while a
-- signatory's change request waits for the secretary). ``meetings.state`` is
-- left to the agenda.

CREATE TABLE minutes (
    meeting        TEXT PRIMARY KEY REFERENCES meetings(date),
    state          TEXT NOT NULL,              -- form_sent | signing | changes_requested | signed | distributed
    secretary      TEXT NOT NULL,              -- member e-mail the form went to
    form_sent_at   TEXT NOT NULL,
    form_docx_sha256 TEXT NOT NULL,            -- the pre-filled form as sent
    form_rows      TEXT NOT NULL,              -- JSON: the rows the form was pre-filled with
    version        INTEGER NOT NULL DEFAULT 0, -- the current version sent for signing (0: none yet)
    signed_at      TEXT,
    distributed_at TEXT,
    updated_at     TEXT NOT NULL
);

-- Every version of the minutes the secretary returned; signatories approve one
-- version, identified by the SHA-256 of its canonical content.
CREATE TABLE minutes_versions (
    meeting        TEXT NOT NULL REFERENCES minutes(meeting),
    version        INTEGER NOT NULL,
    created_at     TEXT NOT NULL,
    author         TEXT NOT NULL,              -- e-mail of who returned the form
    source_message TEXT,                       -- Message-ID of that mail
    returned_sha256 TEXT NOT NULL,             -- the .docx as received
    content        TEXT NOT NULL,              -- canonical JSON of what was read (what is signed)
    content_sha256 TEXT NOT NULL,
    docx_sha256    TEXT NOT NULL,              -- the minutes document sent for signing
    pdf_sha256     TEXT,                       -- its PDF (NULL if LibreOffice failed)
    signatories    TEXT NOT NULL,              -- JSON list of member e-mails
    superseded_at  TEXT,                       -- a newer version voided this one's approvals
    PRIMARY KEY (meeting, version)
);

CREATE TABLE minutes_approvals (
    id             INTEGER PRIMARY KEY,
    meeting        TEXT NOT NULL,
    version        INTEGER NOT NULL,
    content_sha256 TEXT NOT NULL,
    signatory      TEXT NOT NULL,              -- member e-mail
    approved_at    TEXT NOT NULL,
    message_id     TEXT NOT NULL,
    word           TEXT NOT NULL,              -- the word they wrote, e.g. "Justerat"
    UNIQUE (meeting, version, signatory),
    FOREIGN KEY (meeting, version) REFERENCES minutes_versions(meeting, version)
);

CREATE TABLE minutes_requests (
    id             INTEGER PRIMARY KEY,
    meeting        TEXT NOT NULL,
    version        INTEGER NOT NULL,
    signatory      TEXT NOT NULL,
    at             TEXT NOT NULL,
    text           TEXT NOT NULL,
    message_id     TEXT NOT NULL
);

-- One row per audience and channel: a mail (message_id) or a file (path).
CREATE TABLE minutes_deliveries (
    id             INTEGER PRIMARY KEY,
    meeting        TEXT NOT NULL,
    version        INTEGER NOT NULL,
    audience       TEXT NOT NULL,
    channel        TEXT NOT NULL,              -- mail | folder | skipped
    target         TEXT NOT NULL,              -- JSON list of addresses, the file path, or why skipped
    pdf_sha256     TEXT,
    omitted        INTEGER NOT NULL DEFAULT 0, -- rows left out (communicate: Nej)
    message_id     TEXT,
    at             TEXT NOT NULL
);
CREATE INDEX minutes_deliveries_meeting ON minutes_deliveries (meeting);

-- Action items from signed minutes: open until the responsible replies
-- "Klart" or later minutes mark them done.
CREATE TABLE followups (
    id             INTEGER PRIMARY KEY,
    meeting        TEXT NOT NULL,              -- the meeting that decided it
    item_id        TEXT,                       -- the agenda item, if any
    title          TEXT NOT NULL,              -- the item's title
    responsible    TEXT NOT NULL,              -- a name as written
    responsible_email TEXT,                    -- when the name is a member
    next_step      TEXT NOT NULL,
    due            TEXT,                       -- YYYY-MM-DD of the meeting it comes back to, if any
    communicate    INTEGER NOT NULL DEFAULT 1,
    state          TEXT NOT NULL DEFAULT 'open', -- open | done
    created_at     TEXT NOT NULL,
    done_at        TEXT,
    done_by        TEXT,                       -- e-mail, or 'minutes <date>'
    done_note      TEXT
);
CREATE INDEX followups_state ON followups (state, meeting);
