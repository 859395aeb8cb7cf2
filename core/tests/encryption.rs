//! The device database is encrypted at rest: a lost phone gives away neither the
//! customers nor the visits, a wrong key is a clear error, and the right key gets
//! everything back intact.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::path::{Path, PathBuf};

use common::*;
use doorstep_core::event_log::verify_visit_log;
use doorstep_core::policy::Policy;
use doorstep_core::report::LogVerification;
use doorstep_core::{DatabaseKey, Doorstep, DoorstepError};

const SQLITE_HEADER: &[u8] = b"SQLite format 3\0";
/// A customer name that is plain ASCII, so it cannot hide behind an encoding.
const ASCII_MARKER: &str = "Zebediah Quillfeather";

fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The database file and whichever of its `-wal` and `-shm` files exist.
fn files_on_disk(path: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    [
        path.to_owned(),
        sidecar(path, "-wal"),
        sidecar(path, "-shm"),
    ]
    .into_iter()
    .filter(|p| p.exists())
    .map(|p| {
        let bytes = std::fs::read(&p).unwrap();
        (p, bytes)
    })
    .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Asserts no file of the database shows the SQLite header or any of `secrets`.
fn assert_unreadable(path: &Path, secrets: &[&str]) {
    for (file, bytes) in files_on_disk(path) {
        assert!(
            !bytes.starts_with(SQLITE_HEADER),
            "{} is plain SQLite",
            file.display()
        );
        assert!(
            !contains(&bytes, SQLITE_HEADER),
            "{} holds an unencrypted page 1",
            file.display()
        );
        for secret in secrets {
            assert!(
                !contains(&bytes, secret.as_bytes()),
                "{} holds {secret:?} in clear",
                file.display()
            );
        }
    }
}

/// A device with a case whose customer has an ASCII name, and a complete visit
/// to the first sample case (王建国0).
fn device_with_a_visit() -> (Field, doorstep_core::domain::VisitId) {
    let mut field = field();
    let mut marked = sample_case(field.agent, 3);
    marked.customer.name = ASCII_MARKER.into();
    add_cases(&mut field, vec![marked]);
    let visit = play_complete_visit(&field, field.cases[0].id);
    (field, visit)
}

#[test]
fn no_file_of_the_database_shows_customers_while_open_or_after_close() {
    let (field, _visit) = device_with_a_visit();
    let chinese_name = field.cases[0].customer.name.clone();
    assert_eq!(chinese_name, "王建国0");
    let note = "客户经营的小饭馆疫情后亏损";
    let secrets = [chinese_name.as_str(), ASCII_MARKER, note, "CC-2026-000000"];

    // While the app is open, the recent writes sit in the WAL.
    let wal = sidecar(&field.path, "-wal");
    assert!(wal.exists(), "the store runs in WAL mode");
    assert!(
        std::fs::metadata(&wal).unwrap().len() > 0,
        "the WAL holds the visit"
    );
    assert_unreadable(&field.path, &secrets);

    // After a clean close, whatever is left on disk.
    let Field {
        dir,
        path,
        doorstep,
        ..
    } = field;
    drop(doorstep);
    assert!(std::fs::metadata(&path).unwrap().len() > 0);
    assert_unreadable(&path, &secrets);
    drop(dir);
}

#[test]
fn a_wrong_key_is_refused_without_harm_and_the_right_key_gets_everything_back() {
    let (field, visit) = device_with_a_visit();
    let report = field.doorstep.visit_report(visit).unwrap();
    let cases = all_cases(&field.doorstep);
    let log = field.doorstep.visit_log(visit).unwrap();
    assert!(matches!(report.log, LogVerification::Intact { .. }));
    assert_eq!(cases.len(), 4);
    let secrets = ["王建国0", ASCII_MARKER];
    let Field {
        dir,
        path,
        doorstep,
        ..
    } = field;
    drop(doorstep);

    let mut wrong_raw = [0x42; 32];
    wrong_raw[31] = 0x43;
    let wrong_keys = [
        DatabaseKey::Raw(wrong_raw),
        DatabaseKey::Raw([0; 32]),
        DatabaseKey::Passphrase("correct horse battery staple".into()),
        // The right key's hex digits, but given as a passphrase.
        DatabaseKey::Passphrase(key_hex()),
    ];
    for key in &wrong_keys {
        let error = Doorstep::open(&path, key, Policy::default()).unwrap_err();
        assert_eq!(error, DoorstepError::WrongKey, "{key:?}");
        assert_eq!(error.code(), "wrong_key");
        // The attempt may checkpoint the WAL the app left behind (frames are
        // copied encrypted, no key needed); it must never expose anything.
        assert_unreadable(&path, &secrets);
    }

    let doorstep = Doorstep::open(&path, &KEY, Policy::default()).unwrap();
    assert_eq!(all_cases(&doorstep), cases);
    let names: Vec<&str> = cases.iter().map(|c| c.customer_name.as_str()).collect();
    assert!(
        names.contains(&"王建国0") && names.contains(&ASCII_MARKER),
        "{names:?}"
    );
    let reopened = doorstep.visit_report(visit).unwrap();
    assert_eq!(reopened, report);
    assert_eq!(reopened.answers.len(), 10);
    assert_eq!(
        reopened.notes[0].text,
        "客户经营的小饭馆疫情后亏损，目前在朋友店里帮工。"
    );
    let reopened_log = doorstep.visit_log(visit).unwrap();
    assert_eq!(reopened_log, log);
    let heads = verify_visit_log(visit, &log, &[]).unwrap();
    assert_eq!(verify_visit_log(visit, &reopened_log, &heads), Ok(heads));
    let sha = &reopened.attachments[0].sha256;
    assert_eq!(
        doorstep.attachment_bytes(sha).unwrap(),
        [0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4]
    );
    drop(doorstep);
    drop(dir);
}

#[test]
fn a_passphrase_database_opens_only_with_its_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tools.db");
    let key = DatabaseKey::Passphrase("风雨无阻 2026".into());
    let doorstep = Doorstep::open(&path, &key, Policy::default()).unwrap();
    let device = doorstep.device_id();
    drop(doorstep);
    assert!(!std::fs::read(&path).unwrap().starts_with(SQLITE_HEADER));

    let wrong = DatabaseKey::Passphrase("风雨无阻 2025".into());
    let error = Doorstep::open(&path, &wrong, Policy::default()).unwrap_err();
    assert_eq!(error.code(), "wrong_key");
    let error = Doorstep::open(&path, &KEY, Policy::default()).unwrap_err();
    assert_eq!(error.code(), "wrong_key");
    let doorstep = Doorstep::open(&path, &key, Policy::default()).unwrap();
    assert_eq!(doorstep.device_id(), device);
}

