//! Re-sealing every stored secret with the current master key: the second half of a key
//! rotation, run once every process holds the new key (docs/operations.md).

use crate::{Store, StoreError, StoreResult};
use sqlx::Row;

/// A column holding sealed values: its table, the row key, and the context it is sealed under.
struct SealedColumn {
    table: &'static str,
    key: &'static str,
    key_is_text: bool,
    column: &'static str,
    context: &'static str,
}

const SEALED_COLUMNS: &[SealedColumn] = &[
    SealedColumn {
        table: "instances",
        key: "id",
        key_is_text: false,
        column: "secret_configuration",
        context: "instances.secret_configuration",
    },
    SealedColumn {
        table: "instances",
        key: "id",
        key_is_text: false,
        column: "token_sealed",
        context: "instances.token",
    },
    SealedColumn {
        table: "instances",
        key: "id",
        key_is_text: false,
        column: "access_token_sealed",
        context: "instances.access_token",
    },
    SealedColumn {
        table: "instances",
        key: "id",
        key_is_text: false,
        column: "refresh_token_sealed",
        context: "instances.refresh_token",
    },
    SealedColumn {
        table: "oauth_authorizations",
        key: "id",
        key_is_text: true,
        column: "pkce_verifier_sealed",
        context: "oauth_authorizations.pkce_verifier",
    },
    SealedColumn {
        table: "flow_instances",
        key: "id",
        key_is_text: false,
        column: "webhook_secret_sealed",
        context: "flow_instances.webhook_secret",
    },
    SealedColumn {
        table: "console_sessions",
        key: "token_hash",
        key_is_text: true,
        column: "notice_sealed",
        context: "console_sessions.notice",
    },
];

const PAGE: i64 = 500;

/// What [`Store::reseal_secrets`] did, per column (`table.column`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ResealReport {
    pub columns: Vec<ResealedColumn>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ResealedColumn {
    pub name: String,
    /// Values now sealed with the current key that were not before.
    pub resealed: u64,
    /// Values that already were.
    pub current: u64,
    /// Values changed by someone else between reading and writing (already re-sealed by them).
    pub raced: u64,
}

impl ResealReport {
    pub fn resealed(&self) -> u64 {
        self.columns.iter().map(|c| c.resealed).sum()
    }
}

enum RowKey {
    Number(i64),
    Text(String),
}

impl Store {
    /// Seals every stored secret with the current master key, page by page. Safe while other
    /// processes run: a value is replaced only if it is still the one read. A value no configured
    /// key opens stops the run with [`StoreError::UnknownKey`] or [`StoreError::Unseal`] and
    /// changes nothing more; what was re-sealed before stays valid.
    pub async fn reseal_secrets(&self) -> StoreResult<ResealReport> {
        let mut report = ResealReport::default();
        for column in SEALED_COLUMNS {
            report.columns.push(self.reseal_column(column).await?);
        }
        Ok(report)
    }

    async fn reseal_column(&self, column: &SealedColumn) -> StoreResult<ResealedColumn> {
        let mut done = ResealedColumn {
            name: format!("{}.{}", column.table, column.column),
            ..ResealedColumn::default()
        };
        let mut after: Option<RowKey> = None;
        loop {
            let (table, key, sealed) = (column.table, column.key, column.column);
            let query = match &after {
                None => format!(
                    "SELECT {key}, {sealed} FROM {table} WHERE {sealed} IS NOT NULL ORDER BY {key} LIMIT {PAGE}"
                ),
                Some(_) => format!(
                    "SELECT {key}, {sealed} FROM {table} WHERE {sealed} IS NOT NULL AND {key} > $1 ORDER BY {key} LIMIT {PAGE}"
                ),
            };
            let query = sqlx::query(sqlx::AssertSqlSafe(query));
            let query = match &after {
                None => query,
                Some(RowKey::Number(n)) => query.bind(*n),
                Some(RowKey::Text(t)) => query.bind(t.clone()),
            };
            let rows = query.fetch_all(&self.pool).await?;
            if rows.is_empty() {
                return Ok(done);
            }
            for row in &rows {
                let row_key = if column.key_is_text {
                    RowKey::Text(row.try_get::<String, _>(0)?)
                } else {
                    RowKey::Number(row.try_get::<i64, _>(0)?)
                };
                let old: Vec<u8> = row.try_get(1)?;
                if self.sealer.is_current(&old) {
                    done.current += 1;
                } else {
                    let plain =
                        self.sealer
                            .open(column.context, &old)
                            .map_err(|error| match error {
                                StoreError::Unseal => StoreError::Corrupt(format!(
                                    "{} of row {} does not open with any configured master key",
                                    done.name,
                                    describe(&row_key)
                                )),
                                other => other,
                            })?;
                    let new = self.sealer.seal(column.context, &plain);
                    let update = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "UPDATE {table} SET {sealed} = $1 WHERE {key} = $2 AND {sealed} = $3"
                    )))
                    .bind(new);
                    let update = match &row_key {
                        RowKey::Number(n) => update.bind(*n),
                        RowKey::Text(t) => update.bind(t.clone()),
                    };
                    let changed = update.bind(old).execute(&self.writer).await?;
                    if changed.rows_affected() == 1 {
                        done.resealed += 1;
                    } else {
                        done.raced += 1;
                    }
                }
                after = Some(row_key);
            }
        }
    }
}

fn describe(key: &RowKey) -> String {
    match key {
        RowKey::Number(n) => n.to_string(),
        // Console session keys are token hashes: name only their start.
        RowKey::Text(t) => format!("{}…", t.chars().take(8).collect::<String>()),
    }
}
