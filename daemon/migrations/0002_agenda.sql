-- The agenda week: every version of every meeting's agenda, kept for good.
--
-- ``rows`` is the agenda in order, a JSON list of
--   {"id": item id or null, "type": "item"|"standing"|"break", "start": "HH:MM",
--    "end": "HH:MM", "title", "presenter", "kind", "minutes", "attachments": [names],
--    "origin", "written_procedure", "carried_from"}
-- The version that went to the members is the newest one with final_sent_at
-- (see daemon.agenda.final_version).

CREATE TABLE agenda_versions (
    meeting        TEXT NOT NULL REFERENCES meetings(date),
    version        INTEGER NOT NULL,           -- 1, 2, … per meeting
    created_at     TEXT NOT NULL,
    source         TEXT NOT NULL,              -- draft | review
    author         TEXT NOT NULL,              -- 'klg' or the reviewer's e-mail
    source_message TEXT,                       -- Message-ID of the reply with the edited document
    returned_sha256 TEXT,                      -- the .docx the reviewer sent back, as received
    docx_sha256    TEXT NOT NULL,              -- this version rendered for review
    rows           TEXT NOT NULL,              -- JSON, see above
    warnings       TEXT NOT NULL DEFAULT '[]', -- JSON list of plain-language warnings
    changes        TEXT NOT NULL DEFAULT '[]', -- JSON list of changes from the previous version
    break_at       TEXT,                       -- 'HH:MM' the break is placed nearest to; NULL: no break
    approved_at    TEXT,
    approved_by    TEXT,                       -- e-mail, or 'klg' when sent unapproved by policy
    final_sent_at  TEXT,                       -- when this version went to all members
    final_kind     TEXT,                       -- final | update
    final_docx_sha256 TEXT,                    -- the document as sent to the members
    pdf_sha256     TEXT,
    book_sha256    TEXT,                       -- the meeting book: agenda + every attachment
    invite_sequence INTEGER,                   -- SEQUENCE of the .ics sent with it
    PRIMARY KEY (meeting, version)
);
CREATE INDEX agenda_versions_sent ON agenda_versions (meeting, final_sent_at);

-- PDFs made by LibreOffice from attachments, so a document is converted once.
CREATE TABLE pdf_cache (
    source_sha256  TEXT PRIMARY KEY,
    pdf_sha256     TEXT,                       -- NULL: could not be converted (see error)
    error          TEXT,
    made_at        TEXT NOT NULL
);

-- An item moved on from a meeting that was skipped, that started without a
-- final agenda, or from which the chair removed it: the meeting it came from.
ALTER TABLE items ADD COLUMN carried_from TEXT;
