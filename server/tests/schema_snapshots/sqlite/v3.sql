-- Schema version 3 (SQLite): the latest verification of each visit's stored log,
-- kept with the visit. Shipped in 4e596cc.
-- Frozen: never edit this file (see README.md).

ALTER TABLE visits ADD COLUMN chain_checked_at TEXT;
ALTER TABLE visits ADD COLUMN chain_entries INTEGER;
ALTER TABLE visits ADD COLUMN chain_broken_author TEXT;
ALTER TABLE visits ADD COLUMN chain_broken_seq INTEGER;
ALTER TABLE visits ADD COLUMN chain_broken_reason TEXT;
