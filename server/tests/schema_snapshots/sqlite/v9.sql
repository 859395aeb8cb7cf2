-- Schema version 9 (SQLite): each visit's summary, the fold of its admitted entries.
-- Shipped in 6bcca11.
-- Frozen: never edit this file (see README.md).

CREATE TABLE IF NOT EXISTS visit_summaries (
    visit_id TEXT PRIMARY KEY REFERENCES visits(id),
    version INTEGER NOT NULL,
    state TEXT NOT NULL,
    body TEXT NOT NULL
);
