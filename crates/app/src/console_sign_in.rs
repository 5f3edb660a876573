//! Signing in to the web console: passwords (argon2id, hashed off the async threads), sessions
//! (a random token in an HttpOnly cookie, only its hash stored) and the per-session CSRF token
//! every console form carries.

use crate::secrets::{generate_secret, hashes_equal, random_id, secret_hash};
use crate::{App, AppError, Principal};
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Argon2, PasswordHash};
use ferry_model::Secret;
use std::sync::Arc;

/// The name of the console's session cookie (the HTTP edges read and set it).
pub const SESSION_COOKIE: &str = "ferry_session";

/// The value of the session cookie in a `Cookie` header's text, if there is one.
pub fn session_cookie<'a>(cookies: impl IntoIterator<Item = &'a str>) -> Option<String> {
    cookies
        .into_iter()
        .flat_map(|header| header.split(';'))
        .find_map(|cookie| {
            let (name, value) = cookie.trim().split_once('=')?;
            (name == SESSION_COOKIE && !value.is_empty()).then(|| value.to_owned())
        })
}

/// How long a console session lasts.
const SESSION_MS: i64 = 12 * 3_600_000;
const MIN_PASSWORD_CHARS: usize = 12;
const WRONG: &str = "the email or the password is wrong";

/// A signed-in browser: who it is and the CSRF token its forms must send back.
#[derive(Debug, Clone)]
pub struct ConsoleSession {
    pub principal: Arc<Principal>,
    pub csrf_token: String,
}

impl ConsoleSession {
    /// Whether a form's CSRF token is this session's.
    pub fn accepts(&self, csrf_token: &str) -> bool {
        hashes_equal(&self.csrf_token, csrf_token)
    }
}

fn hash_password(password: &str) -> Result<String, AppError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| AppError::Internal(format!("hashing a password: {e}")))
}

fn password_matches(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

async fn off_the_async_threads<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AppError::Internal(format!("password hashing stopped: {e}")))
}

impl App {
    /// Sets the console password of the user with `email`.
    pub async fn set_console_password(&self, email: &str, password: &str) -> Result<(), AppError> {
        if password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(AppError::input(
                "password",
                format!("a console password has at least {MIN_PASSWORD_CHARS} characters"),
            ));
        }
        let (user, _) = self
            .inner
            .store
            .user_password_hash(email)
            .await?
            .ok_or_else(|| AppError::input("email", format!("there is no user {email:?}")))?;
        let password = password.to_owned();
        let hash = off_the_async_threads(move || hash_password(&password)).await??;
        self.inner.store.set_user_password_hash(user, &hash).await?;
        Ok(())
    }

    /// Checks an email and password; answers the session token (for the cookie) and the session.
    /// A wrong email and a wrong password get the same answer after the same work.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
    ) -> Result<(Secret, ConsoleSession), AppError> {
        let found = self.inner.store.user_password_hash(email.trim()).await?;
        // Without a stored hash, a throwaway one is checked so the answer takes as long.
        static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let decoy = match DECOY.get() {
            Some(decoy) => decoy.clone(),
            None => {
                let made =
                    off_the_async_threads(|| hash_password("not anyone's password")).await??;
                DECOY.get_or_init(|| made).clone()
            }
        };
        let stored = found.as_ref().and_then(|(_, hash)| hash.clone());
        let checked = stored.clone().unwrap_or(decoy);
        let password = password.to_owned();
        let matches = off_the_async_threads(move || password_matches(&password, &checked)).await?;
        let (Some((user, _)), Some(_), true) = (found, stored, matches) else {
            return Err(AppError::Unauthenticated(WRONG.into()));
        };
        let token = generate_secret();
        let csrf_token = random_id();
        let now = self.now_ms();
        self.inner
            .store
            .create_console_session(
                &secret_hash(token.expose()),
                user,
                &csrf_token,
                now,
                now + SESSION_MS,
            )
            .await?;
        let principal = self.principal_of(user).await?;
        Ok((
            token,
            ConsoleSession {
                principal,
                csrf_token,
            },
        ))
    }

    /// The session a console cookie names, if it is signed in.
    pub async fn console_session(&self, token: &str) -> Result<ConsoleSession, AppError> {
        let record = self
            .inner
            .store
            .find_console_session(&secret_hash(token), self.now_ms())
            .await?
            .ok_or_else(|| AppError::Unauthenticated("sign in to use the console".into()))?;
        Ok(ConsoleSession {
            principal: self.principal_of(record.user_id).await?,
            csrf_token: record.csrf_token,
        })
    }

    /// Keeps a secret for the session's next page (the page a form redirects to), sealed.
    pub async fn remember_console_notice(&self, token: &str, notice: &str) -> Result<(), AppError> {
        self.inner
            .store
            .set_console_notice(&secret_hash(token), &Secret::new(notice))
            .await?;
        Ok(())
    }

    /// The session's notice, once.
    pub async fn take_console_notice(&self, token: &str) -> Result<Option<Secret>, AppError> {
        Ok(self
            .inner
            .store
            .take_console_notice(&secret_hash(token))
            .await?)
    }

    pub async fn sign_out(&self, token: &str) -> Result<(), AppError> {
        self.inner
            .store
            .delete_console_session(&secret_hash(token))
            .await?;
        Ok(())
    }

    async fn principal_of(&self, user: ferry_model::UserId) -> Result<Arc<Principal>, AppError> {
        let store = &self.inner.store;
        let user = store
            .get_user(user)
            .await?
            .ok_or_else(|| AppError::Unauthenticated("the user was deleted".into()))?;
        let organization = store
            .get_organization(user.organization_id)
            .await?
            .ok_or_else(|| AppError::Unauthenticated("the organization was deleted".into()))?;
        Ok(Arc::new(Principal { user, organization }))
    }
}
