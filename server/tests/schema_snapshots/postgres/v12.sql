-- Schema version 12 (PostgreSQL): indexes the audit log is read through.
-- Shipped in 100d9bf.
-- Frozen: never edit this file (see README.md).

CREATE INDEX IF NOT EXISTS audit_by_user ON audit (user_id, id);
CREATE INDEX IF NOT EXISTS audit_by_target ON audit (target_kind, target_id, id);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit (at);
