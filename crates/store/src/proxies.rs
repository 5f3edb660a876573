//! API proxies, their keys (hashes only), the token buckets and daily counts those keys spend
//! from, and the record of calls. A bucket lives on its key's row and is spent with one
//! conditional UPDATE, so every process sharing the database draws from the same bucket.

use crate::error::conflict_or;
use crate::{Dialect, Store, StoreError, StoreResult};
use ferry_model::proxy::{KeyScopes, Proxy, ProxyCall, ProxyKey, RateLimit};
use ferry_model::{InstanceId, OrganizationId, ProxyId, ProxyKeyId};
use sqlx::Row;
use sqlx::any::AnyRow;

/// A proxy to publish; `Proxy` fields that the store assigns are absent.
pub struct NewProxy<'a> {
    pub organization_id: OrganizationId,
    pub instance_id: InstanceId,
    pub name: &'a str,
    pub base_path: &'a str,
    pub operations: Option<&'a [String]>,
    pub cors_origins: &'a [String],
    pub rate_limit: RateLimit,
    pub daily_quota: Option<u32>,
    pub max_request_bytes: u64,
    pub now_ms: i64,
}

pub struct NewProxyKey<'a> {
    pub proxy_id: ProxyId,
    pub name: &'a str,
    pub prefix: &'a str,
    pub key_hash: &'a str,
    pub scopes: &'a KeyScopes,
    pub rate_limit: Option<RateLimit>,
    pub daily_quota: Option<u32>,
    pub expires_at_ms: Option<i64>,
    /// The bucket starts full.
    pub initial_tokens: f64,
    pub now_ms: i64,
}

/// One attempt to spend a token from a key's bucket.
#[derive(Debug, Clone, Copy)]
pub struct TokenRequest {
    pub now_ms: i64,
    pub capacity: f64,
    pub refill_per_ms: f64,
    /// Days since the Unix epoch (UTC): the daily count restarts when it changes.
    pub day: i64,
    /// `None` for no daily quota.
    pub daily_quota: Option<u32>,
}

/// A bucket as stored, before refill.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketState {
    pub tokens: f64,
    pub at_ms: i64,
    pub quota_day: i64,
    pub quota_used: i64,
}

