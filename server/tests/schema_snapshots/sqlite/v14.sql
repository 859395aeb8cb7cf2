-- Schema version 14 (SQLite): refresh credentials, bound to a device and
-- rotated on use, and the index revoking a device's tokens goes through.
-- Shipped in the commit that added this file.
-- Frozen: never edit this file (see README.md).

CREATE TABLE IF NOT EXISTS refresh_credentials (
    credential_sha256 TEXT PRIMARY KEY, device_id TEXT NOT NULL REFERENCES devices(id),
    user_id TEXT NOT NULL REFERENCES users(id), issued_at TEXT NOT NULL,
    expires_at TEXT NOT NULL, replaced_by TEXT, revoked INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS refresh_credentials_by_device ON refresh_credentials (device_id);
CREATE INDEX IF NOT EXISTS refresh_credentials_by_user ON refresh_credentials (user_id);
CREATE INDEX IF NOT EXISTS tokens_by_device ON tokens (device_id);
