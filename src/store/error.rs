//! What can go wrong with the store, and which of it is for now: a store locked by another
//! program, read-only, full or away answers again later (a request that met it may be tried
//! again: 503), where a corrupt row or a bug does not.

use crate::meeting::RoomName;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("a meeting with room name {0} already exists")]
    RoomNameTaken(RoomName),
    #[error("cannot open the data directory {path}: {source}")]
    DataDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error(
        "this database was last used by a newer anteroom: it has schema change {0}, which this \
         build does not know. Run that build or a later one, or restore the backup taken before \
         it first ran (`anteroom backup`)"
    )]
    NewerSchema(i64),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("cannot reach the database, tried for {0:?}: {1}")]
    Unreachable(std::time::Duration, sqlx::Error),
    #[error("database write failed: {0}")]
    WriteFailed(String),
    /// A write that failed because the store takes none for now (another program's lock, a disk
    /// full, a database read-only or away); `is_unavailable`.
    #[error("the store takes no writes for now: {0}")]
    Unavailable(String),
    #[error("the store is closed")]
    Closed,
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error(
        "no store speaks {0:?}; use sqlite://<path of the database file> or postgres://user:password@host/database"
    )]
    UnsupportedUrl(String),
    #[error(
        "another anteroom server is already using this store (it holds {0}); stop it first, or give \
         this one a --data-dir of its own"
    )]
    InUse(String),
    #[error("{0} exists already: a backup is written to a new file, never over one")]
    BackupExists(std::path::PathBuf),
    #[error("no database at {0} to back up")]
    NothingToBackUp(std::path::PathBuf),
    #[error(
        "a PostgreSQL store is backed up with PostgreSQL's own tools (pg_dump, or the server's \
         continuous archiving); `anteroom backup` copies the embedded SQLite store"
    )]
    BackupElsewhere,
}

impl StoreError {
    /// Whether the store is unavailable for now rather than the request or the data at fault.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Unavailable(_) | StoreError::Unreachable(..) | StoreError::Closed => true,
            StoreError::Database(err) => unavailable(err),
            _ => false,
        }
    }

    /// A write's failure told to each of the callers whose writes it carried (a batch's), its
    /// kind kept.
    pub(crate) fn shared_write_failure(err: &sqlx::Error) -> StoreError {
        if unavailable(err) {
            StoreError::Unavailable(err.to_string())
        } else {
            StoreError::WriteFailed(err.to_string())
        }
    }
}

/// sqlx's errors that pass: no connection to be had, a connection lost, and the engines' own
/// codes for a lock, a read-only or full database, a server shutting down or out of resources.
fn unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
        sqlx::Error::Database(db) => {
            let Some(code) = db.code() else { return false };
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                // Extended result codes: the primary code is the low byte. BUSY, LOCKED, READONLY,
                // IOERR, FULL, CANTOPEN.
                code.parse::<i32>()
                    .is_ok_and(|code| matches!(code & 0xff, 5 | 6 | 8 | 10 | 13 | 14))
            } else {
                // SQLSTATE: connection exceptions, read-only transaction, serialization failure and
                // deadlock (tried again, they pass), insufficient resources, operator intervention.
                code.starts_with("08")
                    || matches!(code.as_ref(), "25006" | "40001" | "40P01")
                    || code.starts_with("53")
                    || code.starts_with("57P")
            }
        }
        _ => false,
    }
}
