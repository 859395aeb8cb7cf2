//! Creating users: names that cannot pass for another name, and the bank's
//! minimum password length, through the library and the command line.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use doorstep_core::sync::protocol::Role;
use doorstep_server::admin::{self, MIN_PASSWORD_CHARS, NewUserRefused};
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::store::{self, Store};

const GOOD_PASSWORD: &str = "twelve chars";

fn create(store: &dyn Store, name: &str, password: &str) -> Result<(), String> {
    admin::create_user(store, name, password, Role::Agent, None, chrono::Utc::now())
        .map(|_| ())
        .map_err(|e| e.code().to_owned())
}

#[test]
fn names_with_hidden_characters_or_space_around_them_and_short_passwords_are_refused() {
    let store = SqliteStore::open_in_memory().unwrap();
    assert_eq!(GOOD_PASSWORD.chars().count(), MIN_PASSWORD_CHARS);
    for (name, password, code) in [
        ("", GOOD_PASSWORD, "empty_user_name"),
        (" lin", GOOD_PASSWORD, "user_name_space_around"),
        ("lin\t", GOOD_PASSWORD, "user_name_space_around"),
        ("lin\u{3000}", GOOD_PASSWORD, "user_name_space_around"),
        (
            "lin\u{202E}gnp",
            GOOD_PASSWORD,
            "user_name_hidden_character",
        ),
        (
            "\u{2066}admin\u{2069}",
            GOOD_PASSWORD,
            "user_name_hidden_character",
        ),
        ("li\u{200F}n", GOOD_PASSWORD, "user_name_hidden_character"),
        ("li\u{0}n", GOOD_PASSWORD, "user_name_hidden_character"),
        ("li\nn", GOOD_PASSWORD, "user_name_hidden_character"),
        ("li\u{1B}[31mn", GOOD_PASSWORD, "user_name_hidden_character"),
        ("li\u{85}n", GOOD_PASSWORD, "user_name_hidden_character"),
        ("lin", "", "password_too_short"),
        ("lin", "eleven char", "password_too_short"),
        // Characters, not bytes: eleven Chinese characters are 33 bytes.
        ("lin", "一二三四五六七八九十壹", "password_too_short"),
    ] {
        assert_eq!(
            create(&store, name, password),
            Err(code.to_owned()),
            "{name:?}"
        );
    }
    let refused = admin::check_new_user("lin", "short").unwrap_err();
    assert_eq!(refused, NewUserRefused::PasswordTooShort);
    assert_eq!(
        refused.to_string(),
        "the password is shorter than 12 characters"
    );
    // Nothing was stored.
    assert!(store::read(&store, |tx| tx.audit_log()).unwrap().is_empty());
    // Names in any script, with inner spaces, and long passwords are fine.
    for name in ["lin", "王小明", "ana maría", "אבי", "=cmd|' /C calc'!A0"] {
        assert_eq!(create(&store, name, GOOD_PASSWORD), Ok(()), "{name:?}");
    }
    assert_eq!(create(&store, "wang", "十二个汉字的密码也可以用的"), Ok(()));
}

const BIN: &str = env!("CARGO_BIN_EXE_doorstep-server");

fn cli_create(dir: &std::path::Path, name: &str, password: &str) -> std::process::Output {
    std::process::Command::new(BIN)
        .arg("--data")
        .arg(dir)
        .args([
            "create-user",
            "--username",
            name,
            "--password",
            password,
            "--role",
            "supervisor",
        ])
        .output()
        .unwrap()
}

#[test]
fn the_command_line_says_why_without_repeating_what_was_typed() {
    let dir = tempfile::tempdir().unwrap();
    for (name, password, code) in [
        ("lin", "hunter2", "password_too_short"),
        (
            "evil\u{202E}nimda",
            GOOD_PASSWORD,
            "user_name_hidden_character",
        ),
        ("lin ", GOOD_PASSWORD, "user_name_space_around"),
    ] {
        let out = cli_create(dir.path(), name, password);
        assert!(!out.status.success(), "{name:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains(&format!("422 {code}")), "{stderr}");
        assert!(!stderr.contains(password), "{stderr}");
        assert!(!stderr.contains(name.trim()), "{stderr}");
    }
    let out = cli_create(dir.path(), "lin", GOOD_PASSWORD);
    assert!(out.status.success(), "{out:?}");
}

fn cli(dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new(BIN)
        .arg("--data")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_command_line_resets_a_password_moves_an_agent_and_deactivates_a_user() {
    let dir = tempfile::tempdir().unwrap();
    for (name, role) in [
        ("lin", "supervisor"),
        ("zhou", "supervisor"),
        ("wang", "agent"),
    ] {
        cli(
            dir.path(),
            &[
                "create-user",
                "--username",
                name,
                "--password",
                GOOD_PASSWORD,
                "--role",
                role,
            ],
        );
    }
    let printed = cli(dir.path(), &["reset-password", "--username", "lin"]);
    let password = printed.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(password.chars().count() >= MIN_PASSWORD_CHARS, "{printed}");
    cli(
        dir.path(),
        &["move-agent", "--agent", "wang", "--supervisor", "zhou"],
    );
    cli(dir.path(), &["deactivate-user", "--username", "zhou"]);
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    let user = |name: &str| {
        store::read(&store as &dyn Store, |tx| tx.user_by_name(name))
            .unwrap()
            .unwrap()
    };
    assert!(doorstep_server::auth::verify_password(
        &password,
        &user("lin").password_hash
    ));
    assert_eq!(user("wang").supervisor, Some(user("zhou").id));
    assert!(!user("zhou").active);
    assert!(user("lin").active);
    // The command line's acts are audited without a user.
    let log = store::read(&store as &dyn Store, |tx| tx.audit_log()).unwrap();
    for action in ["reset_password", "move_agent", "deactivate_user"] {
        assert!(
            log.iter().any(|r| r.action == action && r.user.is_none()),
            "{action}"
        );
    }
    assert!(!format!("{log:?}").contains(&password));
}
