//! Meeting creation batched: concurrent creates wait in a channel, and one task writes everything
//! waiting as a single multi-row INSERT, one commit per batch instead of one per meeting. Under load
//! this is what lets one SQLite writer keep up; alone, a create waits for no one.

use std::collections::HashMap;

use sqlx::sqlite::SqlitePool;
use sqlx::{QueryBuilder, Row, Sqlite};
use tokio::sync::{mpsc, oneshot};

use crate::meeting::{Meeting, MeetingId, NewMeeting};
use crate::store::StoreError;

/// Rows per statement: 6 bound values each, far below SQLite's 32,766-variable limit.
const MAX_BATCH: usize = 256;

pub struct PendingCreate {
    pub meeting: NewMeeting,
    pub reply: oneshot::Sender<Result<Meeting, StoreError>>,
}

pub fn channel() -> (mpsc::Sender<PendingCreate>, mpsc::Receiver<PendingCreate>) {
    mpsc::channel(4 * MAX_BATCH)
}

/// Runs until every sender is gone and the channel is drained.
pub async fn run(writer: SqlitePool, mut pending: mpsc::Receiver<PendingCreate>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while pending.recv_many(&mut batch, MAX_BATCH).await > 0 {
        write_batch(&writer, std::mem::take(&mut batch)).await;
    }
}

async fn write_batch(writer: &SqlitePool, batch: Vec<PendingCreate>) {
    let mut insert: QueryBuilder<Sqlite> = QueryBuilder::new(
        "INSERT OR IGNORE INTO meetings (room_name, start_ms, end_ms, room_mode, is_locked, viewer_mode, recording) ",
    );
    insert.push_values(&batch, |mut row, pending| {
        let m = &pending.meeting;
        row.push_bind(m.room_name.as_str())
            .push_bind(m.start_date.timestamp_millis())
            .push_bind(m.end_date.timestamp_millis())
            .push_bind(m.room_mode.as_str())
            .push_bind(m.is_locked)
            .push_bind(m.viewer_mode)
            .push_bind(m.recording.as_str());
    });
    // OR IGNORE + RETURNING: a row whose generated name collides is skipped, and its absence from
    // the returned rows tells its caller to draw another name; the rest of the batch still commits.
    insert.push(" RETURNING id, room_name");
    let result = insert.build().fetch_all(writer).await;
    match result {
        Ok(rows) => {
            let mut ids: HashMap<String, i64> = HashMap::with_capacity(rows.len());
            for row in rows {
                if let (Ok(id), Ok(name)) = (row.try_get("id"), row.try_get("room_name")) {
                    ids.insert(name, id);
                }
            }
            for pending in batch {
                let m = pending.meeting;
                let outcome = match ids.get(m.room_name.as_str()) {
                    Some(id) => Ok(Meeting {
                        id: MeetingId(*id),
                        room_name: m.room_name,
                        start_date: m.start_date,
                        end_date: m.end_date,
                        room_mode: m.room_mode,
                        is_locked: m.is_locked,
                        viewer_mode: m.viewer_mode,
                        recording: m.recording,
                    }),
                    None => Err(StoreError::RoomNameTaken(m.room_name)),
                };
                // A caller that gave up (its request was cancelled) no longer needs the answer.
                let _ = pending.reply.send(outcome);
            }
        }
        Err(err) => {
            tracing::error!(error = %err, rows = batch.len(), "writing a batch of meetings failed");
            for pending in batch {
                let _ = pending
                    .reply
                    .send(Err(StoreError::shared_write_failure(&err)));
            }
        }
    }
}
