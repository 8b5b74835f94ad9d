//! The cluster's store: PostgreSQL, shared by every node. The tables are the embedded SQLite store's
//! (times in milliseconds since the epoch), so the two adapters read alike; what differs is the
//! engine's dialect and that here many writers run at once (a webhook delivery is claimed with
//! `FOR UPDATE SKIP LOCKED` before a node delivers it).

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Connection;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};

use super::{ExclusiveUse, Store, StoreError};

mod facts;
mod meetings;
mod webhooks;

static MIGRATOR: Migrator = sqlx::migrate!("src/store/migrations/postgres");

/// Connections per node: requests, the fact recorder and the webhook worker share them.
const POOL_SIZE: u32 = 16;

pub struct PostgresStore {
    pub(super) pool: PgPool,
    /// When this node last renewed the outbox's statistics, and how many facts it recorded since
    /// (`facts.rs`, `renew_outbox_statistics`).
    outbox_statistics: std::sync::Mutex<facts::Renewal>,
    /// The connection that holds the store for a server alone on it (its advisory lock lives as
    /// long as the connection).
    exclusive: tokio::sync::Mutex<Option<sqlx::pool::PoolConnection<sqlx::Postgres>>>,
}

/// How long a starting server tries to reach PostgreSQL before it gives up (one started at the
/// same time may still be starting).
const CONNECT_WAIT: Duration = Duration::from_secs(10);

/// The advisory lock a server alone on the store holds ("anteroom" in ASCII).
const EXCLUSIVE_LOCK: i64 = 0x616e_7465_726f_6f6d;
/// How long a starting server waits for the lock before it gives up. A server that crashed a moment
/// ago (and is being restarted) still holds it until PostgreSQL has ended its session, which takes
/// a moment after its connection closed.
const EXCLUSIVE_WAIT: Duration = Duration::from_secs(5);
const EXCLUSIVE_RETRY: Duration = Duration::from_millis(100);

impl PostgresStore {
    /// Connects to the database a `postgres://` URL names and brings its schema up to date (nodes
    /// starting together take turns: sqlx's migrations hold an advisory lock).
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        // PostgreSQL's notices ("relation _sqlx_migrations already exists, skipping" at every
        // start) are not news to an operator; its warnings are.
        let options =
            PgConnectOptions::from_str(url)?.options([("client_min_messages", "warning")]);
        let pool_options = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(CONNECT_WAIT);
        let pool = match pool_options.clone().connect_with(options.clone()).await {
            // The pool went on trying (a PostgreSQL still starting) and says only that it timed
            // out: one more connection of its own says why (refused, unreachable, ...).
            Err(sqlx::Error::PoolTimedOut) => match PgConnection::connect_with(&options).await {
                Err(why) => return Err(StoreError::Unreachable(CONNECT_WAIT, why)),
                Ok(up_just_now) => {
                    drop(up_just_now);
                    pool_options.connect_with(options).await?
                }
            },
            pool => pool?,
        };
        MIGRATOR
            .run(&pool)
            .await
            .map_err(crate::store::migration_failed)?;
        Ok(PostgresStore {
            pool,
            outbox_statistics: std::sync::Mutex::default(),
            exclusive: tokio::sync::Mutex::new(None),
        })
    }
}

#[async_trait]
impl ExclusiveUse for PostgresStore {
    async fn hold_exclusively(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        let give_up = tokio::time::Instant::now() + EXCLUSIVE_WAIT;
        let mut said = false;
        loop {
            let held: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                .bind(EXCLUSIVE_LOCK)
                .fetch_one(&mut *conn)
                .await?;
            if held {
                break;
            }
            if tokio::time::Instant::now() >= give_up {
                return Err(StoreError::InUse(
                    "the PostgreSQL database's advisory lock; several servers share one store only \
                     as a cluster (--redis-url)"
                        .into(),
                ));
            }
            if !std::mem::replace(&mut said, true) {
                tracing::info!(at_most = ?EXCLUSIVE_WAIT,
                    "another server holds the store; waiting for it (one that stopped a moment ago \
                     holds it until PostgreSQL has ended its session)");
            }
            tokio::time::sleep(EXCLUSIVE_RETRY).await;
        }
        // Kept out of the pool for good: the lock is the connection's.
        *self.exclusive.lock().await = Some(conn);
        Ok(())
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn close(&self) {
        drop(self.exclusive.lock().await.take());
        self.pool.close().await;
    }
}
