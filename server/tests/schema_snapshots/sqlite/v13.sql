-- Schema version 13 (SQLite): who each case was assigned to, and when
-- (append-only), filled with each stored case's assignment at the upgrade.
-- Shipped in the commit that added this file.
-- Frozen: never edit this file (see README.md).

CREATE TABLE IF NOT EXISTS case_assignments (
    id INTEGER PRIMARY KEY AUTOINCREMENT, case_id TEXT NOT NULL, assigned_at TEXT NOT NULL,
    primary_agent TEXT NOT NULL, partner TEXT, supervisor_id TEXT, assigned_by TEXT
);
CREATE INDEX IF NOT EXISTS case_assignments_by_case ON case_assignments (case_id, id);
CREATE TRIGGER IF NOT EXISTS case_assignments_append_only_update
    BEFORE UPDATE ON case_assignments
    BEGIN SELECT RAISE(ABORT, 'case assignments are append-only'); END;
CREATE TRIGGER IF NOT EXISTS case_assignments_append_only_delete
    BEFORE DELETE ON case_assignments
    BEGIN SELECT RAISE(ABORT, 'case assignments are append-only'); END;
INSERT INTO case_assignments (case_id, assigned_at, primary_agent, partner, supervisor_id)
SELECT c.id,
    COALESCE(
        (SELECT MAX(a.at) FROM audit a WHERE a.target_kind = 'case' AND a.target_id = c.id),
        '1970-01-01T00:00:00+00:00'),
    c.primary_agent, c.partner, c.supervisor_id
FROM cases c
WHERE NOT EXISTS (SELECT 1 FROM case_assignments x WHERE x.case_id = c.id);
