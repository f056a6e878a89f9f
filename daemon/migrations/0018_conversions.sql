-- Documents converted ahead (daemon.documents.ahead) whose conversion failed for
-- the moment (LibreOffice missing, or killed after its timeout): not tried again
-- before retry_at, so a document that hangs LibreOffice costs its timeout once
-- per back-off, not on every pass. A success deletes the row; a lasting failure
-- is in pdf_cache instead.
CREATE TABLE conversion_attempts (
    key           TEXT PRIMARY KEY,            -- as pdf_cache.source_sha256
    attempts      INTEGER NOT NULL,
    failed_at     TEXT NOT NULL,
    retry_at      TEXT NOT NULL,
    error         TEXT
);
