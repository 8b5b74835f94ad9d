//! What insights ask of the store, and what it answers: rooms, sessions and participants, computed
//! from the sessions and participations the fact recorder keeps.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{RoomNameFilter, StoreError};
use crate::meeting::network::NetworkSeries;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortDir {
    Asc,
    Desc,
}

impl SortDir {
    pub fn sql(self) -> &'static str {
        match self {
            SortDir::Asc => "ASC",
            SortDir::Desc => "DESC",
        }
    }
}

/// A page: results are skipped and counted in the query's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub offset: u64,
    pub limit: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomSort {
    RoomName,
    CreatedAt,
    EndAt,
    FirstSessionStartedAt,
    LastSessionStartedAt,
    TotalParticipantMinutes,
    TotalUniqueParticipants,
    TotalSessions,
}

#[derive(Debug, Clone)]
pub struct RoomInsightQuery {
    pub room_name: RoomNameFilter,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub sort: (RoomSort, SortDir),
    pub page: Page,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomInsight {
    pub room_name: String,
    pub created_at: DateTime<Utc>,
    pub end_at: DateTime<Utc>,
    pub first_session_started_at: DateTime<Utc>,
    pub last_session_started_at: DateTime<Utc>,
    pub total_participant_minutes: i64,
    pub total_unique_participants: i64,
    pub total_sessions: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionSort {
    StartedAt,
    EndedAt,
    TotalParticipantMinutes,
    TotalUniqueParticipants,
}

#[derive(Debug, Clone)]
pub struct SessionInsightQuery {
    pub room_name: String,
    pub session_id: Option<String>,
    pub sort: (SessionSort, SortDir),
    pub page: Page,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInsight {
    pub session_id: String,
    pub room_name: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    /// The meeting's end date.
    pub end_at: DateTime<Utc>,
    pub total_participant_minutes: i64,
    pub total_unique_participants: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParticipantSort {
    JoinedAt,
    LeftAt,
}

#[derive(Debug, Clone)]
pub enum ParticipantsOf {
    Session(String),
    ExternalId(String),
}

#[derive(Debug, Clone)]
pub struct ParticipantQuery {
    pub of: ParticipantsOf,
    pub sort: (ParticipantSort, SortDir),
    pub page: Page,
}

/// One member's stay in one session, once it is over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipantInsight {
    pub session_id: String,
    pub participant_id: String,
    pub role: String,
    pub display_name: String,
    pub external_id: Option<String>,
    pub user_agent: Option<String>,
    pub joined_at: DateTime<Utc>,
    pub left_at: DateTime<Utc>,
}

/// Something that happened to a participant in a room, for `/v1/insights/participant`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipantEvent {
    pub kind: String,
    pub at: DateTime<Utc>,
}

#[async_trait]
pub trait InsightStore: Send + Sync {
    /// Rooms that had at least one session.
    async fn room_insights(
        &self,
        query: &RoomInsightQuery,
        now: DateTime<Utc>,
    ) -> Result<Vec<RoomInsight>, StoreError>;
    async fn session_insights(
        &self,
        query: &SessionInsightQuery,
        now: DateTime<Utc>,
    ) -> Result<Vec<SessionInsight>, StoreError>;
    /// Finished stays only (a stay has a `leftAt` once it is over).
    async fn participant_insights(
        &self,
        query: &ParticipantQuery,
    ) -> Result<Vec<ParticipantInsight>, StoreError>;
    /// A participant's stays in a session, with what happened to them in that room and the
    /// network samples the media server took of them.
    async fn participant_detail(
        &self,
        session_id: &str,
        participant_id: &str,
    ) -> Result<ParticipantDetail, StoreError>;
    /// Keeps a member's network samples (a group room's media server took them).
    async fn save_network_series(&self, series: &NetworkSeries) -> Result<(), StoreError>;
    /// Forgets network samples that started before `cutoff`; returns how many series.
    async fn prune_network_samples(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError>;
    /// Forgets the history insights are made of from before `cutoff`: room events that happened
    /// then, and stays and sessions that ended then (who was there, under what name); returns how
    /// many rows.
    async fn prune_history(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError>;
    /// Forgets everything kept of the person an integrator gave this external id: their stays,
    /// the room events of them (knocks too), their network samples.
    async fn forget_external_id(&self, external_id: &str) -> Result<Forgotten, StoreError>;
}

/// How many rows of one person's history were forgotten.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Forgotten {
    pub stays: u64,
    pub events: u64,
    pub network_samples: u64,
}

/// A participant's stays in a session, what happened to them there, and their network samples
/// (of every admission to a group room's media path, in the order they started).
#[derive(Debug, Clone, Default)]
pub struct ParticipantDetail {
    pub stays: Vec<ParticipantInsight>,
    pub events: Vec<ParticipantEvent>,
    pub networks: Vec<NetworkSeries>,
}
