//! Meetings, API keys and server secrets in SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use tokio::sync::oneshot;

use super::batch::PendingCreate;
use super::{SqliteStore, from_millis, millis};
use crate::meeting::{Meeting, MeetingId, NewMeeting, RoomMode, RoomName};
use crate::store::{ApiKeyInfo, MeetingQuery, MeetingStore, StoreError, stored_room};

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
        room_name: stored_room(&room_name)?,
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
impl MeetingStore for SqliteStore {
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
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "DELETE FROM room_themes WHERE room_name IN \
             (SELECT room_name FROM meetings WHERE end_ms < ?)",
        )
        .bind(millis(cutoff))
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query("DELETE FROM meetings WHERE end_ms < ?")
            .bind(millis(cutoff))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
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
}