#[test]
fn a_file_that_is_not_our_database_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();

    // Pseudo-random bytes (a fixed xorshift sequence), several pages long.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let noise: Vec<u8> = (0..64 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect();
    let plain_db = dir.path().join("plain.db");
    {
        // An unencrypted SQLite database, as a build without SQLCipher would write.
        let conn = rusqlite::Connection::open(&plain_db).unwrap();
        conn.execute_batch("CREATE TABLE cases (name TEXT); INSERT INTO cases VALUES ('王建国0');")
            .unwrap();
    }
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("noise.db", noise),
        (
            "text.db",
            "this is a shopping list, not a database\n"
                .repeat(200)
                .into_bytes(),
        ),
        ("plain.db", std::fs::read(&plain_db).unwrap()),
    ];
    for (name, bytes) in files {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let error = Doorstep::open(&path, &KEY, Policy::default()).unwrap_err();
        assert!(
            matches!(
                error,
                DoorstepError::WrongKey | DoorstepError::Storage { .. }
            ),
            "{name}: {error:?}"
        );
        assert!(
            std::fs::read(&path).unwrap() == bytes,
            "{name} was modified"
        );
    }
}

#[test]
fn the_store_is_built_with_sqlcipher_and_unreadable_without_the_key() {
    let (field, _visit) = device_with_a_visit();
    let conn = raw_connection(&field.path);
    let version: String = conn
        .query_row("PRAGMA cipher_version", [], |r| r.get(0))
        .unwrap();
    assert!(!version.is_empty());
    let cases: i64 = conn
        .query_row("SELECT count(*) FROM cases", [], |r| r.get(0))
        .unwrap();
    assert_eq!(cases, 4);

    // The same file through a connection that gives no key.
    let keyless = rusqlite::Connection::open(&field.path).unwrap();
    let error = keyless
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap_err();
    assert_eq!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase)
    );
}
