-- Schema version 2 (PostgreSQL): which visits refer to which attachment bytes,
-- filled from the `attached` entries admitted so far. Shipped in 3d4d2d7 as
-- `CREATE TABLE attachment_refs`; 4e596cc added `IF NOT EXISTS` (the same effect on
-- a version 1 database). This is the text as the server runs it since.
-- Frozen: never edit this file (see README.md).

CREATE TABLE IF NOT EXISTS attachment_refs (
    sha256 text NOT NULL, visit_id uuid NOT NULL, size_bytes bigint NOT NULL,
    PRIMARY KEY (sha256, visit_id)
);
INSERT INTO attachment_refs (sha256, visit_id, size_bytes)
    SELECT (body::jsonb ->> 'payload')::jsonb -> 'attachment' ->> 'sha256', visit_id,
           ((body::jsonb ->> 'payload')::jsonb -> 'attachment' ->> 'size_bytes')::bigint
    FROM visit_entries
    WHERE rejected IS NULL AND body::jsonb ->> 'kind' = 'attached'
      AND (body::jsonb ->> 'payload')::jsonb -> 'attachment' ->> 'sha256' IS NOT NULL
      AND (body::jsonb ->> 'payload')::jsonb -> 'attachment' ->> 'size_bytes' IS NOT NULL
    ON CONFLICT DO NOTHING;