impl BucketState {
    /// Spends a token and a call of the day's quota if both have room, as
    /// [`Store::take_proxy_token`] does in the database; for a process that keeps buckets in
    /// memory.
    pub fn take(&mut self, request: &TokenRequest) -> TokenOutcome {
        let tokens = (self.tokens
            + (request.now_ms - self.at_ms).max(0) as f64 * request.refill_per_ms)
            .min(request.capacity);
        let used = if self.quota_day == request.day {
            self.quota_used
        } else {
            0
        };
        if tokens < 1.0
            || request
                .daily_quota
                .is_some_and(|quota| used >= i64::from(quota))
        {
            return TokenOutcome::Refused(*self);
        }
        *self = BucketState {
            tokens: tokens - 1.0,
            at_ms: self.at_ms.max(request.now_ms),
            quota_day: request.day,
            quota_used: used + 1,
        };
        TokenOutcome::Taken {
            tokens_left: self.tokens,
            quota_used: self.quota_used,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TokenOutcome {
    /// A token was spent; what is left after it.
    Taken { tokens_left: f64, quota_used: i64 },
    /// No token (or no quota) left; the bucket as it is.
    Refused(BucketState),
    /// The key was deleted meanwhile.
    NoSuchKey,
}

/// How usage figures are grouped besides time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageGroup {
    Key,
    Status,
    Operation,
}

impl UsageGroup {
    fn column(self) -> &'static str {
        match self {
            UsageGroup::Key => "COALESCE(CAST(key_id AS TEXT), '')",
            UsageGroup::Status => "CAST(status AS TEXT)",
            UsageGroup::Operation => "operation",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct UsageQuery {
    pub from_ms: i64,
    pub to_ms: i64,
    pub bucket_ms: i64,
    pub group: UsageGroup,
}

/// Calls of one group in one time bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageRow {
    pub bucket_start_ms: i64,
    /// The key id, status or operation (empty for calls without a valid key).
    pub group: String,
    pub calls: i64,
    pub latency_us_total: i64,
    pub latency_us_max: i64,
    pub request_bytes: i64,
    pub response_bytes: i64,
}

const PROXY_COLUMNS: &str = "id, organization_id, instance_id, name, base_path, operations, cors_origins, \
     rate_requests, rate_seconds, daily_quota, max_request_bytes, published, created_at, updated_at";

const KEY_COLUMNS: &str = "id, proxy_id, name, prefix, key_hash, scopes, rate_requests, rate_seconds, \
     daily_quota, expires_at, revoked_at, created_at";

const CALL_COLUMNS: &str =
    "proxy_id, key_id, at, method, operation, status, latency_us, request_bytes, response_bytes";

fn corrupt(what: &str) -> impl FnOnce(serde_json::Error) -> StoreError + '_ {
    move |e| StoreError::Corrupt(format!("{what}: {e}"))
}

fn rate_limit(requests: Option<i64>, seconds: Option<i64>) -> Option<RateLimit> {
    match (requests, seconds) {
        (Some(requests), Some(seconds)) => Some(RateLimit {
            requests: u32::try_from(requests).unwrap_or(u32::MAX),
            seconds: u32::try_from(seconds).unwrap_or(u32::MAX),
        }),
        _ => None,
    }
}

fn quota(value: Option<i64>) -> Option<u32> {
    value.map(|v| u32::try_from(v).unwrap_or(u32::MAX))
}

fn proxy_from_row(row: &AnyRow) -> StoreResult<Proxy> {
    let operations: Option<String> = row.try_get("operations")?;
    let cors: String = row.try_get("cors_origins")?;
    let published: i64 = row.try_get("published")?;
    let max_request_bytes: i64 = row.try_get("max_request_bytes")?;
    Ok(Proxy {
        id: ProxyId(row.try_get("id")?),
        organization_id: OrganizationId(row.try_get("organization_id")?),
        instance_id: InstanceId(row.try_get("instance_id")?),
        name: row.try_get("name")?,
        base_path: row.try_get("base_path")?,
        operations: operations
            .map(|text| serde_json::from_str(&text))
            .transpose()
            .map_err(corrupt("proxy operations"))?,
        cors_origins: serde_json::from_str(&cors).map_err(corrupt("proxy CORS origins"))?,
        rate_limit: rate_limit(row.try_get("rate_requests")?, row.try_get("rate_seconds")?)
            .ok_or_else(|| StoreError::Corrupt("a proxy without a rate limit".into()))?,
        daily_quota: quota(row.try_get("daily_quota")?),
        max_request_bytes: u64::try_from(max_request_bytes).unwrap_or(0),
        published: published != 0,
        created_at_ms: row.try_get("created_at")?,
        updated_at_ms: row.try_get("updated_at")?,
    })
}

fn key_from_row(row: &AnyRow) -> StoreResult<ProxyKey> {
    let scopes: String = row.try_get("scopes")?;
    Ok(ProxyKey {
        id: ProxyKeyId(row.try_get("id")?),
        proxy_id: ProxyId(row.try_get("proxy_id")?),
        name: row.try_get("name")?,
        prefix: row.try_get("prefix")?,
        key_hash: row.try_get("key_hash")?,
        scopes: serde_json::from_str(&scopes).map_err(corrupt("key scopes"))?,
        rate_limit: rate_limit(row.try_get("rate_requests")?, row.try_get("rate_seconds")?),
        daily_quota: quota(row.try_get("daily_quota")?),
        expires_at_ms: row.try_get("expires_at")?,
        revoked_at_ms: row.try_get("revoked_at")?,
        created_at_ms: row.try_get("created_at")?,
    })
}

fn call_from_row(row: &AnyRow) -> StoreResult<ProxyCall> {
    let key_id: Option<i64> = row.try_get("key_id")?;
    let status: i64 = row.try_get("status")?;
    Ok(ProxyCall {
        proxy_id: ProxyId(row.try_get("proxy_id")?),
        key_id: key_id.map(ProxyKeyId),
        at_ms: row.try_get("at")?,
        method: row.try_get("method")?,
        operation: row.try_get("operation")?,
        status: u16::try_from(status).unwrap_or(0),
        latency_us: row.try_get("latency_us")?,
        request_bytes: row.try_get("request_bytes")?,
        response_bytes: row.try_get("response_bytes")?,
    })
}

fn operations_json(operations: Option<&[String]>) -> Option<String> {
    operations.map(|ops| serde_json::to_string(ops).expect("strings serialize"))
}

impl Store {
    pub async fn create_proxy(&self, new: &NewProxy<'_>) -> StoreResult<Proxy> {
        let row = sqlx::query(
            "INSERT INTO proxies (organization_id, instance_id, name, base_path, operations, cors_origins, \
             rate_requests, rate_seconds, daily_quota, max_request_bytes, published, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $11) RETURNING id",
        )
        .bind(new.organization_id.0)
        .bind(new.instance_id.0)
        .bind(new.name)
        .bind(new.base_path)
        .bind(operations_json(new.operations))
        .bind(serde_json::to_string(new.cors_origins).expect("strings serialize"))
        .bind(i64::from(new.rate_limit.requests))
        .bind(i64::from(new.rate_limit.seconds))
        .bind(new.daily_quota.map(i64::from))
        .bind(i64::try_from(new.max_request_bytes).unwrap_or(i64::MAX))
        .bind(new.now_ms)
        .fetch_one(&self.writer)
        .await
        .map_err(conflict_or("a proxy with this base path"))?;
        let id = ProxyId(row.try_get("id")?);
        self.get_proxy(new.organization_id, id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("proxy {id} vanished after insert")))
    }

    pub async fn get_proxy(
        &self,
        organization: OrganizationId,
        id: ProxyId,
    ) -> StoreResult<Option<Proxy>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {PROXY_COLUMNS} FROM proxies WHERE id = $1 AND organization_id = $2"
        )))
        .bind(id.0)
        .bind(organization.0)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(proxy_from_row).transpose()
    }

    pub async fn find_proxy_by_base_path(&self, base_path: &str) -> StoreResult<Option<Proxy>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {PROXY_COLUMNS} FROM proxies WHERE base_path = $1"
        )))
        .bind(base_path)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(proxy_from_row).transpose()
    }

    pub async fn list_proxies(&self, organization: OrganizationId) -> StoreResult<Vec<Proxy>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {PROXY_COLUMNS} FROM proxies WHERE organization_id = $1 ORDER BY id"
        )))
        .bind(organization.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(proxy_from_row).collect()
    }

    /// Writes every changeable field of `proxy` (not its instance, organization or creation
    /// time); `None` if it no longer exists in its organization.
    pub async fn update_proxy(&self, proxy: &Proxy, now_ms: i64) -> StoreResult<Option<Proxy>> {
        let done = sqlx::query(
            "UPDATE proxies SET name = $1, base_path = $2, operations = $3, cors_origins = $4, \
             rate_requests = $5, rate_seconds = $6, daily_quota = $7, max_request_bytes = $8, \
             published = $9, updated_at = $10 WHERE id = $11 AND organization_id = $12",
        )
        .bind(&proxy.name)
        .bind(&proxy.base_path)
        .bind(operations_json(proxy.operations.as_deref()))
        .bind(serde_json::to_string(&proxy.cors_origins).expect("strings serialize"))
        .bind(i64::from(proxy.rate_limit.requests))
        .bind(i64::from(proxy.rate_limit.seconds))
        .bind(proxy.daily_quota.map(i64::from))
        .bind(i64::try_from(proxy.max_request_bytes).unwrap_or(i64::MAX))
        .bind(i64::from(proxy.published))
        .bind(now_ms)
        .bind(proxy.id.0)
        .bind(proxy.organization_id.0)
        .execute(&self.writer)
        .await
        .map_err(conflict_or("a proxy with this base path"))?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        self.get_proxy(proxy.organization_id, proxy.id).await
    }

    /// Deletes a proxy with its keys and its call records.
    pub async fn delete_proxy(
        &self,
        organization: OrganizationId,
        id: ProxyId,
    ) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await?;
        let done = sqlx::query("DELETE FROM proxies WHERE id = $1 AND organization_id = $2")
            .bind(id.0)
            .bind(organization.0)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() > 0 {
            sqlx::query("DELETE FROM proxy_calls WHERE proxy_id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn create_proxy_key(&self, new: &NewProxyKey<'_>) -> StoreResult<ProxyKey> {
        let row = sqlx::query(
            "INSERT INTO proxy_keys (proxy_id, name, prefix, key_hash, scopes, rate_requests, rate_seconds, \
             daily_quota, expires_at, created_at, bucket_tokens, bucket_at, quota_day, quota_used) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $10, 0, 0) RETURNING id",
        )
        .bind(new.proxy_id.0)
        .bind(new.name)
        .bind(new.prefix)
        .bind(new.key_hash)
        .bind(serde_json::to_string(new.scopes).expect("scopes serialize"))
        .bind(new.rate_limit.map(|r| i64::from(r.requests)))
        .bind(new.rate_limit.map(|r| i64::from(r.seconds)))
        .bind(new.daily_quota.map(i64::from))
        .bind(new.expires_at_ms)
        .bind(new.now_ms)
        .bind(new.initial_tokens)
        .fetch_one(&self.writer)
        .await
        .map_err(conflict_or("a key with this hash"))?;
        let id = ProxyKeyId(row.try_get("id")?);
        self.get_proxy_key(new.proxy_id, id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("key {id} vanished after insert")))
    }

    pub async fn get_proxy_key(
        &self,
        proxy: ProxyId,
        id: ProxyKeyId,
    ) -> StoreResult<Option<ProxyKey>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {KEY_COLUMNS} FROM proxy_keys WHERE id = $1 AND proxy_id = $2"
        )))
        .bind(id.0)
        .bind(proxy.0)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(key_from_row).transpose()
    }

    /// Every key of a proxy, revoked and expired ones included, oldest first.
    pub async fn list_proxy_keys(&self, proxy: ProxyId) -> StoreResult<Vec<ProxyKey>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {KEY_COLUMNS} FROM proxy_keys WHERE proxy_id = $1 ORDER BY id"
        )))
        .bind(proxy.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(key_from_row).collect()
    }

    /// Marks a key revoked (once: a second revocation keeps the first time).
    pub async fn revoke_proxy_key(
        &self,
        proxy: ProxyId,
        id: ProxyKeyId,
        now_ms: i64,
    ) -> StoreResult<Option<ProxyKey>> {
        sqlx::query(
            "UPDATE proxy_keys SET revoked_at = $1 WHERE id = $2 AND proxy_id = $3 AND revoked_at IS NULL",
        )
        .bind(now_ms)
        .bind(id.0)
        .bind(proxy.0)
        .execute(&self.writer)
        .await?;
        self.get_proxy_key(proxy, id).await
    }

    /// Spends one token of a key's bucket and one call of its daily quota, atomically across every
    /// process sharing the database.
    pub async fn take_proxy_token(
        &self,
        key: ProxyKeyId,
        request: &TokenRequest,
    ) -> StoreResult<TokenOutcome> {
        let (least, greatest) = match self.dialect {
            Dialect::Sqlite => ("MIN", "MAX"),
            Dialect::Postgres => ("LEAST", "GREATEST"),
        };
        // $1 capacity, $2 refill per ms, $3 now, $4 day, $5 quota, $6 key.
        let refilled = format!(
            "{least}(CAST($1 AS DOUBLE PRECISION), bucket_tokens + {greatest}(0, $3 - bucket_at) * CAST($2 AS DOUBLE PRECISION))"
        );
        let statement = format!(
            "UPDATE proxy_keys SET bucket_tokens = {refilled} - 1, bucket_at = {greatest}(bucket_at, $3), \
             quota_used = CASE WHEN quota_day = $4 THEN quota_used + 1 ELSE 1 END, quota_day = $4 \
             WHERE id = $6 AND {refilled} >= 1 \
             AND (CASE WHEN quota_day = $4 THEN quota_used ELSE 0 END) < $5 \
             RETURNING bucket_tokens, quota_used"
        );
        let quota = request.daily_quota.map_or(i64::MAX, i64::from);
        let taken = sqlx::query(sqlx::AssertSqlSafe(statement))
            .bind(request.capacity)
            .bind(request.refill_per_ms)
            .bind(request.now_ms)
            .bind(request.day)
            .bind(quota)
            .bind(key.0)
            .fetch_optional(&self.writer)
            .await?;
        if let Some(row) = taken {
            return Ok(TokenOutcome::Taken {
                tokens_left: row.try_get("bucket_tokens")?,
                quota_used: row.try_get("quota_used")?,
            });
        }
        let row = sqlx::query(
            "SELECT bucket_tokens, bucket_at, quota_day, quota_used FROM proxy_keys WHERE id = $1",
        )
        .bind(key.0)
        .fetch_optional(&self.writer)
        .await?;
        match row {
            None => Ok(TokenOutcome::NoSuchKey),
            Some(row) => Ok(TokenOutcome::Refused(BucketState {
                tokens: row.try_get("bucket_tokens")?,
                at_ms: row.try_get("bucket_at")?,
                quota_day: row.try_get("quota_day")?,
                quota_used: row.try_get("quota_used")?,
            })),
        }
    }

    /// A key's bucket as stored, for a process that keeps buckets in memory (SQLite: one
    /// process owns the database) and starts from where the last one left off.
    pub async fn proxy_bucket(&self, key: ProxyKeyId) -> StoreResult<Option<BucketState>> {
        let row = sqlx::query(
            "SELECT bucket_tokens, bucket_at, quota_day, quota_used FROM proxy_keys WHERE id = $1",
        )
        .bind(key.0)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(BucketState {
                tokens: row.try_get("bucket_tokens")?,
                at_ms: row.try_get("bucket_at")?,
                quota_day: row.try_get("quota_day")?,
                quota_used: row.try_get("quota_used")?,
            })
        })
        .transpose()
    }

    /// Writes buckets kept in memory back, in one transaction.
    pub async fn save_proxy_buckets(
        &self,
        buckets: &[(ProxyKeyId, BucketState)],
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        for (key, state) in buckets {
            sqlx::query(
                "UPDATE proxy_keys SET bucket_tokens = $1, bucket_at = $2, quota_day = $3, quota_used = $4 \
                 WHERE id = $5",
            )
            .bind(state.tokens)
            .bind(state.at_ms)
            .bind(state.quota_day)
            .bind(state.quota_used)
            .bind(key.0)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Appends call records in one transaction.
    pub async fn record_proxy_calls(&self, calls: &[ProxyCall]) -> StoreResult<()> {
        // A few rows per statement: SQLite's driver finds each `$n` by scanning the statement's
        // parameter names, so its cost grows with the square of the parameters in a statement.
        const ROWS: usize = 16;
        let mut tx = self.writer.begin().await?;
        for chunk in calls.chunks(ROWS) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|row| {
                    let first = row * 9 + 1;
                    let params: Vec<String> = (first..first + 9).map(|n| format!("${n}")).collect();
                    format!("({})", params.join(", "))
                })
                .collect();
            // `$n` placeholders written out: the Any driver's query builder writes `?`, which
            // PostgreSQL does not take.
            let statement = format!(
                "INSERT INTO proxy_calls ({CALL_COLUMNS}) VALUES {}",
                rows.join(", ")
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(statement));
            for call in chunk {
                query = query
                    .bind(call.proxy_id.0)
                    .bind(call.key_id.map(|k| k.0))
                    .bind(call.at_ms)
                    .bind(call.method.clone())
                    .bind(call.operation.clone())
                    .bind(i64::from(call.status))
                    .bind(call.latency_us)
                    .bind(call.request_bytes)
                    .bind(call.response_bytes);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Calls of a proxy in `[from, to)`, grouped by time bucket and `query.group` (sums are cast
    /// back to BIGINT: PostgreSQL sums BIGINTs as NUMERIC, which the Any driver cannot read).
    pub async fn proxy_usage(
        &self,
        proxy: ProxyId,
        query: &UsageQuery,
    ) -> StoreResult<Vec<UsageRow>> {
        let group = query.group.column();
        let bucket_ms = query.bucket_ms.max(1);
        let statement = format!(
            "SELECT (at / {bucket_ms}) * {bucket_ms} AS bucket_start, {group} AS grouped, COUNT(*) AS calls, \
             CAST(SUM(latency_us) AS BIGINT) AS latency_total, MAX(latency_us) AS latency_max, \
             CAST(SUM(request_bytes) AS BIGINT) AS request_bytes, \
             CAST(SUM(response_bytes) AS BIGINT) AS response_bytes \
             FROM proxy_calls WHERE proxy_id = $1 AND at >= $2 AND at < $3 \
             GROUP BY bucket_start, grouped ORDER BY bucket_start, grouped"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(statement))
            .bind(proxy.0)
            .bind(query.from_ms)
            .bind(query.to_ms)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(UsageRow {
                    bucket_start_ms: row.try_get("bucket_start")?,
                    group: row.try_get("grouped")?,
                    calls: row.try_get("calls")?,
                    latency_us_total: row.try_get("latency_total")?,
                    latency_us_max: row.try_get("latency_max")?,
                    request_bytes: row.try_get("request_bytes")?,
                    response_bytes: row.try_get("response_bytes")?,
                })
            })
            .collect()
    }

    /// The recorded calls of a proxy in `[from, to)`, oldest first, at most `limit`.
    pub async fn list_proxy_calls(
        &self,
        proxy: ProxyId,
        from_ms: i64,
        to_ms: i64,
        limit: i64,
    ) -> StoreResult<Vec<ProxyCall>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CALL_COLUMNS} FROM proxy_calls WHERE proxy_id = $1 AND at >= $2 AND at < $3 \
             ORDER BY at, id LIMIT $4"
        )))
        .bind(proxy.0)
        .bind(from_ms)
        .bind(to_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(call_from_row).collect()
    }

    /// Keeps call records bounded: drops those older than `before_ms`, then the oldest of any
    /// proxy holding more than `keep_per_proxy`. Answers how many went.
    pub async fn purge_proxy_calls(&self, before_ms: i64, keep_per_proxy: i64) -> StoreResult<u64> {
        let aged = sqlx::query("DELETE FROM proxy_calls WHERE at < $1")
            .bind(before_ms)
            .execute(&self.writer)
            .await?
            .rows_affected();
        let crowded =
            sqlx::query("SELECT proxy_id FROM proxy_calls GROUP BY proxy_id HAVING COUNT(*) > $1")
                .bind(keep_per_proxy)
                .fetch_all(&self.pool)
                .await?;
        let mut trimmed = 0;
        for row in crowded {
            let proxy: i64 = row.try_get("proxy_id")?;
            trimmed += sqlx::query(
                "DELETE FROM proxy_calls WHERE proxy_id = $1 AND id <= (SELECT id FROM proxy_calls \
                 WHERE proxy_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)",
            )
            .bind(proxy)
            .bind(keep_per_proxy)
            .execute(&self.writer)
            .await?
            .rows_affected();
        }
        Ok(aged + trimmed)
    }
}
