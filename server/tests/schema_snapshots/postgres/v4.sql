-- Schema version 4 (PostgreSQL): the latest verification of each visit's stored
-- log, kept with the visit. Shipped in 4e596cc.
-- Frozen: never edit this file (see README.md).

-- 4: the latest verification of each visit's stored log.
ALTER TABLE visits ADD COLUMN IF NOT EXISTS chain_checked_at timestamptz,
    ADD COLUMN IF NOT EXISTS chain_entries bigint,
    ADD COLUMN IF NOT EXISTS chain_broken_author uuid,
    ADD COLUMN IF NOT EXISTS chain_broken_seq bigint,
    ADD COLUMN IF NOT EXISTS chain_broken_reason text;
