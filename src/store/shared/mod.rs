//! Store code written once for both engines. Where SQLite and PostgreSQL read the same SQL (with
//! `$N` placeholders, which both take), a port is implemented here for any `SqlEngine`; each
//! engine's module keeps only what differs (batched creates, the outbox claim, facts).

mod columns;
mod facts;
mod history;
mod insights;
mod insights_sql;
mod interrupted;
mod meetings;
mod snapshots;
mod themes;
mod webhooks;

pub(crate) use facts::{EngineFacts, derive_insights};
pub(crate) use meetings::{EngineMeetings, meeting_columns};
pub(crate) use webhooks::{Done, EngineWebhooks, claimable, dues_from_rows};

use sqlx::{Database, Pool};

/// An engine's pools: SQLite reads and writes through different ones (one writer), PostgreSQL
/// through the same.
pub(crate) trait SqlEngine: Send + Sync {
    type Db: Database;
    fn reads(&self) -> &Pool<Self::Db>;
    fn writes(&self) -> &Pool<Self::Db>;
    /// How many rows a statement changed (sqlx names this per engine, not in a trait).
    fn rows_affected(done: &<Self::Db as Database>::QueryResult) -> u64;
}

impl SqlEngine for super::SqliteStore {
    type Db = sqlx::Sqlite;
    fn reads(&self) -> &Pool<sqlx::Sqlite> {
        &self.readers
    }
    fn writes(&self) -> &Pool<sqlx::Sqlite> {
        &self.writer
    }
    fn rows_affected(done: &sqlx::sqlite::SqliteQueryResult) -> u64 {
        done.rows_affected()
    }
}

impl SqlEngine for super::PostgresStore {
    type Db = sqlx::Postgres;
    fn reads(&self) -> &Pool<sqlx::Postgres> {
        &self.pool
    }
    fn writes(&self) -> &Pool<sqlx::Postgres> {
        &self.pool
    }
    fn rows_affected(done: &sqlx::postgres::PgQueryResult) -> u64 {
        done.rows_affected()
    }
}
