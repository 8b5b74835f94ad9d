//! Meetings, API keys and server secrets, in either engine. Each engine creates meetings its own
//! way (SQLite in batches through its one writer) and filters a list by name with its own string
//! functions (`EngineMeetings`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Database, Encode, Executor, IntoArguments, Type};

use super::SqlEngine;
use super::columns::Columns;
use crate::meeting::{Meeting, MeetingId, NewMeeting, RecordingKind, RoomMode, RoomName};
use crate::store::{ApiKeyInfo, MeetingQuery, MeetingStore, StoreError, millis, stored_room};

/// The columns `meeting_from_row` reads, as a literal so queries can be built with `concat!`
/// (sqlx takes only static SQL, which keeps injection out by construction).
macro_rules! meeting_columns {
    () => {
        "id, room_name, start_ms, end_ms, room_mode, is_locked, viewer_mode, recording"
    };
}
pub(crate) use meeting_columns;

/// What an engine does its own way.
#[async_trait]
pub(crate) trait EngineMeetings {
    /// `SELECT meeting_columns!() FROM meetings` for a page of live meetings: `$1` the id to
    /// start after, `$2` a prefix, `$3` an exact name, `$4` a part of the name (each NULL for no
    /// filter), `$5` the page size; in id order.
    const LIST_SQL: &'static str;

    /// `MeetingStore::create_meeting`.
    async fn insert_meeting(&self, new: NewMeeting) -> Result<Meeting, StoreError>;
}

pub(crate) fn meeting_from_row(row: &impl Columns) -> Result<Meeting, StoreError> {
    let room_mode = row.text("room_mode")?;
    let recording = row.text("recording")?;
    Ok(Meeting {
        id: MeetingId(row.int("id")?),
        room_name: stored_room(&row.text("room_name")?)?,
        start_date: row.time("start_ms")?,
        end_date: row.time("end_ms")?,
        room_mode: RoomMode::parse(&room_mode)
            .ok_or_else(|| StoreError::Corrupt(format!("room mode {room_mode:?}")))?,
        is_locked: row.flag("is_locked")?,
        viewer_mode: row.flag("viewer_mode")?,
        recording: RecordingKind::parse(&recording)
            .ok_or_else(|| StoreError::Corrupt(format!("recording {recording:?}")))?,
    })
}

fn api_key_from_row(row: &impl Columns) -> Result<ApiKeyInfo, StoreError> {
    Ok(ApiKeyInfo {
        id: row.int("id")?,
        name: row.text("name")?,
        prefix: row.text("prefix")?,
        created_at: row.time("created_ms")?,
        revoked_at: row.maybe_time("revoked_ms")?,
    })
}

