//! Rooms handed over at shutdown, in PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::PostgresStore;
use crate::meeting::RoomName;
use crate::store::{SnapshotStore, StoreError, millis, stored_room};

#[async_trait]
impl SnapshotStore for PostgresStore {
    async fn save_snapshots(
        &self,
        rooms: &[(RoomName, String)],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for (room, state) in rooms {
            sqlx::query(
                "INSERT INTO room_snapshots (room_name, state, saved_ms) VALUES ($1, $2, $3) \
                 ON CONFLICT (room_name) DO UPDATE SET state = excluded.state, saved_ms = excluded.saved_ms",
            )
            .bind(room.as_str())
            .bind(state)
            .bind(millis(now))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn take_snapshots(&self) -> Result<Vec<(RoomName, String)>, StoreError> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("DELETE FROM room_snapshots RETURNING room_name, state")
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|(room, state)| Ok((stored_room(&room)?, state)))
            .collect()
    }
}
