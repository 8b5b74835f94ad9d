//! Facts: what happened in a room that integrators care about (webhooks) and that insights count.
//! The state machine emits them; the actor hands them to the store, off the signalling path.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::meeting::{MeetingId, RoomName};
use crate::signal::protocol::{ClientId, Role};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FactKind {
    Knocked,
    KnockCancelled,
    KnockAccepted,
    KnockHeld,
    KnockRejected,
    Joined,
    Left,
    Locked,
    Unlocked,
    SessionStarted,
    SessionEnded,
}

impl FactKind {
    /// The webhook event type this fact is delivered as.
    pub fn event_type(self) -> &'static str {
        match self {
            FactKind::Knocked => "room.client.knocked",
            FactKind::KnockCancelled => "room.client.knockCancelled",
            FactKind::KnockAccepted => "room.client.knockAccepted",
            FactKind::KnockHeld => "room.client.knockHeld",
            FactKind::KnockRejected => "room.client.knockRejected",
            FactKind::Joined => "room.client.joined",
            FactKind::Left => "room.client.left",
            FactKind::Locked => "room.locked",
            FactKind::Unlocked => "room.unlocked",
            FactKind::SessionStarted => "room.session.started",
            FactKind::SessionEnded => "room.session.ended",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientCounts {
    pub total: u32,
    pub by_role: BTreeMap<Role, u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactClient {
    pub client_id: ClientId,
    /// None for a knocker (not in the room).
    pub role: Option<Role>,
    pub display_name: String,
    pub external_id: Option<String>,
    pub metadata: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// Participants in the room right after the fact.
    pub counts: ClientCounts,
}
