//! Signing in through the facade: the agent's password, asked once by the
//! app's sign-in screen, gets the device a token and a refresh credential
//! kept in the encrypted database (see `sync::sign_in`); the password itself
//! is never stored. Every later sync and review renews the sign-in with the
//! credential.

use super::Doorstep;
use crate::domain::UserId;
use crate::error::{DoorstepError, Error};
use crate::store::meta;
use crate::sync::engine::Engine;
use crate::sync::status::NoProgress;
use crate::sync::transport::Transport;

impl Doorstep {
    /// Signs in the agent with their user name and password, registering
    /// this phone to them first if the server says it is not registered yet.
    /// Keeps the token and the device's refresh credential (never the
    /// password), clears the backoff of earlier failures so that the queue
    /// syncs at once, and returns the agent's id.
    ///
    /// Fails with a sync failure: `offline`, `timeout`, `io` on the way;
    /// `unauthorized` for a wrong user name or password; `wrong_user` when the
    /// device holds another agent's data (only that agent may sign in on it);
    /// `refused` with the server's code (`device_deactivated`,
    /// `device_taken`, `too_many_attempts`...). Nothing stored is changed then.
    pub fn sign_in(
        &self,
        transport: &dyn Transport,
        username: &str,
        password: &str,
    ) -> Result<UserId, DoorstepError> {
        let labelled = self.labelled(transport);
        let transport: &dyn Transport = &labelled;
        let _running = self.sync_lock.lock().unwrap_or_else(|p| p.into_inner());
        let policy = self.policy();
        let mut engine = Engine::new(
            &self.store,
            &self.clock,
            self.wall.as_ref(),
            &policy,
            self.device,
            transport,
            &NoProgress,
            &self.heads,
        );
        let login = match engine.sign_in(username, password) {
            Err(Error::Sync {
                code: "device_not_registered",
                ..
            }) => {
                self.register_device(transport, username, password)?;
                engine.sign_in(username, password)?
            }
            other => other?,
        };
        self.store.write(|tx| {
            for key in [
                meta::SYNC_LAST_ERROR,
                meta::SYNC_FAILURES,
                meta::SYNC_NEXT_ATTEMPT_AFTER,
            ] {
                meta::remove(tx, key)?;
            }
            Ok(())
        })?;
        Ok(login.user_id)
    }

    /// Whether the device holds a sign-in it can renew without the password
    /// (a refresh credential the server has not refused yet): the app shows
    /// its sign-in screen when it does not.
    pub fn is_signed_in(&self) -> Result<bool, DoorstepError> {
        Ok(self
            .store
            .read(|conn| meta::get(conn, meta::SYNC_REFRESH))?
            .is_some())
    }
}
