//! Meetings in PostgreSQL: what it does its own way (the rest is `store/shared/meetings.rs`).

use async_trait::async_trait;
use sqlx::Row;

use super::PostgresStore;
use crate::meeting::{Meeting, MeetingId, NewMeeting};
use crate::store::shared::{EngineMeetings, meeting_columns};
use crate::store::{StoreError, millis};

#[async_trait]
impl EngineMeetings for PostgresStore {
    // left/strpos rather than LIKE: no wildcard escaping to get wrong.
    const LIST_SQL: &'static str = concat!(
        "SELECT ",
        meeting_columns!(),
        " FROM meetings
         WHERE deleted_ms IS NULL AND id > $1
           AND ($2::TEXT IS NULL OR left(room_name, length($2)) = $2)
           AND ($3::TEXT IS NULL OR room_name = $3)
           AND ($4::TEXT IS NULL OR strpos(room_name, $4) > 0)
         ORDER BY id LIMIT $5"
    );

    /// Many writers: no batching needed to keep up; a name that collides inserts nothing.
    async fn insert_meeting(&self, new: NewMeeting) -> Result<Meeting, StoreError> {
        let row = sqlx::query(
            "INSERT INTO meetings (room_name, start_ms, end_ms, room_mode, is_locked, viewer_mode, \
             recording) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (room_name) DO NOTHING RETURNING id",
        )
        .bind(new.room_name.as_str())
        .bind(millis(new.start_date))
        .bind(millis(new.end_date))
        .bind(new.room_mode.as_str())
        .bind(new.is_locked)
        .bind(new.viewer_mode)
        .bind(new.recording.as_str())
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
            recording: new.recording,
        })
    }
}
