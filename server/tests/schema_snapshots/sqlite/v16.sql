-- Schema version 16 (SQLite): when a checklist template version was retired
-- (no new visit starts on it since; visits started on it keep it).
-- Shipped in the commit that added this file.
-- Frozen: never edit this file (see README.md).

ALTER TABLE templates ADD COLUMN retired_at TEXT;
