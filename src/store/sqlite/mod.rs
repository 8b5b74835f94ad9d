//! The embedded store: one SQLite file in WAL mode. One writer connection (SQLite allows one writer at a
//! time anyway, so a pool of writers would only queue on the file lock) and a small pool of readers.
//! `synchronous=NORMAL`: a commit survives `kill -9` of the process (the WAL is in the OS), not a power cut.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::mpsc;

use super::{ExclusiveUse, Store, StoreError};
use batch::PendingCreate;

mod batch;
mod facts;
mod meetings;
mod webhooks;

static MIGRATOR: Migrator = sqlx::migrate!("src/store/migrations/sqlite");

pub const DATABASE_FILE: &str = "anteroom.sqlite3";

pub struct SqliteStore {
    pub(super) writer: SqlitePool,
    pub(super) readers: SqlitePool,
    /// Taken (dropped) by `close`, which ends the batch writer once it has drained.
    creates: std::sync::Mutex<Option<mpsc::Sender<PendingCreate>>>,
    batch_writer: tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    checkpoints: tokio::task::JoinHandle<()>,
    /// Why the last checkpoint failed, if it did: SQLite goes on taking commits into its WAL for a
    /// while on a full disk, but a checkpoint that cannot grow the database file says the truth.
    checkpoint_failure: CheckpointFailure,
}

type CheckpointFailure = std::sync::Arc<std::sync::Mutex<Option<String>>>;

const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// PASSIVE never blocks writers or readers; it copies what it can and the WAL restarts from the top
/// once a checkpoint has caught up.
async fn checkpoint_periodically(pool: SqlitePool, failure: CheckpointFailure) {
    let mut ticker = tokio::time::interval(CHECKPOINT_EVERY);
    loop {
        ticker.tick().await;
        let outcome = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await;
        let failed = outcome.as_ref().err().map(ToString::to_string);
        if let Some(why) = &failed {
            tracing::warn!(error = %why, "WAL checkpoint failed; will retry");
        }
        *failure.lock().unwrap_or_else(|p| p.into_inner()) = failed;
    }
}

impl SqliteStore {
    /// Opens (creating when absent) the database in `data_dir` and brings its schema up to date.
    pub async fn open(data_dir: &Path) -> Result<Self, StoreError> {
        SqliteStore::open_file(&data_dir.join(DATABASE_FILE)).await
    }

    /// Opens (creating when absent, with its directory) the database file at `path`.
    pub async fn open_file(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        // Checkpoints (copying the WAL into the database, with an fsync) run from a task of their own,
        // not inside whichever commit crosses the threshold, so no create waits for one.
        // A write waits at most this long for the one writer connection (then the store counts as
        // unavailable: 503), rather than sqlx's 30 s behind others' writes, each waiting its 10 s
        // for a lock another program holds.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone().pragma("wal_autocheckpoint", "0"))
            .await?;
        MIGRATOR
            .run(&writer)
            .await
            .map_err(crate::store::migration_failed)?;
        let checkpointer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await?;
        let (creates, pending) = batch::channel();
        let batch_writer = tokio::spawn(batch::run(writer.clone(), pending));
        let checkpoint_failure = CheckpointFailure::default();
        let checkpoints = tokio::spawn(checkpoint_periodically(
            checkpointer,
            checkpoint_failure.clone(),
        ));
        Ok(SqliteStore {
            writer,
            readers,
            creates: std::sync::Mutex::new(Some(creates)),
            batch_writer: tokio::sync::Mutex::new(Some(batch_writer)),
            checkpoints,
            checkpoint_failure,
        })
    }
}

/// `VACUUM INTO` writes the database as one transaction sees it, without blocking the server's
/// writer (WAL mode), and compacted; the copy has no WAL of its own to go with it.
pub async fn back_up(from: &Path, to: &Path) -> Result<(), StoreError> {
    if !from.is_file() {
        return Err(StoreError::NothingToBackUp(from.to_path_buf()));
    }
    // SQLite refuses a target that exists with data; an empty file it would fill: neither is ours.
    if to.exists() {
        return Err(StoreError::BackupExists(to.to_path_buf()));
    }
    let target = to
        .to_str()
        .ok_or_else(|| StoreError::WriteFailed(format!("{} is not a UTF-8 path", to.display())))?;
    let options = SqliteConnectOptions::from_str("sqlite:")?
        .filename(from)
        .read_only(true)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    let copied = sqlx::query("VACUUM INTO ?")
        .bind(target)
        .execute(&pool)
        .await;
    pool.close().await;
    copied?;
    Ok(())
}

/// One server per SQLite file is kept by the lock file beside it (`store::lock_for_serving`),
/// taken before the file is opened.
#[async_trait]
impl ExclusiveUse for SqliteStore {
    async fn hold_exclusively(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn close(&self) {
        // Dropping the last sender lets the batch writer finish what is queued, then stop.
        drop(
            self.creates
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .take(),
        );
        if let Some(writer) = self.batch_writer.lock().await.take()
            && let Err(err) = writer.await
        {
            tracing::error!(error = %err, "the meeting batch writer failed");
        }
        self.checkpoints.abort();
        self.readers.close().await;
        // The last connection to close checkpoints the WAL into the database file.
        self.writer.close().await;
    }
}
