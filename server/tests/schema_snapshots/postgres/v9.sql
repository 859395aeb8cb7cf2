-- Schema version 9 (PostgreSQL): each visit's summary, the fold of its admitted
-- entries. Shipped in 6bcca11.
-- Frozen: never edit this file (see README.md).

CREATE TABLE IF NOT EXISTS visit_summaries (
    visit_id uuid PRIMARY KEY REFERENCES visits(id),
    version bigint NOT NULL,
    state text NOT NULL,
    body text NOT NULL
);
