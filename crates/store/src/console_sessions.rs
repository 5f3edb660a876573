//! Console sign-in: users' password hashes (computed by the caller) and the sessions of signed-in
//! browsers, kept by the hash of their token.

use crate::{Store, StoreResult};
use ferry_model::{Secret, UserId};

const SEAL_NOTICE: &str = "console_sessions.notice";
use sqlx::Row;

/// A live session: whose it is and the CSRF token its forms carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSessionRecord {
    pub user_id: UserId,
    pub csrf_token: String,
    pub expires_at_ms: i64,
}

impl Store {
    pub async fn set_user_password_hash(
        &self,
        id: UserId,
        password_hash: &str,
    ) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(id.0)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The user of `email` and their password hash, if they have one.
    pub async fn user_password_hash(
        &self,
        email: &str,
    ) -> StoreResult<Option<(UserId, Option<String>)>> {
        let row = sqlx::query("SELECT id, password_hash FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| Ok((UserId(row.try_get("id")?), row.try_get("password_hash")?)))
            .transpose()
    }

    pub async fn create_console_session(
        &self,
        token_hash: &str,
        user: UserId,
        csrf_token: &str,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        // Expired sessions go whenever a new one comes.
        sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1")
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO console_sessions (token_hash, user_id, csrf_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(user.0)
        .bind(csrf_token)
        .bind(now_ms)
        .bind(expires_at_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The session of `token_hash` if it has not expired at `now_ms`.
    pub async fn find_console_session(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> StoreResult<Option<ConsoleSessionRecord>> {
        let row = sqlx::query(
            "SELECT user_id, csrf_token, expires_at FROM console_sessions WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(ConsoleSessionRecord {
                user_id: UserId(row.try_get("user_id")?),
                csrf_token: row.try_get("csrf_token")?,
                expires_at_ms: row.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    pub async fn delete_console_session(&self, token_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM console_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Keeps `notice` (sealed) for the session's next page; it replaces any notice not yet shown.
    pub async fn set_console_notice(&self, token_hash: &str, notice: &Secret) -> StoreResult<bool> {
        let done =
            sqlx::query("UPDATE console_sessions SET notice_sealed = $1 WHERE token_hash = $2")
                .bind(self.sealer.seal_str(SEAL_NOTICE, notice.expose()))
                .bind(token_hash)
                .execute(&self.writer)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The session's notice, if there is one; it is gone once taken.
    pub async fn take_console_notice(&self, token_hash: &str) -> StoreResult<Option<Secret>> {
        let mut tx = self.writer.begin().await?;
        let row = sqlx::query(
            "SELECT notice_sealed FROM console_sessions WHERE token_hash = $1 AND notice_sealed IS NOT NULL",
        )
        .bind(token_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.commit().await?;
            return Ok(None);
        };
        sqlx::query("UPDATE console_sessions SET notice_sealed = NULL WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let sealed: Vec<u8> = row.try_get("notice_sealed")?;
        Ok(Some(Secret::new(
            self.sealer.open_string(SEAL_NOTICE, &sealed)?,
        )))
    }
}
