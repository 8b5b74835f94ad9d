//! Facts: what happened in a room that integrators care about (webhooks) and that insights count.
//! The room engine emits them, the store records them, webhooks deliver them; so they live here, in
//! the vocabulary every layer shares, and none of those layers depends on another for them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::client::{ClientId, Role};
use super::{MeetingId, RoomName};

/// Each kind of fact, named by the webhook event it is delivered as. Whereby's events first, then
/// ours; this order is the order listed to people.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::EnumIter,
    Serialize,
    Deserialize,
)]
pub enum FactKind {
    #[strum(serialize = "room.client.knocked")]
    Knocked,
    #[strum(serialize = "room.client.knockCancelled")]
    KnockCancelled,
    #[strum(serialize = "room.client.joined")]
    Joined,
    #[strum(serialize = "room.client.left")]
    Left,
    #[strum(serialize = "room.session.started")]
    SessionStarted,
    #[strum(serialize = "room.session.ended")]
    SessionEnded,
    #[strum(serialize = "room.client.knockAccepted")]
    KnockAccepted,
    #[strum(serialize = "room.client.knockHeld")]
    KnockHeld,
    #[strum(serialize = "room.client.knockRejected")]
    KnockRejected,
    #[strum(serialize = "room.client.knockExpired")]
    KnockExpired,
    #[strum(serialize = "room.locked")]
    Locked,
    #[strum(serialize = "room.unlocked")]
    Unlocked,
    #[strum(serialize = "room.recording.started")]
    RecordingStarted,
    #[strum(serialize = "room.recording.stopped")]
    RecordingStopped,
}

impl FactKind {
    /// The webhook event type this fact is delivered as.
    pub fn event_type(self) -> &'static str {
        self.into()
    }

    /// Every event type, in the order listed to people.
    pub fn all() -> impl Iterator<Item = FactKind> {
        <FactKind as strum::IntoEnumIterator>::iter()
    }

    /// A fact about who attends: a join, a leave, a session's start or end. Their webhook events
    /// say how many are in the room (as Whereby's do), and they alone change the insights tables.
    pub fn changes_attendance(self) -> bool {
        matches!(
            self,
            FactKind::Joined | FactKind::Left | FactKind::SessionStarted | FactKind::SessionEnded
        )
    }
}

/// Why a client left the room, or a knock left the queue without a verdict.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumIter, Serialize, Deserialize,
)]
#[strum(serialize_all = "snake_case")]
pub enum LeaveReason {
    Left,
    Disconnected,
    Kicked,
    Cancelled,
    /// A knocker got in another way (a key, or the room was unlocked).
    Entered,
    /// The same client joined again from a new connection (after a network blip), which replaces
    /// this one.
    Replaced,
    /// A host sent the member back to the waiting room.
    SentToWaitingRoom,
    /// The knock waited longer than the room allows.
    Expired,
}

/// Why a room ended for everyone in it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumIter, Serialize, Deserialize,
)]
#[strum(serialize_all = "snake_case")]
pub enum EndReason {
    EndedByHost,
    MeetingDeleted,
    MeetingExpired,
    ServerShutdown,
}

/// Why someone went (a leave, a knock ended without a verdict) or a session ended, as the log and
/// the webhook's `reason` (ours: Whereby's events do not say) write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Departure {
    Leave(LeaveReason),
    /// The room ended for everyone, and why (`ended_by_host`, `meeting_expired`...).
    RoomEnded(EndReason),
    /// The server stopped without closing the room (a crash): its next start closed it.
    ServerStopped,
}

impl Departure {
    /// One word for it; the words of a leave and of a room's end differ from one another.
    pub fn as_str(self) -> &'static str {
        match self {
            Departure::Leave(reason) => reason.into(),
            Departure::RoomEnded(reason) => reason.into(),
            Departure::ServerStopped => "server_stopped",
        }
    }
}

