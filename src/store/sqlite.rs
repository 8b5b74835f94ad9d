//! The embedded store: one SQLite file in WAL mode. One writer connection (SQLite allows one writer at a
//! time anyway, so a pool of writers would only queue on the file lock) and a small pool of readers.
//! `synchronous=NORMAL`: a commit survives `kill -9` of the process (the WAL is in the OS), not a power cut.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, migrate::Migrator};

use tokio::sync::{mpsc, oneshot};

use super::sqlite_batch::{self, PendingCreate};
use super::{ApiKeyInfo, MeetingQuery, Store, StoreError};
use crate::meeting::{Meeting, MeetingId, NewMeeting, RoomMode, RoomName};
use crate::room::facts::RoomFact;

static MIGRATOR: Migrator = sqlx::migrate!("src/store/migrations/sqlite");

pub const DATABASE_FILE: &str = "anteroom.sqlite3";

pub struct SqliteStore {
    writer: SqlitePool,
    readers: SqlitePool,
    /// Taken (dropped) by `close`, which ends the batch writer once it has drained.
    creates: std::sync::Mutex<Option<mpsc::Sender<PendingCreate>>>,
    batch_writer: tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    checkpoints: tokio::task::JoinHandle<()>,
}

const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// PASSIVE never blocks writers or readers; it copies what it can and the WAL restarts from the top
/// once a checkpoint has caught up.
async fn checkpoint_periodically(pool: SqlitePool) {
    let mut ticker = tokio::time::interval(CHECKPOINT_EVERY);
    loop {
        ticker.tick().await;
        if let Err(err) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            tracing::warn!(error = %err, "WAL checkpoint failed; will retry");
        }
    }
}

impl SqliteStore {
    /// Opens (creating when absent) the database in `data_dir` and brings its schema up to date.
    pub async fn open(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir {
            path: data_dir.to_path_buf(),
            source,
        })?;
        let path = data_dir.join(DATABASE_FILE);
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        // Checkpoints (copying the WAL into the database, with an fsync) run from a task of their own,
        // not inside whichever commit crosses the threshold, so no create waits for one.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone().pragma("wal_autocheckpoint", "0"))
            .await?;
        MIGRATOR.run(&writer).await?;
        let checkpointer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await?;
        let (creates, pending) = sqlite_batch::channel();
        let batch_writer = tokio::spawn(sqlite_batch::run(writer.clone(), pending));
        let checkpoints = tokio::spawn(checkpoint_periodically(checkpointer));
        Ok(SqliteStore {
            writer,
            readers,
            creates: std::sync::Mutex::new(Some(creates)),
            batch_writer: tokio::sync::Mutex::new(Some(batch_writer)),
            checkpoints,
        })
    }
}

fn millis(date: DateTime<Utc>) -> i64 {
    date.timestamp_millis()
}

fn from_millis(ms: i64) -> Result<DateTime<Utc>, StoreError> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {ms} out of range")))
}

/// The columns `meeting_from_row` reads, as a literal so queries can be built with `concat!`
/// (sqlx takes only static SQL, which keeps injection out by construction).
macro_rules! meeting_columns {
    () => {
        "id, room_name, start_ms, end_ms, room_mode, is_locked, viewer_mode"
    };
}

fn meeting_from_row(row: &SqliteRow) -> Result<Meeting, StoreError> {
    let room_name: String = row.try_get("room_name")?;
    let room_mode: String = row.try_get("room_mode")?;
    Ok(Meeting {
        id: MeetingId(row.try_get("id")?),
        room_name: RoomName::parse(&room_name).map_err(StoreError::Corrupt)?,
        start_date: from_millis(row.try_get("start_ms")?)?,
        end_date: from_millis(row.try_get("end_ms")?)?,
        room_mode: RoomMode::parse(&room_mode)
            .ok_or_else(|| StoreError::Corrupt(format!("room mode {room_mode:?}")))?,
        is_locked: row.try_get("is_locked")?,
        viewer_mode: row.try_get("viewer_mode")?,
    })
}

