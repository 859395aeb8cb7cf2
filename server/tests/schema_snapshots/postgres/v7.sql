-- Schema version 7 (PostgreSQL): entries from devices that may not push to their
-- visit, kept apart, and the code of each refused attempt in the audit log.
-- Shipped in 7b2876b, with version 6.
-- Frozen: never edit this file (see README.md).

CREATE TABLE IF NOT EXISTS quarantine (
    op_id uuid PRIMARY KEY, visit_id uuid NOT NULL, case_id uuid, user_id uuid NOT NULL,
    device_id uuid NOT NULL, code text NOT NULL, at timestamptz NOT NULL, body text NOT NULL
);
CREATE INDEX IF NOT EXISTS quarantine_by_time ON quarantine (at);
ALTER TABLE audit ADD COLUMN IF NOT EXISTS code text;
