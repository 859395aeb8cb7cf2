-- Schema version 17 (PostgreSQL): the app version each device last named.
-- Shipped in the commit that added this file.
-- Frozen: never edit this file (see README.md).

ALTER TABLE devices ADD COLUMN IF NOT EXISTS app_version text;
