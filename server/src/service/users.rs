//! Users as an admin manages them, the same for the server's command line
//! (`create-user`, `unlock-user`) and the console's users page: creating a
//! user, deactivating one, resetting a password to a one-time password,
//! and unlocking a user locked out by too many sign-in attempts. Every act
//! is audited with who did it (no user for the command line).

use chrono::{DateTime, Utc};
use doorstep_core::domain::UserId;
use doorstep_core::sync::protocol::Role;
use uuid::Uuid;

use crate::auth;
use crate::error::{Missing, ServiceError};
use crate::login_limit::LoginLimiter;
use crate::store::{self, AuditRecord, Store, StoreTx, UserRecord};

/// The bank's minimum password length, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// How many characters a one-time password has ([`reset_password`]).
pub const ONE_TIME_PASSWORD_CHARS: usize = 16;

// A one-time password meets the bank's minimum, checked when compiling.
const _: () = assert!(ONE_TIME_PASSWORD_CHARS >= MIN_PASSWORD_CHARS);

/// The characters of a one-time password: letters and digits that cannot be
/// taken for one another when read aloud or copied by hand (no 0/O, 1/l/I).
const ONE_TIME_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// Who does an admin's act.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// The server's command line, run on the server's machine.
    CommandLine,
    /// A user signed in to the console; only an admin may act.
    User(&'a UserRecord),
}

impl Actor<'_> {
    /// Refuses a console user who is not an admin (`403 not_admin`).
    pub fn check(self) -> Result<(), ServiceError> {
        match self {
            Actor::User(user) if user.role != Role::Admin => Err(ServiceError::NotAdmin),
            _ => Ok(()),
        }
    }

    /// The user to audit the act under (none for the command line).
    pub fn user_id(self) -> Option<UserId> {
        match self {
            Actor::CommandLine => None,
            Actor::User(user) => Some(user.id),
        }
    }

    /// Appends the audit row of an act on `target_kind` `target_id`.
    pub fn audit(
        self,
        tx: &dyn StoreTx,
        at: DateTime<Utc>,
        action: &str,
        target_kind: &str,
        target_id: impl ToString,
    ) -> Result<(), ServiceError> {
        tx.append_audit(&AuditRecord {
            at,
            user: self.user_id(),
            device: None,
            action: action.to_owned(),
            target_kind: target_kind.to_owned(),
            target_id: target_id.to_string(),
            code: None,
        })?;
        Ok(())
    }
}

/// Why a new user's name or password is refused. The messages never repeat
/// what was typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NewUserRefused {
    /// The user name is empty.
    #[error("the user name is empty")]
    EmptyUserName,
    /// The user name starts or ends with white space.
    #[error("the user name starts or ends with white space")]
    UserNameSpaceAround,
    /// The user name holds a bidirectional or control character (which could
    /// make it show as another name).
    #[error("the user name holds a bidirectional or control character")]
    UserNameHiddenCharacter,
    /// The password is shorter than [`MIN_PASSWORD_CHARS`] characters.
    #[error("the password is shorter than {MIN_PASSWORD_CHARS} characters")]
    PasswordTooShort,
}

impl NewUserRefused {
    /// The stable code of the refusal.
    pub fn code(self) -> &'static str {
        match self {
            NewUserRefused::EmptyUserName => "empty_user_name",
            NewUserRefused::UserNameSpaceAround => "user_name_space_around",
            NewUserRefused::UserNameHiddenCharacter => "user_name_hidden_character",
            NewUserRefused::PasswordTooShort => "password_too_short",
        }
    }
}

/// Checks a new user's name and password: a name that is not empty, has no
/// white space around it and no bidirectional or control character, and a
/// password of at least [`MIN_PASSWORD_CHARS`] characters.
pub fn check_new_user(username: &str, password: &str) -> Result<(), NewUserRefused> {
    if username.is_empty() {
        return Err(NewUserRefused::EmptyUserName);
    }
    if username.trim() != username {
        return Err(NewUserRefused::UserNameSpaceAround);
    }
    if username.chars().any(crate::text::is_hidden_format) {
        return Err(NewUserRefused::UserNameHiddenCharacter);
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(NewUserRefused::PasswordTooShort);
    }
    Ok(())
}

pub(crate) fn user_named(tx: &dyn StoreTx, username: &str) -> Result<UserRecord, ServiceError> {
    tx.user_by_name(username)?
        .ok_or(ServiceError::NotFound(Missing::User))
}

