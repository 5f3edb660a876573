use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("{0} already exists")]
    Conflict(&'static str),
    #[error(
        "a stored secret could not be decrypted: the master key differs from the one it was sealed with"
    )]
    Unseal,
    #[error(
        "a stored secret was sealed with master key {0}, which this process does not have: give it as FERRY_PREVIOUS_MASTER_KEYS until `ferry admin reseal-secrets` has run"
    )]
    UnknownKey(String),
    #[error("stored data is not readable: {0}")]
    Corrupt(String),
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        StoreError::Database(error)
    }
}

/// Maps a unique-constraint violation to [`StoreError::Conflict`], anything else to a database error.
pub(crate) fn conflict_or(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |error| match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => StoreError::Database(error),
    }
}
