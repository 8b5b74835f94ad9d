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

/// The WAL's frames (pages of 4 KiB: 16 MiB) beyond which a checkpoint waits for a moment without
/// readers and writers, and empties the WAL.
const WAL_FRAMES_MOST: i64 = 4096;

/// How long the emptying of the WAL waits for readers and writers to pause (holding new writers
/// back meanwhile) before it gives up until the next checkpoint: a long read (a backup, a large
/// insights query) must not hold writes up for long.
const WAL_EMPTYING_WAIT: Duration = Duration::from_millis(200);

/// PASSIVE never blocks writers or readers; it copies what it can. The WAL starts again from the
/// top only when a write begins after a checkpoint caught up and no reader is in a transaction at
/// that moment: under steady reads and writes that moment did not come, and the WAL grew without
/// end, 1 GB in 40 s of rooms coming and going, every frame of it copied (docs/performance.md,
/// "Soak"). Past `WAL_FRAMES_MOST`, a TRUNCATE checkpoint waits for readers and writers to pause,
/// copies what is left, and empties the file.
async fn checkpoint_periodically(pool: SqlitePool, failure: CheckpointFailure) {
    let mut ticker = tokio::time::interval(CHECKPOINT_EVERY);
    let mut was_held = false;
    loop {
        ticker.tick().await;
        let outcome = checkpoint(&pool, WAL_FRAMES_MOST).await;
        match &outcome {
            Err(err) => tracing::warn!(error = %err, "WAL checkpoint failed; will retry"),
            // Said once, not at every second of a backup.
            Ok(Checkpoint::Held(frames)) if !was_held => tracing::warn!(
                frames,
                "the WAL cannot be emptied while a reader holds an old snapshot; trying every second"
            ),
            Ok(_) => {}
        }
        was_held = matches!(outcome, Ok(Checkpoint::Held(_)));
        *failure.lock().unwrap_or_else(|p| p.into_inner()) = outcome.err().map(|e| e.to_string());
    }
}

/// What a checkpoint did besides copying what it could.
#[derive(Debug, PartialEq, Eq)]
enum Checkpoint {
    /// The WAL is within its bound: left as it is.
    Kept,
    Emptied,
    /// Past its bound, but a reader kept an old snapshot longer than `WAL_EMPTYING_WAIT`: so many
    /// frames stay.
    Held(i64),
}

/// A checkpoint, which empties the WAL when it holds more than `frames_most` frames.
async fn checkpoint(pool: &SqlitePool, frames_most: i64) -> Result<Checkpoint, sqlx::Error> {
    // (busy, frames in the WAL, frames copied into the database)
    let (_, frames, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(pool)
        .await?;
    if frames <= frames_most {
        return Ok(Checkpoint::Kept);
    }
    let started = std::time::Instant::now();
    let (busy, ..): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
        .fetch_one(pool)
        .await?;
    if busy != 0 {
        return Ok(Checkpoint::Held(frames));
    }
    tracing::debug!(frames, took = ?started.elapsed(), "WAL emptied");
    Ok(Checkpoint::Emptied)
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
            .connect_with(options.clone().busy_timeout(WAL_EMPTYING_WAIT))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Past its bound, the WAL is emptied, file and all: a PASSIVE checkpoint alone copies its
    /// frames but leaves them (and the file's size) for a restart that steady traffic never allows.
    #[tokio::test]
    async fn a_wal_past_its_bound_is_emptied() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("wal.sqlite3");
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .pragma("wal_autocheckpoint", "0");
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .expect("a database");
        sqlx::query("CREATE TABLE t (v TEXT)")
            .execute(&pool)
            .await
            .expect("a table");
        for n in 0..50 {
            sqlx::query("INSERT INTO t VALUES (?)")
                .bind(format!("{n:0>500}"))
                .execute(&pool)
                .await
                .expect("a row");
        }
        let wal = path.with_extension("sqlite3-wal");
        let size = || std::fs::metadata(&wal).map_or(0, |m| m.len());
        assert!(size() > 0, "commits are in the WAL");
        let kept = checkpoint(&pool, 1000).await.expect("a checkpoint");
        assert_eq!(kept, Checkpoint::Kept);
        assert!(size() > 0, "within its bound, the WAL stays");
        let emptied = checkpoint(&pool, 10).await.expect("a checkpoint");
        assert_eq!(emptied, Checkpoint::Emptied);
        assert_eq!(size(), 0, "past it, emptied");
        let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM t")
            .fetch_one(&pool)
            .await
            .expect("a count");
        assert_eq!(rows, 50, "and nothing lost");
        // A reader in the middle of a transaction holds its snapshot: the WAL waits for it.
        let mut reader = pool.begin().await.expect("a read transaction");
        let _: i64 = sqlx::query_scalar("SELECT count(*) FROM t")
            .fetch_one(&mut *reader)
            .await
            .expect("a count");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                SqliteConnectOptions::new()
                    .filename(&path)
                    .busy_timeout(Duration::from_millis(100)),
            )
            .await
            .expect("a second connection");
        for n in 0..20 {
            sqlx::query("INSERT INTO t VALUES (?)")
                .bind(n.to_string())
                .execute(&writer)
                .await
                .expect("a row");
        }
        let held = checkpoint(&writer, 10).await.expect("a checkpoint");
        assert!(
            matches!(held, Checkpoint::Held(frames) if frames > 10),
            "{held:?}"
        );
        reader.commit().await.expect("the read ends");
        let emptied = checkpoint(&writer, 10).await.expect("a checkpoint");
        assert_eq!(emptied, Checkpoint::Emptied);
        assert_eq!(size(), 0, "emptied once the reader is done");
    }
}
