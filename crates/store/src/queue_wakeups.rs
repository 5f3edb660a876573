//! Wake-ups of the execution queue across processes on PostgreSQL: a process that queues work
//! sends `NOTIFY`, and every process listening claims at once instead of at its next poll.
//! Polling stays as the fallback (a lost connection, SQLite).

use crate::{Dialect, Store, StoreResult};
use sqlx::postgres::PgListener;

/// A PostgreSQL connection listening for queue wake-ups.
pub struct QueueListener {
    listener: PgListener,
}

impl QueueListener {
    /// Waits for the next wake-up. An error means the connection is gone; the listener
    /// reconnects on the next call.
    pub async fn next(&mut self) -> StoreResult<()> {
        self.listener.recv().await?;
        Ok(())
    }
}

impl Store {
    /// One channel per schema, so that stores in other schemas of the database are not woken.
    fn queue_channel(&self) -> String {
        format!("ferry_queue_{}", self.schema.as_deref().unwrap_or("public"))
    }

    /// Tells every listening process that there is work (PostgreSQL; a no-op on SQLite, whose one
    /// process is woken in memory).
    pub async fn notify_queue(&self) -> StoreResult<()> {
        if self.dialect != Dialect::Postgres {
            return Ok(());
        }
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(self.queue_channel())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A listener for queue wake-ups, on PostgreSQL.
    pub async fn queue_listener(&self) -> StoreResult<Option<QueueListener>> {
        let Some(url) = self.postgres_url.as_deref() else {
            return Ok(None);
        };
        let mut listener = PgListener::connect(url).await?;
        listener.listen(&self.queue_channel()).await?;
        Ok(Some(QueueListener { listener }))
    }
}
