-- Schema version 8 (PostgreSQL): the bank's field policy, versioned. From here on
-- both backends share migration numbers. Shipped in 59c4752.
-- Frozen: never edit this file (see README.md).

CREATE TABLE IF NOT EXISTS policies (
    version bigint PRIMARY KEY, body text NOT NULL, published_at timestamptz NOT NULL
);