fn api_key_from_row(row: &SqliteRow) -> Result<ApiKeyInfo, StoreError> {
    Ok(ApiKeyInfo {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        prefix: row.try_get("prefix")?,
        created_at: from_millis(row.try_get("created_ms")?)?,
        revoked_at: row
            .try_get::<Option<i64>, _>("revoked_ms")?
            .map(from_millis)
            .transpose()?,
    })
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_meeting(&self, new: NewMeeting) -> Result<Meeting, StoreError> {
        let sender = self
            .creates
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
            .ok_or(StoreError::Closed)?;
        let (reply, answer) = oneshot::channel();
        sender
            .send(PendingCreate {
                meeting: new,
                reply,
            })
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    async fn get_meeting(&self, id: MeetingId) -> Result<Option<Meeting>, StoreError> {
        sqlx::query(concat!(
            "SELECT ",
            meeting_columns!(),
            " FROM meetings WHERE id = ? AND deleted_ms IS NULL"
        ))
        .bind(id.0)
        .fetch_optional(&self.readers)
        .await?
        .as_ref()
        .map(meeting_from_row)
        .transpose()
    }

    async fn get_meeting_by_room(&self, room: &RoomName) -> Result<Option<Meeting>, StoreError> {
        sqlx::query(concat!(
            "SELECT ",
            meeting_columns!(),
            " FROM meetings WHERE room_name = ? AND deleted_ms IS NULL"
        ))
        .bind(room.as_str())
        .fetch_optional(&self.readers)
        .await?
        .as_ref()
        .map(meeting_from_row)
        .transpose()
    }

    async fn list_meetings(&self, query: &MeetingQuery) -> Result<Vec<Meeting>, StoreError> {
        // substr/instr rather than LIKE: no wildcard escaping to get wrong.
        let sql = concat!(
            "SELECT ",
            meeting_columns!(),
            " FROM meetings
             WHERE deleted_ms IS NULL AND id > ?1
               AND (?2 IS NULL OR substr(room_name, 1, length(?2)) = ?2)
               AND (?3 IS NULL OR room_name = ?3)
               AND (?4 IS NULL OR instr(room_name, ?4) > 0)
             ORDER BY id LIMIT ?5"
        );
        let filter = &query.room_name;
        let rows = sqlx::query(sql)
            .bind(query.after.map_or(0, |id| id.0))
            .bind(filter.starts_with.as_deref())
            .bind(filter.exact.as_deref())
            .bind(filter.contains.as_deref())
            .bind(i64::from(query.limit))
            .fetch_all(&self.readers)
            .await?;
        rows.iter().map(meeting_from_row).collect()
    }

    async fn delete_meeting(
        &self,
        id: MeetingId,
        now: DateTime<Utc>,
    ) -> Result<Option<Meeting>, StoreError> {
        sqlx::query(concat!(
            "UPDATE meetings SET deleted_ms = ? WHERE id = ? AND deleted_ms IS NULL RETURNING ",
            meeting_columns!()
        ))
        .bind(millis(now))
        .bind(id.0)
        .fetch_optional(&self.writer)
        .await?
        .as_ref()
        .map(meeting_from_row)
        .transpose()
    }

    async fn remove_meetings_ended_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM meetings WHERE end_ms < ?")
            .bind(millis(cutoff))
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
    }

    async fn create_api_key(
        &self,
        name: &str,
        key_hash: &str,
        prefix: &str,
        now: DateTime<Utc>,
    ) -> Result<ApiKeyInfo, StoreError> {
        let row = sqlx::query(
            "INSERT INTO api_keys (name, key_hash, prefix, created_ms) VALUES (?, ?, ?, ?)
             RETURNING id, name, prefix, created_ms, revoked_ms",
        )
        .bind(name)
        .bind(key_hash)
        .bind(prefix)
        .bind(millis(now))
        .fetch_one(&self.writer)
        .await?;
        api_key_from_row(&row)
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKeyInfo>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, prefix, created_ms, revoked_ms FROM api_keys ORDER BY id",
        )
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(api_key_from_row).collect()
    }

    async fn revoke_api_key(&self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE api_keys SET revoked_ms = coalesce(revoked_ms, ?) WHERE id = ?")
                .bind(millis(now))
                .bind(id)
                .execute(&self.writer)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn find_active_api_key(&self, key_hash: &str) -> Result<Option<ApiKeyInfo>, StoreError> {
        sqlx::query(
            "SELECT id, name, prefix, created_ms, revoked_ms FROM api_keys
             WHERE key_hash = ? AND revoked_ms IS NULL",
        )
        .bind(key_hash)
        .fetch_optional(&self.readers)
        .await?
        .as_ref()
        .map(api_key_from_row)
        .transpose()
    }

    async fn secret_or_insert(&self, name: &str, generate: Vec<u8>) -> Result<Vec<u8>, StoreError> {
        sqlx::query(
            "INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(generate)
        .execute(&self.writer)
        .await?;
        let value = sqlx::query_scalar("SELECT value FROM secrets WHERE name = ?")
            .bind(name)
            .fetch_one(&self.writer)
            .await?;
        Ok(value)
    }

    async fn record_facts(&self, facts: &[RoomFact]) -> Result<(), StoreError> {
        if facts.is_empty() {
            return Ok(());
        }
        // 12 values a row; 2,000 rows stay well under SQLite's 32,766-variable limit.
        let mut tx = self.writer.begin().await?;
        for chunk in facts.chunks(2000) {
            let mut insert: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO room_events (meeting_id, room_name, kind, at_ms, client_id, role, \
                 display_name, external_id, metadata, message, num_clients, clients_by_role) ",
            );
            insert.push_values(chunk, |mut row, fact| {
                let client = fact.client.as_ref();
                let by_role: serde_json::Map<String, serde_json::Value> = fact
                    .counts
                    .by_role
                    .iter()
                    .map(|(role, n)| (role.as_str().to_owned(), (*n).into()))
                    .collect();
                row.push_bind(fact.meeting_id.0)
                    .push_bind(fact.room_name.as_str().to_owned())
                    .push_bind(fact.kind.event_type())
                    .push_bind(millis(fact.at))
                    .push_bind(client.map(|c| c.client_id.as_str().to_owned()))
                    .push_bind(client.and_then(|c| c.role).map(|r| r.as_str()))
                    .push_bind(client.map(|c| c.display_name.clone()))
                    .push_bind(client.and_then(|c| c.external_id.clone()))
                    .push_bind(client.and_then(|c| c.metadata.clone()))
                    .push_bind(fact.message.clone())
                    .push_bind(i64::from(fact.counts.total))
                    .push_bind(serde_json::Value::Object(by_role).to_string());
            });
            insert.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

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
