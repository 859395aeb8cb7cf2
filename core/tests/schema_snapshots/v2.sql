-- Schema version 2: the outbox. Each row is one local log entry not yet
-- acknowledged by the server, in the order the actions happened.

CREATE TABLE outbox (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    op_id    BLOB NOT NULL,
    visit_id BLOB NOT NULL,
    log_seq  INTEGER NOT NULL,
    hlc      TEXT NOT NULL
);

-- Operations the server refused, kept for the agent to see; never dropped silently.
CREATE TABLE outbox_rejections (
    op_id       BLOB PRIMARY KEY,
    visit_id    BLOB NOT NULL,
    log_seq     INTEGER NOT NULL,
    code        TEXT NOT NULL,
    rejected_at TEXT NOT NULL
);
