-- Schema version 3: sync bookkeeping. The pull cursor, the token and the sync
-- status live in meta; rejected operations in outbox_rejections (version 2).

-- Cases the server no longer shows this agent whose operations are not all pushed
-- yet: their customer data is purged after the push that empties the outbox of them.
CREATE TABLE case_purges (
    case_id   BLOB PRIMARY KEY,
    marked_at TEXT NOT NULL
);
