//! Rooms' kept states (a server alone), in either engine.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Database, Encode, Executor, IntoArguments, Type};

use super::SqlEngine;
use super::columns::Columns;
use crate::meeting::RoomName;
use crate::store::{SnapshotStore, StoreError, millis, stored_room};

#[async_trait]
impl<S> SnapshotStore for S
where
    S: SqlEngine,
    for<'c> &'c sqlx::Pool<S::Db>: Executor<'c, Database = S::Db>,
    for<'c> &'c mut <S::Db as Database>::Connection: Executor<'c, Database = S::Db>,
    <S::Db as Database>::Arguments: IntoArguments<S::Db>,
    for<'a> &'a str: Encode<'a, S::Db> + Type<S::Db>,
    for<'a> i64: Encode<'a, S::Db> + Type<S::Db>,
    <S::Db as Database>::Row: Columns,
{
    async fn save_snapshots(
        &self,
        rooms: &[(RoomName, String)],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.writes().begin().await?;
        for (room, state) in rooms {
            sqlx::query(
                "INSERT INTO room_snapshots (room_name, state, saved_ms) VALUES ($1, $2, $3) \
                 ON CONFLICT (room_name) DO UPDATE SET state = excluded.state, saved_ms = excluded.saved_ms",
            )
            .bind(room.as_str())
            .bind(state.as_str())
            .bind(millis(now))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn forget_snapshots(&self, rooms: &[RoomName]) -> Result<(), StoreError> {
        let mut tx = self.writes().begin().await?;
        for room in rooms {
            sqlx::query("DELETE FROM room_snapshots WHERE room_name = $1")
                .bind(room.as_str())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn snapshot_of(&self, room: &RoomName) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT state FROM room_snapshots WHERE room_name = $1")
            .bind(room.as_str())
            .fetch_optional(self.reads())
            .await?;
        row.map(|row| row.text("state")).transpose()
    }

    async fn take_snapshots(&self) -> Result<Vec<(RoomName, String)>, StoreError> {
        let rows = sqlx::query("DELETE FROM room_snapshots RETURNING room_name, state")
            .fetch_all(self.writes())
            .await?;
        rows.iter()
            .map(|row| Ok((stored_room(&row.text("room_name")?)?, row.text("state")?)))
            .collect()
    }
}
