//! Connecting, dialects and migrations.

use crate::{MasterKey, SecretBox, StoreError, StoreResult};
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Executor, SqlStr};
use std::time::Duration;

/// Every SQLite connection: WAL (readers never wait for the writer), commits without an fsync
/// each (the WAL is synced at checkpoints), foreign keys enforced.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;";

/// The SQL dialect behind the pool. Only a few statements differ; they branch on this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub max_connections: u32,
    /// PostgreSQL only: the schema to use (created if missing). Tests use one schema each.
    pub schema: Option<String>,
    /// Master keys that sealed values may still be sealed with (a rotation in progress): they
    /// open, they never seal.
    pub previous_keys: Vec<MasterKey>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 8,
            schema: None,
            previous_keys: Vec::new(),
        }
    }
}

/// ferry's storage. Cheap to clone: it holds a pool.
#[derive(Clone)]
pub struct Store {
    /// Reads, and on PostgreSQL everything.
    pub(crate) pool: AnyPool,
    /// Writes. On SQLite one connection: SQLite takes one writer at a time anyway, and writers
    /// queuing in this pool (a fair async queue) beat writers retrying in SQLite's busy handler,
    /// which sleeps whole milliseconds.
    pub(crate) writer: AnyPool,
    /// The hot execution writes, on SQLite files (see `journal.rs`).
    pub(crate) journal: Option<crate::journal::Journal>,
    pub(crate) dialect: Dialect,
    pub(crate) sealer: SecretBox,
    /// PostgreSQL: where a listening connection goes, and the schema (for the wake-up channel).
    pub(crate) postgres_url: Option<String>,
    pub(crate) schema: Option<String>,
}

macro_rules! embedded_migrations {
    ($dialect:literal, $( $version:literal => $file:literal ),* $(,)?) => {
        vec![$(
            Migration::new(
                $version,
                $file.into(),
                MigrationType::Simple,
                SqlStr::from_static(include_str!(concat!("../migrations/", $dialect, "/", $file))),
                false,
            )
        ),*]
    };
}

fn migrator(dialect: Dialect) -> Migrator {
    let migrations = match dialect {
        Dialect::Sqlite => embedded_migrations!("sqlite",
            1 => "0001_tenancy_and_instances.sql",
            2 => "0002_flows.sql",
            3 => "0003_proxies.sql",
            4 => "0004_console_sessions.sql",
            5 => "0005_console_notices.sql",
            6 => "0006_connector_definitions.sql",
            7 => "0007_webhook_event_ids.sql",
            8 => "0008_waiting_index_holds_only_unfinished.sql",
        ),
        Dialect::Postgres => embedded_migrations!("postgres",
            1 => "0001_tenancy_and_instances.sql",
            2 => "0002_flows.sql",
            3 => "0003_proxies.sql",
            4 => "0004_console_sessions.sql",
            5 => "0005_console_notices.sql",
            6 => "0006_connector_definitions.sql",
            7 => "0007_webhook_event_ids.sql",
            8 => "0008_waiting_index_holds_only_unfinished.sql",
        ),
    };
    Migrator::with_migrations(migrations)
}

impl Store {
    /// Connects to `url` (`sqlite://PATH`, `sqlite::memory:` or `postgres://…`) and brings the
    /// schema up to date. Several processes may call this at once: migrations take a lock.
    pub async fn connect(url: &str, key: &MasterKey, options: StoreOptions) -> StoreResult<Store> {
        install_default_drivers();
        let dialect = if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Dialect::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        let url = match dialect {
            Dialect::Sqlite if !url.contains(":memory:") && !url.contains("mode=") => {
                let separator = if url.contains('?') { '&' } else { '?' };
                format!("{url}{separator}mode=rwc")
            }
            _ => url.to_owned(),
        };
        let in_memory = url.contains(":memory:");
        let schema = options.schema.clone();
        let kept_schema = schema.clone();
        if let (Dialect::Postgres, Some(schema)) = (dialect, &schema) {
            validate_schema_name(schema)?;
            let bootstrap = AnyPoolOptions::new()
                .max_connections(1)
                .connect(&url)
                .await?;
            let created = bootstrap
                .execute(sqlx::AssertSqlSafe(format!(
                    "CREATE SCHEMA IF NOT EXISTS \"{schema}\""
                )))
                .await;
            match created {
                Ok(_) => {}
                // Processes started together race here: IF NOT EXISTS is not atomic in
                // PostgreSQL, and the loser's error means the schema is there.
                Err(sqlx::Error::Database(error))
                    if error.is_unique_violation() || error.code().as_deref() == Some("42P06") => {}
                Err(error) => return Err(error.into()),
            }
            bootstrap.close().await;
        }
        let pool = AnyPoolOptions::new()
            // An in-memory SQLite database exists per connection, so it must be exactly one.
            .max_connections(if in_memory {
                1
            } else {
                options.max_connections
            })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                let schema = schema.clone();
                Box::pin(async move {
                    match dialect {
                        Dialect::Sqlite => {
                            conn.execute(sqlx::raw_sql(SQLITE_PRAGMAS)).await?;
                        }
                        Dialect::Postgres => {
                            if let Some(schema) = schema {
                                conn.execute(sqlx::AssertSqlSafe(format!(
                                    "SET search_path TO \"{schema}\""
                                )))
                                .await?;
                            }
                        }
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        migrator(dialect).run(&pool).await?;
        let writer = match dialect {
            Dialect::Sqlite if !in_memory => {
                let writer_options = AnyPoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(Duration::from_secs(30))
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            conn.execute(sqlx::raw_sql(SQLITE_PRAGMAS)).await?;
                            Ok(())
                        })
                    });
                writer_options.connect(&url).await?
            }
            _ => pool.clone(),
        };
        let journal = match dialect {
            Dialect::Sqlite if !in_memory => {
                Some(crate::journal::Journal::open(&sqlite_path(&url))?)
            }
            _ => None,
        };
        Ok(Store {
            pool,
            writer,
            journal,
            dialect,
            sealer: SecretBox::with_previous(key, &options.previous_keys),
            postgres_url: (dialect == Dialect::Postgres).then(|| url.clone()),
            schema: kept_schema,
        })
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }

    /// Drops a PostgreSQL schema (test clean-up).
    pub async fn drop_schema(&self, schema: &str) -> StoreResult<()> {
        validate_schema_name(schema)?;
        self.pool
            .execute(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
            )))
            .await?;
        Ok(())
    }
}

fn validate_schema_name(schema: &str) -> StoreResult<()> {
    if schema.is_empty()
        || !schema
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(StoreError::Corrupt(format!(
            "schema name {schema:?} may hold only letters, digits and underscores"
        )));
    }
    Ok(())
}

/// The file of a `sqlite://PATH?options` URL.
fn sqlite_path(url: &str) -> std::path::PathBuf {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    std::path::PathBuf::from(rest.split('?').next().unwrap_or(rest))
}
