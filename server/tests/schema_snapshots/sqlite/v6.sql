-- Schema version 6 (SQLite): entries from devices that may not push to their visit,
-- kept apart, and the code of each refused attempt in the audit log.
-- Shipped in 7b2876b, with version 5.
-- Frozen: never edit this file (see README.md).

CREATE TABLE IF NOT EXISTS quarantine (
    op_id TEXT PRIMARY KEY, visit_id TEXT NOT NULL, case_id TEXT, user_id TEXT NOT NULL,
    device_id TEXT NOT NULL, code TEXT NOT NULL, at TEXT NOT NULL, body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS quarantine_by_time ON quarantine (at);
ALTER TABLE audit ADD COLUMN code TEXT;
