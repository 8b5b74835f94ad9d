//! Insights: rooms, sessions and participants, as the store computed them from room facts.

use chrono::{DateTime, Utc};

use crate::store::insights::{
    ParticipantEvent, ParticipantInsight, ParticipantQuery, RoomInsight, RoomInsightQuery,
    SessionInsight, SessionInsightQuery,
};
use crate::store::{DynStore, StoreError};

#[derive(Clone)]
pub struct Insights {
    store: DynStore,
}

impl Insights {
    pub fn new(store: DynStore) -> Self {
        Insights { store }
    }

    pub async fn rooms(
        &self,
        query: &RoomInsightQuery,
        now: DateTime<Utc>,
    ) -> Result<Vec<RoomInsight>, StoreError> {
        self.store.room_insights(query, now).await
    }

    pub async fn sessions(
        &self,
        query: &SessionInsightQuery,
        now: DateTime<Utc>,
    ) -> Result<Vec<SessionInsight>, StoreError> {
        self.store.session_insights(query, now).await
    }

    pub async fn participants(
        &self,
        query: &ParticipantQuery,
    ) -> Result<Vec<ParticipantInsight>, StoreError> {
        self.store.participant_insights(query).await
    }

    /// A participant's stays in a session, with what happened to them in that room.
    pub async fn participant(
        &self,
        session_id: &str,
        participant_id: &str,
    ) -> Result<(Vec<ParticipantInsight>, Vec<ParticipantEvent>), StoreError> {
        self.store
            .participant_detail(session_id, participant_id)
            .await
    }
}
