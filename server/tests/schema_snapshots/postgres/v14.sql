-- Schema version 14 (PostgreSQL): refresh credentials, bound to a device and
-- rotated on use, and the index revoking a device's tokens goes through.
-- Shipped in the commit that added this file.
-- Frozen: never edit this file (see README.md).

CREATE TABLE IF NOT EXISTS refresh_credentials (
    credential_sha256 text PRIMARY KEY, device_id uuid NOT NULL REFERENCES devices(id),
    user_id uuid NOT NULL REFERENCES users(id), issued_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL, replaced_by text, revoked boolean NOT NULL
);
CREATE INDEX IF NOT EXISTS refresh_credentials_by_device ON refresh_credentials (device_id);
CREATE INDEX IF NOT EXISTS refresh_credentials_by_user ON refresh_credentials (user_id);
CREATE INDEX IF NOT EXISTS tokens_by_device ON tokens (device_id);