#[async_trait]
impl<S> MeetingStore for S
where
    S: SqlEngine + EngineMeetings,
    for<'c> &'c sqlx::Pool<S::Db>: Executor<'c, Database = S::Db>,
    for<'c> &'c mut <S::Db as Database>::Connection: Executor<'c, Database = S::Db>,
    <S::Db as Database>::Arguments: IntoArguments<S::Db>,
    for<'a> &'a str: Encode<'a, S::Db> + Type<S::Db>,
    for<'a> Option<&'a str>: Encode<'a, S::Db> + Type<S::Db>,
    for<'a> i64: Encode<'a, S::Db> + Type<S::Db>,
    for<'a> Vec<u8>: Encode<'a, S::Db> + Type<S::Db>,
    <S::Db as Database>::Row: Columns,
{
    async fn create_meeting(&self, new: NewMeeting) -> Result<Meeting, StoreError> {
        self.insert_meeting(new).await
    }

    async fn get_meeting(&self, id: MeetingId) -> Result<Option<Meeting>, StoreError> {
        sqlx::query(concat!(
            "SELECT ",
            meeting_columns!(),
            " FROM meetings WHERE id = $1 AND deleted_ms IS NULL"
        ))
        .bind(id.0)
        .fetch_optional(self.reads())
        .await?
        .as_ref()
        .map(meeting_from_row)
        .transpose()
    }

    async fn get_meeting_by_room(&self, room: &RoomName) -> Result<Option<Meeting>, StoreError> {
        sqlx::query(concat!(
            "SELECT ",
            meeting_columns!(),
            " FROM meetings WHERE room_name = $1 AND deleted_ms IS NULL"
        ))
        .bind(room.as_str())
        .fetch_optional(self.reads())
        .await?
        .as_ref()
        .map(meeting_from_row)
        .transpose()
    }

    async fn list_meetings(&self, query: &MeetingQuery) -> Result<Vec<Meeting>, StoreError> {
        let filter = &query.room_name;
        let rows = sqlx::query(S::LIST_SQL)
            .bind(query.after.map_or(0, |id| id.0))
            .bind(filter.starts_with.as_deref())
            .bind(filter.exact.as_deref())
            .bind(filter.contains.as_deref())
            .bind(i64::from(query.limit))
            .fetch_all(self.reads())
            .await?;
        rows.iter().map(meeting_from_row).collect()
    }

    async fn delete_meeting(
        &self,
        id: MeetingId,
        now: DateTime<Utc>,
    ) -> Result<Option<Meeting>, StoreError> {
        sqlx::query(concat!(
            "UPDATE meetings SET deleted_ms = $1 WHERE id = $2 AND deleted_ms IS NULL RETURNING ",
            meeting_columns!()
        ))
        .bind(millis(now))
        .bind(id.0)
        .fetch_optional(self.writes())
        .await?
        .as_ref()
        .map(meeting_from_row)
        .transpose()
    }

    async fn remove_meetings_ended_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut tx = self.writes().begin().await?;
        sqlx::query(
            "DELETE FROM room_themes WHERE room_name IN \
             (SELECT room_name FROM meetings WHERE end_ms < $1)",
        )
        .bind(millis(cutoff))
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query("DELETE FROM meetings WHERE end_ms < $1")
            .bind(millis(cutoff))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(S::rows_affected(&done))
    }

    async fn create_api_key(
        &self,
        name: &str,
        key_hash: &str,
        prefix: &str,
        now: DateTime<Utc>,
    ) -> Result<ApiKeyInfo, StoreError> {
        let row = sqlx::query(
            "INSERT INTO api_keys (name, key_hash, prefix, created_ms) VALUES ($1, $2, $3, $4)
             RETURNING id, name, prefix, created_ms, revoked_ms",
        )
        .bind(name)
        .bind(key_hash)
        .bind(prefix)
        .bind(millis(now))
        .fetch_one(self.writes())
        .await?;
        api_key_from_row(&row)
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKeyInfo>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, prefix, created_ms, revoked_ms FROM api_keys ORDER BY id",
        )
        .fetch_all(self.reads())
        .await?;
        rows.iter().map(api_key_from_row).collect()
    }

    async fn revoke_api_key(&self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE api_keys SET revoked_ms = coalesce(revoked_ms, $1) WHERE id = $2")
                .bind(millis(now))
                .bind(id)
                .execute(self.writes())
                .await?;
        Ok(S::rows_affected(&done) > 0)
    }

    async fn find_active_api_key(&self, key_hash: &str) -> Result<Option<ApiKeyInfo>, StoreError> {
        sqlx::query(
            "SELECT id, name, prefix, created_ms, revoked_ms FROM api_keys
             WHERE key_hash = $1 AND revoked_ms IS NULL",
        )
        .bind(key_hash)
        .fetch_optional(self.reads())
        .await?
        .as_ref()
        .map(api_key_from_row)
        .transpose()
    }

    async fn secret_or_insert(&self, name: &str, generate: Vec<u8>) -> Result<Vec<u8>, StoreError> {
        sqlx::query(
            "INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(generate)
        .execute(self.writes())
        .await?;
        let row = sqlx::query("SELECT value FROM secrets WHERE name = $1")
            .bind(name)
            .fetch_one(self.writes())
            .await?;
        row.bytes("value")
    }
}