fn user_by_id(tx: &dyn StoreTx, id: UserId) -> Result<UserRecord, ServiceError> {
    tx.user(id)?.ok_or(ServiceError::NotFound(Missing::User))
}

/// The supervisor named for a new agent's team: it must be a supervisor
/// (`400 not_a_supervisor`).
fn team_named(tx: &dyn StoreTx, name: Option<&str>) -> Result<Option<UserId>, ServiceError> {
    let Some(name) = name else {
        return Ok(None);
    };
    let found = user_named(tx, name)?;
    if found.role != Role::Supervisor {
        return Err(ServiceError::NamedNotSupervisor);
    }
    Ok(Some(found.id))
}

/// A user to create.
#[derive(Debug, Clone, Copy)]
pub struct NewUser<'a> {
    /// The user name.
    pub username: &'a str,
    /// The password, at least [`MIN_PASSWORD_CHARS`] characters.
    pub password: &'a str,
    /// What the user may do.
    pub role: Role,
    /// The supervisor whose team an agent joins, by user name.
    pub supervisor: Option<&'a str>,
}

/// Creates a user as `actor`; agents may name their supervisor (whose team
/// they join). The name and password must pass [`check_new_user`] (`422` with
/// its code); a taken name is `409`. Audited as `create_user`.
pub fn create_user_as(
    store: &dyn Store,
    actor: Actor<'_>,
    new: NewUser<'_>,
    now: DateTime<Utc>,
) -> Result<UserId, ServiceError> {
    actor.check()?;
    check_new_user(new.username, new.password)?;
    let password_hash = auth::hash_password(new.password)?;
    store::write(store, |tx| {
        let supervisor = team_named(tx, new.supervisor)?;
        let id = Uuid::now_v7();
        tx.insert_user(&UserRecord {
            id,
            username: new.username.to_owned(),
            password_hash: password_hash.clone(),
            role: new.role,
            supervisor,
            active: true,
        })?;
        actor.audit(tx, now, "create_user", "user", id)?;
        Ok(id)
    })
}

/// Creates a user from the command line ([`create_user_as`]).
pub fn create_user(
    store: &dyn Store,
    username: &str,
    password: &str,
    role: Role,
    supervisor: Option<&str>,
    now: DateTime<Utc>,
) -> Result<UserId, ServiceError> {
    let new = NewUser {
        username,
        password,
        role,
        supervisor,
    };
    create_user_as(store, Actor::CommandLine, new, now)
}

/// Deactivates a user as `actor`, at once on every replica: they sign in to
/// neither sync nor the console again (`403 user_deactivated` after the
/// right password), their console sessions end and their phones' tokens are
/// revoked. Their devices stay as they are (deactivate a lost phone on its
/// own). An admin cannot deactivate their own account (`409 own_account`):
/// no admin locks themselves out by mistake. Audited as `deactivate_user`.
pub fn deactivate_user(
    store: &dyn Store,
    actor: Actor<'_>,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    actor.check()?;
    if actor.user_id() == Some(user) {
        return Err(ServiceError::OwnAccount);
    }
    store::write(store, |tx| {
        let found = user_by_id(tx, user)?;
        tx.set_user_active(found.id, false)?;
        tx.revoke_user_tokens(found.id)?;
        crate::service::refresh::revoke_user_sign_ins(tx, found.id)?;
        tx.end_user_console_sessions(found.id)?;
        actor.audit(tx, now, "deactivate_user", "user", found.id)
    })
}

/// A new one-time password: [`ONE_TIME_PASSWORD_CHARS`] characters of
/// [`ONE_TIME_ALPHABET`], from the operating system's random source.
fn one_time_password() -> Result<String, ServiceError> {
    let mut bytes = [0u8; ONE_TIME_PASSWORD_CHARS];
    let mut out = String::with_capacity(ONE_TIME_PASSWORD_CHARS);
    while out.len() < ONE_TIME_PASSWORD_CHARS {
        getrandom::fill(&mut bytes).map_err(|e| ServiceError::internal(&e))?;
        // Rejection sampling: only bytes below the largest multiple of the
        // alphabet's size, so every character is equally likely.
        let size = ONE_TIME_ALPHABET.len();
        let below = 256 - 256 % size;
        for byte in bytes {
            if usize::from(byte) < below && out.len() < ONE_TIME_PASSWORD_CHARS {
                out.push(char::from(ONE_TIME_ALPHABET[usize::from(byte) % size]));
            }
        }
    }
    Ok(out)
}

