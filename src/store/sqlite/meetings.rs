//! Meetings in SQLite: what it does its own way (the rest is `store/shared/meetings.rs`).

use async_trait::async_trait;
use tokio::sync::oneshot;

use super::SqliteStore;
use super::batch::PendingCreate;
use crate::meeting::{Meeting, NewMeeting};
use crate::store::StoreError;
use crate::store::shared::{EngineMeetings, meeting_columns};

#[async_trait]
impl EngineMeetings for SqliteStore {
    // substr/instr rather than LIKE: no wildcard escaping to get wrong.
    const LIST_SQL: &'static str = concat!(
        "SELECT ",
        meeting_columns!(),
        " FROM meetings
         WHERE deleted_ms IS NULL AND id > $1
           AND ($2 IS NULL OR substr(room_name, 1, length($2)) = $2)
           AND ($3 IS NULL OR room_name = $3)
           AND ($4 IS NULL OR instr(room_name, $4) > 0)
         ORDER BY id LIMIT $5"
    );

    /// Through the batch writer: one writer, many creates a transaction.
    async fn insert_meeting(&self, new: NewMeeting) -> Result<Meeting, StoreError> {
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
}
