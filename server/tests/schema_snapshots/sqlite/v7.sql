-- Schema version 7 (SQLite): the bank's field policy, versioned. Shipped in 59c4752.
-- Frozen: never edit this file (see README.md).

CREATE TABLE IF NOT EXISTS policies (
    version INTEGER PRIMARY KEY, body TEXT NOT NULL, published_at TEXT NOT NULL
);