impl std::fmt::Display for Departure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who decided a knock, as webhooks say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, Serialize, Deserialize)]
#[strum(serialize_all = "lowercase")]
pub enum DecidedBy {
    Host,
    Api,
}

impl DecidedBy {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientCounts {
    pub total: u32,
    pub by_role: BTreeMap<Role, u32>,
}

impl ClientCounts {
    /// `by_role` as a JSON object (role name to count), as the event log keeps it.
    pub fn by_role_json(&self) -> String {
        let object: serde_json::Map<String, serde_json::Value> = self
            .by_role
            .iter()
            .map(|(role, n)| (role.as_str().to_owned(), (*n).into()))
            .collect();
        serde_json::Value::Object(object).to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FactClient {
    pub client_id: ClientId,
    /// None for a knocker (not in the room).
    pub role: Option<Role>,
    pub display_name: String,
    pub external_id: Option<String>,
    pub metadata: Option<String>,
    pub user_agent: Option<String>,
}

/// A fact as a room produces it. It can be kept with the room's state (serde), for the room's
/// next owner to record when its node died before the store took it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomFact {
    pub kind: FactKind,
    pub at: DateTime<Utc>,
    pub meeting_id: MeetingId,
    pub room_name: RoomName,
    /// The session the room was in when this happened, if any.
    pub room_session_id: Option<String>,
    pub client: Option<FactClient>,
    /// A host's hold or reject message.
    pub message: Option<String>,
    /// Who decided a knock (verdicts only).
    pub decided_by: Option<DecidedBy>,
    /// Participants in the room right after the fact.
    pub counts: ClientCounts,
    /// Why, for a leave, a knock cancelled or a session ended (`serde(default)`: a fact kept by a
    /// node of before has none).
    #[serde(default)]
    pub why: Option<Departure>,
}

/// Tells a fact apart from every other, across nodes. A cluster's room keeps its facts with its
/// state until the store has taken them, so a fact may reach the store twice (from its room's node
/// and from the room's next owner); the store writes it once, by this id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FactId(String);

impl FactId {
    pub fn new() -> FactId {
        FactId(uuid::Uuid::new_v4().simple().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for FactId {
    fn default() -> Self {
        FactId::new()
    }
}

#[cfg(test)]
mod tests {
    use strum::IntoEnumIterator;

    use super::*;

    #[test]
    fn event_types_are_listed_whereby_first() {
        let names: Vec<&str> = FactKind::all().map(FactKind::event_type).collect();
        assert_eq!(
            names,
            [
                "room.client.knocked",
                "room.client.knockCancelled",
                "room.client.joined",
                "room.client.left",
                "room.session.started",
                "room.session.ended",
                "room.client.knockAccepted",
                "room.client.knockHeld",
                "room.client.knockRejected",
                "room.client.knockExpired",
                "room.locked",
                "room.unlocked",
                "room.recording.started",
                "room.recording.stopped",
            ]
        );
        for kind in FactKind::all() {
            assert_eq!(kind.event_type().parse::<FactKind>(), Ok(kind));
        }
    }

    #[test]
    fn departures_read_as_the_log_writes_them() {
        let said = [
            Departure::Leave(LeaveReason::SentToWaitingRoom),
            Departure::RoomEnded(EndReason::MeetingExpired),
            Departure::ServerStopped,
        ]
        .map(|why| why.to_string());
        assert_eq!(
            said,
            ["sent_to_waiting_room", "meeting_expired", "server_stopped"]
        );
        // A leave's words and a room end's do not overlap: each reads alone.
        let leaves = LeaveReason::iter().map(|r| Departure::Leave(r).as_str());
        let ends: Vec<&str> = EndReason::iter()
            .map(|r| Departure::RoomEnded(r).as_str())
            .collect();
        for leave in leaves {
            assert!(
                !ends.contains(&leave) && leave != "server_stopped",
                "{leave}"
            );
        }
    }
}
