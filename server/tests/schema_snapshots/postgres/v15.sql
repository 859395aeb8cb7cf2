-- Schema version 15 (PostgreSQL): whether each user is active, and what the server knows of
-- each device (registration, last push and pull, protocol version, deactivation, the wipe
-- confirmed), its registration time filled from the audit log, and the user
-- name each sign-in attempt was made under.
-- Shipped in the admin pages' branch (issue 14; the lead renumbers it at merge).
-- Frozen: never edit this file (see README.md).

ALTER TABLE users ADD COLUMN IF NOT EXISTS active boolean NOT NULL DEFAULT true;
ALTER TABLE devices ADD COLUMN IF NOT EXISTS registered_at timestamptz;
ALTER TABLE devices ADD COLUMN IF NOT EXISTS last_push_at timestamptz;
ALTER TABLE devices ADD COLUMN IF NOT EXISTS last_pull_at timestamptz;
ALTER TABLE devices ADD COLUMN IF NOT EXISTS pull_cursor bigint;
ALTER TABLE devices ADD COLUMN IF NOT EXISTS protocol_version integer;
ALTER TABLE devices ADD COLUMN IF NOT EXISTS deactivated_at timestamptz;
ALTER TABLE devices ADD COLUMN IF NOT EXISTS wipe_confirmed_at timestamptz;
ALTER TABLE sign_in_attempts ADD COLUMN IF NOT EXISTS name_key text;
UPDATE devices SET registered_at = (
    SELECT min(at) FROM audit WHERE target_kind = 'device' AND target_id = devices.id::text
        AND action IN ('register_device', 'create_device'))
    WHERE registered_at IS NULL;
