-- Schema version 6: visit entries received before they can be placed. The
-- feed may deliver a visit's entries before its case reaches the device (a
-- case reassigned while its visit was half synced), or an entry before the
-- one it follows: such entries wait here, and are placed as soon as what they
-- need arrives, instead of being skipped for good.

CREATE TABLE parked_entries (
    visit_id  BLOB NOT NULL,
    author    BLOB NOT NULL,
    seq       INTEGER NOT NULL,
    refused   INTEGER NOT NULL,
    entry     TEXT NOT NULL,
    parked_at TEXT NOT NULL,
    PRIMARY KEY (visit_id, author, seq)
) WITHOUT ROWID;
