-- Schema version 2: the outbox. An action's log entry is written here first, in
-- the order the actions happened, and moves to visit_log once the server has
-- acknowledged it. A visit's log is therefore visit_log plus its outbox rows, and
-- an action appends one row to one table.

CREATE TABLE outbox (
    position           INTEGER PRIMARY KEY,
    visit_id           BLOB NOT NULL REFERENCES visits (id) ON DELETE CASCADE,
    author             BLOB NOT NULL,
    seq                INTEGER NOT NULL,
    op_id              BLOB NOT NULL,
    kind               TEXT NOT NULL,
    payload            TEXT NOT NULL,
    hlc                TEXT NOT NULL,
    device_time_ms     INTEGER NOT NULL,
    utc_offset_minutes INTEGER NOT NULL,
    prev_hash          TEXT NOT NULL,
    hash               TEXT NOT NULL
);

-- Operations the server refused, kept for the agent to see; never dropped silently.
CREATE TABLE outbox_rejections (
    op_id       BLOB PRIMARY KEY,
    visit_id    BLOB NOT NULL,
    log_seq     INTEGER NOT NULL,
    code        TEXT NOT NULL,
    rejected_at TEXT NOT NULL
);
