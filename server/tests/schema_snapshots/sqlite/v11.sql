-- Schema version 11 (SQLite): the bank's decisions on cases, and repayments by account.
-- Shipped in f96c7c0.
-- Frozen: never edit this file (see README.md).

CREATE TABLE IF NOT EXISTS case_decisions (
    id TEXT PRIMARY KEY, case_id TEXT NOT NULL, decided_at TEXT NOT NULL, body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS case_decisions_by_case ON case_decisions (case_id, decided_at);
CREATE TRIGGER IF NOT EXISTS case_decisions_append_only_update BEFORE UPDATE ON case_decisions
    BEGIN SELECT RAISE(ABORT, 'case decisions are append-only'); END;
CREATE TRIGGER IF NOT EXISTS case_decisions_append_only_delete BEFORE DELETE ON case_decisions
    BEGIN SELECT RAISE(ABORT, 'case decisions are append-only'); END;
CREATE TABLE IF NOT EXISTS repayments (
    id INTEGER PRIMARY KEY AUTOINCREMENT, account_ref TEXT NOT NULL, paid_on TEXT NOT NULL,
    minor_units INTEGER NOT NULL, currency TEXT NOT NULL, imported_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS repayments_by_account ON repayments (account_ref, paid_on);