/// Gives a user a new one-time password as `actor`, and returns it: it is
/// shown once, to the admin, and never stored but as its hash. The old
/// password stops working, and so do the user's console sessions and
/// phones' tokens (whoever knew the old one is signed out). Audited as
/// `reset_password`.
pub fn reset_password(
    store: &dyn Store,
    actor: Actor<'_>,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<String, ServiceError> {
    actor.check()?;
    let password = one_time_password()?;
    let hash = auth::hash_password(&password)?;
    store::write(store, |tx| {
        let found = user_by_id(tx, user)?;
        tx.set_user_password(found.id, &hash)?;
        tx.revoke_user_tokens(found.id)?;
        crate::service::refresh::revoke_user_sign_ins(tx, found.id)?;
        tx.end_user_console_sessions(found.id)?;
        actor.audit(tx, now, "reset_password", "user", found.id)
    })?;
    Ok(password)
}

/// Clears every sign-in attempt counted against a user's name as `actor`,
/// so they may sign in again at once (their client addresses stay
/// counted). The counts live in the store, so the unlock holds at once for
/// every replica. Audited as `unlock_user`. How many attempts were cleared.
pub fn unlock_user_as(
    store: &dyn Store,
    limiter: &LoginLimiter,
    actor: Actor<'_>,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<u64, ServiceError> {
    actor.check()?;
    store::write(store, |tx| {
        let found = user_by_id(tx, user)?;
        let cleared = limiter.unlock(tx, &found.username)?;
        actor.audit(tx, now, "unlock_user", "user", found.id)?;
        Ok(cleared)
    })
}

/// Unlocks a user by name from the command line ([`unlock_user_as`]): the
/// user's id, and how many attempts were cleared.
pub fn unlock_user(
    store: &dyn Store,
    limiter: &LoginLimiter,
    username: &str,
    now: DateTime<Utc>,
) -> Result<(UserId, u64), ServiceError> {
    let user = store::read(store, |tx| user_named(tx, username))?;
    let cleared = unlock_user_as(store, limiter, Actor::CommandLine, user.id, now)?;
    Ok((user.id, cleared))
}

/// A user as the users page lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedUser {
    /// The user.
    pub user: UserRecord,
    /// Their supervisor's user name, for an agent in a team.
    pub team: Option<String>,
    /// Whether sign-ins under their name are refused now for too many
    /// failed attempts.
    pub locked: bool,
}

/// The most users one listing shows.
pub const MAX_LISTED: usize = 200;

/// The users whose name holds `search` (ignoring case; every user when
/// empty), by name, at most [`MAX_LISTED`], with their team and whether
/// they are locked out now; and how many matched in all.
pub fn list_users(
    store: &dyn Store,
    limiter: &LoginLimiter,
    actor: Actor<'_>,
    search: &str,
    now: DateTime<Utc>,
) -> Result<(Vec<ListedUser>, usize), ServiceError> {
    actor.check()?;
    let needle = search.trim().to_lowercase();
    store::read(store, |tx| {
        let users = tx.users()?;
        let names: std::collections::HashMap<UserId, String> =
            users.iter().map(|u| (u.id, u.username.clone())).collect();
        let matching: Vec<UserRecord> = users
            .into_iter()
            .filter(|u| needle.is_empty() || u.username.to_lowercase().contains(&needle))
            .collect();
        let total = matching.len();
        let mut listed = Vec::with_capacity(total.min(MAX_LISTED));
        for user in matching.into_iter().take(MAX_LISTED) {
            let locked = limiter.is_locked(tx, &user.username, now)?;
            listed.push(ListedUser {
                team: user.supervisor.and_then(|s| names.get(&s).cloned()),
                locked,
                user,
            });
        }
        Ok((listed, total))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_time_passwords_are_long_enough_and_differ() {
        let a = one_time_password().unwrap();
        let b = one_time_password().unwrap();
        assert_eq!(a.chars().count(), ONE_TIME_PASSWORD_CHARS);
        assert!(a.bytes().all(|c| ONE_TIME_ALPHABET.contains(&c)));
        assert_ne!(a, b);
        assert!(check_new_user("someone", &a).is_ok());
    }
}
