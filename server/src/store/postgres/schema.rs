//! The schema of the PostgreSQL store: its tables, the migrations that bring
//! an older database to [`SCHEMA_VERSION`], and the migration itself, run on
//! open under an advisory lock.

use postgres::Client;

use super::{
    accounts, assignments, attachments, audit, console, db, feed, plans, policies, quarantine,
    refresh, sign_in, summaries, templates,
};
use crate::store::StoreError;

/// The schema version this server writes.
pub const SCHEMA_VERSION: i32 = 17;

/// Key of the advisory lock held while the schema is created or migrated
/// (`"doorstep"` in ASCII, plus one).
const MIGRATE_LOCK: i64 = 0x646f_6f72_7374_6571;

/// Migrations, in order: migration `i` brings the schema to version `i + 1`.
const MIGRATIONS: &[&str] = &[
    "
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
",
    // 2: which visits refer to which attachment bytes, filled from the
    // `attached` entries admitted so far.
    "
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
",
    // 3: the console's sessions and a team's lists.
    console::MIGRATION,
    "
-- 4: the latest verification of each visit's stored log.
ALTER TABLE visits ADD COLUMN IF NOT EXISTS chain_checked_at timestamptz,
    ADD COLUMN IF NOT EXISTS chain_entries bigint,
    ADD COLUMN IF NOT EXISTS chain_broken_author uuid,
    ADD COLUMN IF NOT EXISTS chain_broken_seq bigint,
    ADD COLUMN IF NOT EXISTS chain_broken_reason text;
",
    // 5: the sign-in attempts the login limit counts, shared by every replica.
    sign_in::MIGRATION,
    // 6: who declared each attachment, and who sent its bytes.
    attachments::MIGRATION,
    // 7: entries from devices that may not push to their visit, kept apart,
    // and the code of each refused attempt in the audit log.
    quarantine::MIGRATION,
    // 8: the bank's field policy, versioned. From here on both backends
    // share migration numbers.
    policies::MIGRATION,
    // 9: each visit's summary, the fold of its admitted entries.
    summaries::MIGRATION,
    // 10: indexes a reader's feed page is found through.
    feed::MIGRATION,
    // 11: the bank's decisions on cases, and repayments by account.
    plans::MIGRATION,
    // 12: indexes the audit log is read through.
    audit::MIGRATION,
    // 13: who each case was assigned to, and when.
    assignments::MIGRATION,
    // 14: refresh credentials, bound to a device and rotated on use.
    refresh::MIGRATION,
    // 15: whether each user is active, and what the server knows of each
    // device (registration, last sync, deactivation, the wipe confirmed).
    accounts::MIGRATION,
    // 16: when a checklist template version was retired.
    templates::MIGRATION,
    // 17: the app version each device last named.
    accounts::APP_VERSION_MIGRATION,
];

// One migration per version, checked when compiling.
const _: () = assert!(MIGRATIONS.len() as i32 == SCHEMA_VERSION);

/// The SQL that brought the schema to `version` (version 1 creates the
/// first schema), exactly as this build runs it; `None` is a version this
/// build has no migration for. Frozen copies of these texts, as each version
/// shipped, are kept in `server/tests/schema_snapshots/postgres/`; the test
/// there checks this build still runs exactly those.
pub fn migration_sql(version: i32) -> Option<&'static str> {
    MIGRATIONS
        .get(usize::try_from(version.checked_sub(1)?).ok()?)
        .copied()
}

/// Creates the schema or brings it to [`SCHEMA_VERSION`]; a database newer
/// than this server is refused ([`StoreError::NewerSchema`]) and left as it
/// was.
pub(super) fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let mut tx = client.transaction().map_err(db)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATE_LOCK])
        .map_err(db)?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS doorstep_schema (version integer NOT NULL)")
        .map_err(db)?;
    let version: i32 = match tx
        .query_opt("SELECT version FROM doorstep_schema", &[])
        .map_err(db)?
    {
        Some(row) => row.try_get(0).map_err(db)?,
        None => {
            tx.execute("INSERT INTO doorstep_schema (version) VALUES (0)", &[])
                .map_err(db)?;
            0
        }
    };
    if version > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            found: i64::from(version),
            supported: i64::from(SCHEMA_VERSION),
        });
    }
    let done = usize::try_from(version).map_err(|_| StoreError::Corrupt("doorstep_schema"))?;
    for migration in MIGRATIONS.iter().skip(done) {
        tx.batch_execute(migration).map_err(db)?;
    }
    tx.execute(
        "UPDATE doorstep_schema SET version = $1",
        &[&SCHEMA_VERSION],
    )
    .map_err(db)?;
    tx.commit().map_err(db)
}
