-- Schema version 10 (PostgreSQL): indexes a reader's feed page is found through.
-- Shipped in df2ca17.
-- Frozen: never edit this file (see README.md).

CREATE INDEX IF NOT EXISTS feed_by_case ON feed (case_id, seq) WHERE case_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS feed_shared ON feed (seq) WHERE kind IN ('template', 'case_removed');
CREATE INDEX IF NOT EXISTS cases_by_agent ON cases (primary_agent);
CREATE INDEX IF NOT EXISTS cases_by_partner ON cases (partner) WHERE partner IS NOT NULL;
