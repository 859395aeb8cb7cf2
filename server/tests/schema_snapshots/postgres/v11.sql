-- Schema version 11 (PostgreSQL): the bank's decisions on cases, and repayments by account.
-- Shipped in f96c7c0.
-- Frozen: never edit this file (see README.md).

CREATE TABLE IF NOT EXISTS case_decisions (
    id uuid PRIMARY KEY, case_id uuid NOT NULL, decided_at timestamptz NOT NULL, body text NOT NULL
);
CREATE INDEX IF NOT EXISTS case_decisions_by_case ON case_decisions (case_id, decided_at);
CREATE OR REPLACE FUNCTION case_decisions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'case decisions are append-only';
END
$$;
DROP TRIGGER IF EXISTS case_decisions_no_update_delete ON case_decisions;
CREATE TRIGGER case_decisions_no_update_delete BEFORE UPDATE OR DELETE ON case_decisions
    FOR EACH ROW EXECUTE FUNCTION case_decisions_append_only();
CREATE TABLE IF NOT EXISTS repayments (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, account_ref text NOT NULL,
    paid_on date NOT NULL, minor_units bigint NOT NULL, currency text NOT NULL,
    imported_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS repayments_by_account ON repayments (account_ref, paid_on);
