-- Schema version 5: attachment uploads. An attachment's bytes go to the server
-- after the push of its `attached` entry has been acknowledged; uploaded_at
-- records when the server confirmed it holds them all, verified. Until then the
-- bytes (and the customer data they belong to) are never purged.

ALTER TABLE attachment_blobs ADD COLUMN uploaded_at TEXT;

-- Finds the log entries that refer to an attachment's bytes.
CREATE INDEX visit_log_attachments
    ON visit_log (json_extract(payload, '$.attachment.sha256'))
    WHERE kind = 'attached';
