-- Schema version 2 (SQLite): which visits refer to which attachment bytes, filled
-- from the `attached` entries admitted so far. Shipped in 3d4d2d7. From 47761aa on
-- every open also creates the console's tables (console.sql), whatever the version.
-- Frozen: never edit this file (see README.md).

CREATE TABLE IF NOT EXISTS attachment_refs (
    sha256 TEXT NOT NULL, visit_id TEXT NOT NULL, size_bytes INTEGER NOT NULL,
    PRIMARY KEY (sha256, visit_id)
) WITHOUT ROWID;
INSERT OR IGNORE INTO attachment_refs (sha256, visit_id, size_bytes)
    SELECT json_extract(json_extract(body, '$.payload'), '$.attachment.sha256'), visit_id,
           json_extract(json_extract(body, '$.payload'), '$.attachment.size_bytes')
    FROM visit_entries
    WHERE rejected IS NULL AND json_extract(body, '$.kind') = 'attached'
      AND json_extract(json_extract(body, '$.payload'), '$.attachment.sha256') IS NOT NULL
      AND json_extract(json_extract(body, '$.payload'), '$.attachment.size_bytes') IS NOT NULL;
