-- Schema version 15 (SQLite): whether each user is active, and what the server knows of
-- each device (registration, last push and pull, protocol version, deactivation, the wipe
-- confirmed), its registration time filled from the audit log, and the user
-- name each sign-in attempt was made under.
-- Shipped in the admin pages' branch (issue 14; the lead renumbers it at merge).
-- Frozen: never edit this file (see README.md).

ALTER TABLE users ADD COLUMN active INTEGER NOT NULL DEFAULT 1;
ALTER TABLE devices ADD COLUMN registered_at TEXT;
ALTER TABLE devices ADD COLUMN last_push_at TEXT;
ALTER TABLE devices ADD COLUMN last_pull_at TEXT;
ALTER TABLE devices ADD COLUMN pull_cursor INTEGER;
ALTER TABLE devices ADD COLUMN protocol_version INTEGER;
ALTER TABLE devices ADD COLUMN deactivated_at TEXT;
ALTER TABLE devices ADD COLUMN wipe_confirmed_at TEXT;
ALTER TABLE sign_in_attempts ADD COLUMN name_key TEXT;
UPDATE devices SET registered_at = (
    SELECT min(at) FROM audit WHERE target_kind = 'device' AND target_id = devices.id
        AND action IN ('register_device', 'create_device'));
