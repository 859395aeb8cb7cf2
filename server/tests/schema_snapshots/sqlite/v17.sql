-- Schema version 17 (SQLite): the app version each device last named.
-- Shipped in the commit that added this file.
-- Frozen: never edit this file (see README.md).

ALTER TABLE devices ADD COLUMN app_version TEXT;
