//! After a crash: when the server was last known alive, and the facts that close what it left open
//! (waiting knocks, members in rooms, running sessions), so that webhook receivers and insights hear
//! the end of everything that began.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{SqliteStore, from_millis, millis};
use crate::meeting::facts::{ClientCounts, FactClient, FactKind, RoomFact};
use crate::meeting::{ClientId, MeetingId, Role, RoomName};
use crate::store::StoreError;

/// Knocks still open: the last knock fact (or join) of their client says knocked or held.
const OPEN_KNOCKS: &str = "SELECT e.meeting_id, e.room_name, e.client_id, e.display_name, \
    e.external_id, e.metadata FROM room_events e \
    WHERE e.kind IN ('room.client.knocked', 'room.client.knockHeld') \
    AND e.id = (SELECT MAX(x.id) FROM room_events x WHERE x.room_name = e.room_name \
                AND x.client_id = e.client_id \
                AND x.kind IN ('room.client.knocked', 'room.client.knockHeld', \
                    'room.client.knockAccepted', 'room.client.knockRejected', \
                    'room.client.knockCancelled', 'room.client.knockExpired', \
                    'room.client.joined')) \
    ORDER BY e.id";

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

    /// The later of the last heartbeat and the last room event.
    async fn last_alive(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let at: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(at) FROM (SELECT at_ms AS at FROM server_alive \
             UNION ALL SELECT MAX(at_ms) AS at FROM room_events)",
        )
        .fetch_one(&self.writer)
        .await?;
        at.map(from_millis).transpose()
    }

    pub(super) async fn facts_closing_what_was_open(&self) -> Result<Vec<RoomFact>, StoreError> {
        let Some(at) = self.last_alive().await? else {
            return Ok(Vec::new());
        };
        let mut rooms: BTreeMap<RoomName, OpenRoom> = BTreeMap::new();
        for row in sqlx::query(OPEN_KNOCKS).fetch_all(&self.writer).await? {
            let room = room_name(&row)?;
            let open = rooms.entry(room).or_insert_with(OpenRoom::new);
            open.meeting = MeetingId(row.try_get("meeting_id")?);
            open.knocks.push(client(&row, None, None)?);
        }
        for row in sqlx::query(
            "SELECT p.room_name, p.session_id, p.client_id, p.role, p.display_name, p.external_id, \
             p.user_agent, \
             (SELECT e.meeting_id FROM room_events e WHERE e.room_name = p.room_name \
              ORDER BY e.id DESC LIMIT 1) AS meeting_id, \
             (SELECT e.metadata FROM room_events e WHERE e.room_name = p.room_name \
              AND e.client_id = p.client_id AND e.kind = 'room.client.joined' \
              ORDER BY e.id DESC LIMIT 1) AS metadata \
             FROM participations p WHERE p.left_ms IS NULL ORDER BY p.id",
        )
        .fetch_all(&self.writer)
        .await?
        {
            let room = room_name(&row)?;
            let role: String = row.try_get("role")?;
            let role = role
                .parse::<Role>()
                .map_err(|_| StoreError::Corrupt(format!("role {role:?}")))?;
            let user_agent: Option<String> = row.try_get("user_agent")?;
            let open = rooms.entry(room).or_insert_with(OpenRoom::new);
            open.meeting = MeetingId(row.try_get::<Option<i64>, _>("meeting_id")?.unwrap_or(0));
            open.members.push(client(&row, Some(role), user_agent)?);
        }
        for row in sqlx::query(
            "SELECT id, meeting_id, room_name FROM room_sessions WHERE ended_ms IS NULL",
        )
        .fetch_all(&self.writer)
        .await?
        {
            let room = room_name(&row)?;
            let open = rooms.entry(room).or_insert_with(OpenRoom::new);
            open.meeting = MeetingId(row.try_get("meeting_id")?);
            open.session = Some(row.try_get("id")?);
        }
        Ok(rooms
            .into_iter()
            .flat_map(|(room, open)| open.closing_facts(room, at))
            .collect())
    }
}

fn room_name(row: &sqlx::sqlite::SqliteRow) -> Result<RoomName, StoreError> {
    let raw: String = row.try_get("room_name")?;
    RoomName::parse(&raw).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn client(
    row: &sqlx::sqlite::SqliteRow,
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

/// What one room had open when the server stopped.
struct OpenRoom {
    meeting: MeetingId,
    knocks: Vec<FactClient>,
    members: Vec<FactClient>,
    session: Option<String>,
}

impl OpenRoom {
    fn new() -> Self {
        OpenRoom {
            meeting: MeetingId(0),
            knocks: Vec::new(),
            members: Vec::new(),
            session: None,
        }
    }

    /// In the order a room's end would say them: knocks cancelled, members gone (the count going
    /// down), then the session's end.
    fn closing_facts(self, room: RoomName, at: DateTime<Utc>) -> Vec<RoomFact> {
        let fact = |kind, client: Option<FactClient>, counts: ClientCounts| RoomFact {
            kind,
            at,
            meeting_id: self.meeting,
            room_name: room.clone(),
            room_session_id: self.session.clone(),
            client,
            message: None,
            decided_by: None,
            counts,
        };
        let mut remaining: HashMap<Role, u32> = HashMap::new();
        for member in &self.members {
            if let Some(role) = member.role {
                *remaining.entry(role).or_default() += 1;
            }
        }
        let counts = |remaining: &HashMap<Role, u32>| ClientCounts {
            total: remaining.values().sum(),
            by_role: remaining
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(role, n)| (*role, *n))
                .collect(),
        };
        let mut facts = Vec::new();
        for knock in &self.knocks {
            facts.push(fact(
                FactKind::KnockCancelled,
                Some(knock.clone()),
                counts(&remaining),
            ));
        }
        for member in &self.members {
            if let Some(role) = member.role
                && let Some(n) = remaining.get_mut(&role)
            {
                *n = n.saturating_sub(1);
            }
            facts.push(fact(
                FactKind::Left,
                Some(member.clone()),
                counts(&remaining),
            ));
        }
        if self.session.is_some() {
            facts.push(fact(FactKind::SessionEnded, None, counts(&remaining)));
        }
        facts
    }
}
