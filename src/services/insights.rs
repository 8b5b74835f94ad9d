//! Insights: rooms, sessions and participants, as the store computed them from room facts.

use chrono::{DateTime, Utc};

use tokio::sync::mpsc;

use crate::meeting::network::{NetworkSample, NetworkSeries};
use crate::store::insights::{
    ParticipantDetail, ParticipantEvent, ParticipantInsight, ParticipantQuery, RoomInsight,
    RoomInsightQuery, SessionInsight, SessionInsightQuery,
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

    /// A participant's stays in a session, with what happened to them in that room, and each
    /// stay's network samples (those of the intervals within it; none outside group rooms).
    pub async fn participant(
        &self,
        session_id: &str,
        participant_id: &str,
    ) -> Result<Vec<Stay>, StoreError> {
        let detail = self
            .store
            .participant_detail(session_id, participant_id)
            .await?;
        Ok(stays_with_samples(detail))
    }
}

/// One stay of a participant, for `/v1/insights/participant`.
#[derive(Debug, Clone)]
pub struct Stay {
    pub stay: ParticipantInsight,
    pub events: Vec<ParticipantEvent>,
    /// The interval of the samples, and the samples; 0 and none without any.
    pub interval_ms: u32,
    pub samples: Vec<NetworkSample>,
}

/// Each stay takes the samples of the intervals within it, from the series (an admission to the
/// media path) that has the most of them there.
fn stays_with_samples(detail: ParticipantDetail) -> Vec<Stay> {
    detail
        .stays
        .into_iter()
        .map(|stay| {
            let (interval_ms, samples) = detail
                .networks
                .iter()
                .map(|series| {
                    let within = series.within(stay.joined_at, stay.left_at);
                    (series.interval_ms, within)
                })
                .max_by_key(|(_, within)| within.len())
                .filter(|(_, within)| !within.is_empty())
                .unwrap_or_default();
            Stay {
                stay,
                events: detail.events.clone(),
                interval_ms,
                samples,
            }
        })
        .collect()
}

/// Keeps the network samples the media threads send as members leave group rooms. A sample lost
/// to a store that is away is logged; the media path never waits for the store.
pub async fn keep_network_samples(store: DynStore, mut samples: mpsc::Receiver<NetworkSeries>) {
    while let Some(series) = samples.recv().await {
        match store.save_network_series(&series).await {
            Ok(()) => tracing::debug!(room = %series.room, client = %series.client,
                samples = series.samples.len(), "network samples kept"),
            Err(err) => tracing::warn!(room = %series.room, client = %series.client,
                error = %err, "network samples not kept"),
        }
    }
}
