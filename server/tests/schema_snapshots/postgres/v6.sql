-- Schema version 6 (PostgreSQL): who declared each attachment (attachment_refs
-- gains an author: its rows are replaced by those of the admitted `attached`
-- entries) and who sent its bytes (attachment_uploads, filled with those authors).
-- Shipped in 7b2876b.
-- Frozen: never edit this file (see README.md).

ALTER TABLE attachment_refs ADD COLUMN IF NOT EXISTS author uuid;
DELETE FROM attachment_refs WHERE author IS NULL;
ALTER TABLE attachment_refs ALTER COLUMN author SET NOT NULL;
ALTER TABLE attachment_refs DROP CONSTRAINT IF EXISTS attachment_refs_pkey;
ALTER TABLE attachment_refs ADD PRIMARY KEY (sha256, visit_id, author);
INSERT INTO attachment_refs (sha256, visit_id, author, size_bytes)
    SELECT (body::jsonb ->> 'payload')::jsonb -> 'attachment' ->> 'sha256', visit_id, author,
           ((body::jsonb ->> 'payload')::jsonb -> 'attachment' ->> 'size_bytes')::bigint
    FROM visit_entries
    WHERE rejected IS NULL AND body::jsonb ->> 'kind' = 'attached'
      AND (body::jsonb ->> 'payload')::jsonb -> 'attachment' ->> 'sha256' IS NOT NULL
      AND (body::jsonb ->> 'payload')::jsonb -> 'attachment' ->> 'size_bytes' IS NOT NULL
    ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS attachment_uploads (
    sha256 text NOT NULL, device_id uuid NOT NULL, PRIMARY KEY (sha256, device_id)
);
INSERT INTO attachment_uploads (sha256, device_id)
    SELECT sha256, author FROM attachment_refs
    ON CONFLICT DO NOTHING;
