-- Schema version 1: cases, templates, visits as their event logs, attachment bytes.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- Published checklist templates; a (key, version) never changes once stored.
CREATE TABLE templates (
    key          TEXT NOT NULL,
    version      INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    body         TEXT NOT NULL,
    PRIMARY KEY (key, version)
) WITHOUT ROWID;

-- Cases from the server. The filter and sort columns are copies of fields of body.
CREATE TABLE cases (
    id           BLOB PRIMARY KEY,
    external_ref TEXT NOT NULL,
    status       TEXT NOT NULL,
    bucket       TEXT NOT NULL,
    priority     INTEGER NOT NULL,
    due_date     TEXT NOT NULL,
    search_text  TEXT NOT NULL,
    body         TEXT NOT NULL
);
CREATE INDEX cases_by_priority ON cases (priority DESC, due_date, id);
CREATE INDEX cases_by_status ON cases (status, priority DESC, due_date, id);

-- A visit's header, folded from its log; kept for listing and state checks.
CREATE TABLE visits (
    id      BLOB PRIMARY KEY,
    case_id BLOB NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    state   TEXT NOT NULL,
    body    TEXT NOT NULL
);
CREATE INDEX visits_by_case ON visits (case_id);

-- The visit event log: one hash chain per (visit, author device). The truth
-- about a visit on this device: answers, notes and attachments live only here.
CREATE TABLE visit_log (
    visit_id           BLOB NOT NULL REFERENCES visits (id) ON DELETE CASCADE,
    author             BLOB NOT NULL,
    seq                INTEGER NOT NULL,
    op_id              BLOB NOT NULL,
    kind               TEXT NOT NULL,
    payload            TEXT NOT NULL,
    hlc                TEXT NOT NULL,
    device_time_ms     INTEGER NOT NULL,
    utc_offset_minutes INTEGER NOT NULL,
    prev_hash          TEXT NOT NULL,
    hash               TEXT NOT NULL,
    PRIMARY KEY (visit_id, author, seq)
) WITHOUT ROWID;

-- Attachment bytes, addressed by their SHA-256 (the same photo is kept once).
CREATE TABLE attachment_blobs (
    sha256 TEXT PRIMARY KEY,
    bytes  BLOB NOT NULL
);
