//! After a crash: the heartbeat the server writes while alive, and the facts that close what it left
//! open (the queries and the closing logic are shared with the other store: `store/interrupted.rs`).

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::SqliteStore;
use crate::meeting::facts::{FactClient, RoomFact};
use crate::meeting::{ClientId, MeetingId, Role, RoomName};
use crate::store::interrupted::{LAST_ALIVE, OPEN_KNOCKS, OPEN_SESSIONS, OPEN_STAYS, OpenRooms};
use crate::store::{StoreError, from_millis, millis, stored_room};

impl SqliteStore {
    /// The heartbeat: a write, and the state of the last checkpoint (which fails first on a full
    /// disk).
    pub(super) async fn mark_alive_at(&self, now: DateTime<Utc>) -> Result<(), StoreError> {
        let checkpoint = self
            .checkpoint_failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(why) = checkpoint {
            return Err(StoreError::WriteFailed(format!(
                "the database cannot be checkpointed: {why}"
            )));
        }
        sqlx::query(
            "INSERT INTO server_alive (id, at_ms) VALUES (1, ?) \
             ON CONFLICT (id) DO UPDATE SET at_ms = excluded.at_ms",
        )
        .bind(millis(now))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub(super) async fn facts_closing_what_was_open(&self) -> Result<Vec<RoomFact>, StoreError> {
        let at: Option<i64> = sqlx::query_scalar(LAST_ALIVE)
            .fetch_one(&self.writer)
            .await?;
        let Some(at) = at.map(from_millis).transpose()? else {
            return Ok(Vec::new());
        };
        let mut open = OpenRooms::default();
        for row in sqlx::query(OPEN_KNOCKS).fetch_all(&self.writer).await? {
            let meeting = MeetingId(row.try_get("meeting_id")?);
            open.knock(room_name(&row)?, meeting, client(&row, None, None)?);
        }
        for row in sqlx::query(OPEN_STAYS).fetch_all(&self.writer).await? {
            let role: String = row.try_get("role")?;
            let role = role
                .parse::<Role>()
                .map_err(|_| StoreError::Corrupt(format!("role {role:?}")))?;
            let user_agent: Option<String> = row.try_get("user_agent")?;
            let meeting = MeetingId(row.try_get::<Option<i64>, _>("meeting_id")?.unwrap_or(0));
            open.stay(
                room_name(&row)?,
                meeting,
                client(&row, Some(role), user_agent)?,
            );
        }
        for row in sqlx::query(OPEN_SESSIONS).fetch_all(&self.writer).await? {
            let meeting = MeetingId(row.try_get("meeting_id")?);
            open.session(room_name(&row)?, meeting, row.try_get("id")?);
        }
        Ok(open.closing_facts(at))
    }
}

fn room_name(row: &SqliteRow) -> Result<RoomName, StoreError> {
    stored_room(&row.try_get::<String, _>("room_name")?)
}

fn client(
    row: &SqliteRow,
    role: Option<Role>,
    user_agent: Option<String>,
) -> Result<FactClient, StoreError> {
    let id: Option<String> = row.try_get("client_id")?;
    Ok(FactClient {
        client_id: ClientId::new(id.unwrap_or_default()),
        role,
        display_name: row
            .try_get::<Option<String>, _>("display_name")?
            .unwrap_or_default(),
        external_id: row.try_get("external_id")?,
        metadata: row.try_get("metadata")?,
        user_agent,
    })
}
