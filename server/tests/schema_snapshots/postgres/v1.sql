-- Schema version 1 of the PostgreSQL server store: the first schema (users,
-- devices, tokens, cases, the agents a case ever had, templates, visits and their
-- entries, applied op ids, the feed's counter and the feed, the audit log and its
-- append-only triggers). Shipped in 344d349. The version is kept in the one row of
-- doorstep_schema (version integer), which the server creates before migrating.
-- Frozen: never edit this file (see README.md).

CREATE TABLE users (
    id uuid PRIMARY KEY, username text NOT NULL UNIQUE, password_hash text NOT NULL,
    role text NOT NULL, supervisor_id uuid
);
CREATE TABLE devices (
    id uuid PRIMARY KEY, user_id uuid NOT NULL REFERENCES users(id), active boolean NOT NULL
);
CREATE TABLE tokens (
    token_sha256 text PRIMARY KEY, device_id uuid NOT NULL REFERENCES devices(id),
    user_id uuid NOT NULL REFERENCES users(id), expires_at timestamptz NOT NULL,
    revoked boolean NOT NULL
);
CREATE TABLE cases (
    id uuid PRIMARY KEY, body text NOT NULL, primary_agent uuid NOT NULL, partner uuid,
    supervisor_id uuid
);
CREATE TABLE case_agents_ever (
    case_id uuid NOT NULL, user_id uuid NOT NULL, PRIMARY KEY (case_id, user_id)
);
CREATE TABLE templates (
    key text NOT NULL, version bigint NOT NULL, body text NOT NULL, PRIMARY KEY (key, version)
);
CREATE TABLE visits (id uuid PRIMARY KEY, case_id uuid NOT NULL);
CREATE TABLE visit_entries (
    visit_id uuid NOT NULL, author uuid NOT NULL, seq bigint NOT NULL, op_id uuid NOT NULL,
    body text NOT NULL, rejected text, reassigned boolean NOT NULL,
    PRIMARY KEY (visit_id, author, seq)
);
CREATE TABLE applied_ops (op_id uuid PRIMARY KEY, device_id uuid NOT NULL, rejected text);
CREATE TABLE feed_counter (
    id boolean PRIMARY KEY DEFAULT true CHECK (id), last bigint NOT NULL
);
INSERT INTO feed_counter (id, last) VALUES (true, 0);
CREATE TABLE feed (
    seq bigint PRIMARY KEY, kind text NOT NULL, case_id uuid, visit_id uuid, author uuid,
    entry_seq bigint, template_key text, template_version bigint, removed_from uuid[]
);
CREATE TABLE audit (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at timestamptz NOT NULL,
    user_id uuid, device_id uuid, action text NOT NULL, target_kind text NOT NULL,
    target_id text NOT NULL
);
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit log is append-only';
END
$$;
CREATE TRIGGER audit_no_update_delete BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
