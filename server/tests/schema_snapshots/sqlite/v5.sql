-- Schema version 5 (SQLite): who declared each attachment (attachment_refs rebuilt
-- with an author, refilled from the admitted `attached` entries) and who sent its
-- bytes (attachment_uploads, filled with those authors). Shipped in 7b2876b.
-- Frozen: never edit this file (see README.md).

CREATE TABLE attachment_refs_by_author (
    sha256 TEXT NOT NULL, visit_id TEXT NOT NULL, author TEXT NOT NULL,
    size_bytes INTEGER NOT NULL, PRIMARY KEY (sha256, visit_id, author)
) WITHOUT ROWID;
INSERT OR IGNORE INTO attachment_refs_by_author (sha256, visit_id, author, size_bytes)
    SELECT json_extract(json_extract(body, '$.payload'), '$.attachment.sha256'), visit_id,
           author, json_extract(json_extract(body, '$.payload'), '$.attachment.size_bytes')
    FROM visit_entries
    WHERE rejected IS NULL AND json_extract(body, '$.kind') = 'attached'
      AND json_extract(json_extract(body, '$.payload'), '$.attachment.sha256') IS NOT NULL
      AND json_extract(json_extract(body, '$.payload'), '$.attachment.size_bytes') IS NOT NULL;
DROP TABLE attachment_refs;
ALTER TABLE attachment_refs_by_author RENAME TO attachment_refs;
CREATE TABLE IF NOT EXISTS attachment_uploads (
    sha256 TEXT NOT NULL, device_id TEXT NOT NULL, PRIMARY KEY (sha256, device_id)
) WITHOUT ROWID;
INSERT OR IGNORE INTO attachment_uploads (sha256, device_id)
    SELECT sha256, author FROM attachment_refs;
