-- Schema version 13 (PostgreSQL): who each case was assigned to, and when
-- (append-only), filled with each stored case's assignment at the upgrade.
-- Shipped in the commit that added this file.
-- Frozen: never edit this file (see README.md).

CREATE TABLE IF NOT EXISTS case_assignments (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, case_id uuid NOT NULL,
    assigned_at timestamptz NOT NULL, primary_agent uuid NOT NULL, partner uuid,
    supervisor_id uuid, assigned_by uuid
);
CREATE INDEX IF NOT EXISTS case_assignments_by_case ON case_assignments (case_id, id);
CREATE OR REPLACE FUNCTION case_assignments_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'case assignments are append-only';
END
$$;
DROP TRIGGER IF EXISTS case_assignments_no_update_delete ON case_assignments;
CREATE TRIGGER case_assignments_no_update_delete BEFORE UPDATE OR DELETE ON case_assignments
    FOR EACH ROW EXECUTE FUNCTION case_assignments_append_only();
INSERT INTO case_assignments (case_id, assigned_at, primary_agent, partner, supervisor_id)
SELECT c.id,
    COALESCE(
        (SELECT MAX(a.at) FROM audit a WHERE a.target_kind = 'case' AND a.target_id = c.id::text),
        'epoch'::timestamptz),
    c.primary_agent, c.partner, c.supervisor_id
FROM cases c
WHERE NOT EXISTS (SELECT 1 FROM case_assignments x WHERE x.case_id = c.id);
