//! Meetings, API keys and secrets in PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::PostgresStore;
use crate::meeting::{Meeting, MeetingId, NewMeeting, RoomMode, RoomName};
use crate::store::{
    ApiKeyInfo, MeetingQuery, MeetingStore, StoreError, from_millis, millis, stored_room,
};

macro_rules! meeting_columns {
    () => {
        "id, room_name, start_ms, end_ms, room_mode, is_locked, viewer_mode"
    };
}

fn meeting_from_row(row: &PgRow) -> Result<Meeting, StoreError> {
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

fn api_key_from_row(row: &PgRow) -> Result<ApiKeyInfo, StoreError> {
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
impl MeetingStore for PostgresStore {
    async fn create_meeting(&self, new: NewMeeting) -> Result<Meeting, StoreError> {
        // Many writers: no batching needed to keep up; a name that collides inserts nothing.
        let row = sqlx::query(
            "INSERT INTO meetings (room_name, start_ms, end_ms, room_mode, is_locked, viewer_mode) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (room_name) DO NOTHING RETURNING id",
        )
        .bind(new.room_name.as_str())
        .bind(millis(new.start_date))
        .bind(millis(new.end_date))
        .bind(new.room_mode.as_str())
        .bind(new.is_locked)
        .bind(new.viewer_mode)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Err(StoreError::RoomNameTaken(new.room_name));
        };
        Ok(Meeting {
            id: MeetingId(row.try_get("id")?),
            room_name: new.room_name,
            start_date: new.start_date,
            end_date: new.end_date,
            room_mode: new.room_mode,
            is_locked: new.is_locked,
            viewer_mode: new.viewer_mode,
        })
    }

    async fn get_meeting(&self, id: MeetingId) -> Result<Option<Meeting>, StoreError> {
        sqlx::query(concat!(
            "SELECT ",
            meeting_columns!(),
            " FROM meetings WHERE id = $1 AND deleted_ms IS NULL"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
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
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(meeting_from_row)
        .transpose()
    }

    async fn list_meetings(&self, query: &MeetingQuery) -> Result<Vec<Meeting>, StoreError> {
        // left/strpos rather than LIKE: no wildcard escaping to get wrong.
        let sql = concat!(
            "SELECT ",
            meeting_columns!(),
            " FROM meetings
             WHERE deleted_ms IS NULL AND id > $1
               AND ($2::TEXT IS NULL OR left(room_name, length($2)) = $2)
               AND ($3::TEXT IS NULL OR room_name = $3)
               AND ($4::TEXT IS NULL OR strpos(room_name, $4) > 0)
             ORDER BY id LIMIT $5"
        );
        let filter = &query.room_name;
        let rows = sqlx::query(sql)
            .bind(query.after.map_or(0, |id| id.0))
            .bind(filter.starts_with.as_deref())
            .bind(filter.exact.as_deref())
            .bind(filter.contains.as_deref())
            .bind(i64::from(query.limit))
            .fetch_all(&self.pool)
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
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(meeting_from_row)
        .transpose()
    }

    async fn remove_meetings_ended_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
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
            "INSERT INTO api_keys (name, key_hash, prefix, created_ms) VALUES ($1, $2, $3, $4)
             RETURNING id, name, prefix, created_ms, revoked_ms",
        )
        .bind(name)
        .bind(key_hash)
        .bind(prefix)
        .bind(millis(now))
        .fetch_one(&self.pool)
        .await?;
        api_key_from_row(&row)
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKeyInfo>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, prefix, created_ms, revoked_ms FROM api_keys ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(api_key_from_row).collect()
    }

    async fn revoke_api_key(&self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE api_keys SET revoked_ms = coalesce(revoked_ms, $1) WHERE id = $2")
                .bind(millis(now))
                .bind(id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn find_active_api_key(&self, key_hash: &str) -> Result<Option<ApiKeyInfo>, StoreError> {
        sqlx::query(
            "SELECT id, name, prefix, created_ms, revoked_ms FROM api_keys
             WHERE key_hash = $1 AND revoked_ms IS NULL",
        )
        .bind(key_hash)
        .fetch_optional(&self.pool)
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
        .execute(&self.pool)
        .await?;
        let value = sqlx::query_scalar("SELECT value FROM secrets WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await?;
        Ok(value)
    }
}
