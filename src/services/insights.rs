//! Insights: rooms, sessions and participants, as the store computed them from room facts.

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::meeting::network::{NetworkSample, NetworkSeries, bounded};
use crate::store::insights::{
    Forgotten, ParticipantDetail, ParticipantEvent, ParticipantInsight, ParticipantQuery,
    RoomInsight, RoomInsightQuery, SessionInsight, SessionInsightQuery,
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

    /// Forgets everything kept of the person with this external id.
    pub async fn forget(&self, external_id: &str) -> Result<Forgotten, StoreError> {
        self.store.forget_external_id(external_id).await
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

/// Each stay takes the samples of the intervals within it, from each admission to the media path
/// within it (a member carried on through a restart has two), one after the other on one grid.
fn stays_with_samples(detail: ParticipantDetail) -> Vec<Stay> {
    detail
        .stays
        .into_iter()
        .map(|stay| {
            let (interval_ms, samples) =
                samples_within(&detail.networks, stay.joined_at, stay.left_at);
            Stay {
                stay,
                events: detail.events.clone(),
                interval_ms,
                samples,
            }
        })
        .collect()
}

/// The samples of `networks` (a member's segments, of one or more admissions, in the order they
/// started; each at `SAMPLE_INTERVAL`) within `from..=to`, one after the other on one grid, gaps as
/// zeros, and merged in pairs past two hours (`bounded`); `(0, [])` without any.
fn samples_within(
    networks: &[NetworkSeries],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> (u32, Vec<NetworkSample>) {
    let parts: Vec<(&NetworkSeries, DateTime<Utc>, Vec<NetworkSample>)> = networks
        .iter()
        .filter_map(|series| {
            let (first, samples) = series.within(from, to)?;
            Some((series, first, samples))
        })
        .collect();
    let Some((head, ..)) = parts.first() else {
        return (0, Vec::new());
    };
    let interval_ms = head.interval_ms;
    let interval = head.interval();
    let mut joined: Vec<NetworkSample> = Vec::new();
    let mut next: Option<DateTime<Utc>> = None;
    for (_, first, samples) in parts {
        if let Some(next) = next {
            let gap = (first - next).num_milliseconds() as f64 / interval.num_milliseconds() as f64;
            joined.extend(std::iter::repeat_n(
                NetworkSample::default(),
                gap.round().max(0.0) as usize,
            ));
        }
        next = Some(first + interval * samples.len() as i32);
        joined.extend(samples);
    }
    bounded(interval_ms, joined)
}

/// Keeps the network samples the media threads send as members leave group rooms, until `stop`;
/// then what is waiting is written too. A sample lost to a store that is away is logged; the media
/// path never waits for the store.
pub async fn keep_network_samples(
    store: DynStore,
    mut samples: mpsc::Receiver<NetworkSeries>,
    stop: CancellationToken,
) {
    loop {
        let series = tokio::select! {
            next = samples.recv() => match next {
                Some(series) => series,
                None => return,
            },
            () = stop.cancelled() => break,
        };
        keep(&store, &series).await;
    }
    while let Ok(series) = samples.try_recv() {
        keep(&store, &series).await;
    }
}

async fn keep(store: &DynStore, series: &NetworkSeries) {
    match store.save_network_series(series).await {
        Ok(()) => tracing::debug!(room = %series.room, client = %series.client,
            samples = series.samples.len(), "network samples kept"),
        Err(err) => tracing::warn!(room = %series.room, client = %series.client,
            error = %err, "network samples not kept"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meeting::{ClientId, RoomName};

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + seconds, 0).expect("a valid time")
    }

    fn stay(from: i64, to: i64) -> ParticipantInsight {
        ParticipantInsight {
            session_id: "s".into(),
            participant_id: "c".into(),
            role: "host".into(),
            display_name: "n".into(),
            external_id: None,
            user_agent: None,
            joined_at: at(from),
            left_at: at(to),
        }
    }

    /// Samples of `n` intervals of 2 s from `from`, each its own number.
    fn series(from: i64, n: u32, first: u32) -> NetworkSeries {
        NetworkSeries {
            room: RoomName::parse("/r").expect("a valid name"),
            client: ClientId::new("c"),
            started: at(from),
            interval_ms: 2000,
            samples: (first..first + n)
                .map(|bitrate_send| NetworkSample {
                    bitrate_send,
                    ..NetworkSample::default()
                })
                .collect(),
        }
    }

    /// A member admitted twice (left and came back by key), each admission a stay: each stay has
    /// the samples of its own admission, and one with none has none. A stay through a restart (two
    /// admissions, 4 s apart) has both, the gap as zeros.
    #[test]
    fn each_stay_takes_the_samples_within_it() {
        let detail = ParticipantDetail {
            stays: vec![stay(0, 10), stay(20, 26), stay(40, 50), stay(60, 80)],
            events: Vec::new(),
            networks: vec![
                series(0, 5, 100),
                series(20, 3, 200),
                series(60, 2, 300),
                series(68, 2, 400),
            ],
        };
        let stays = stays_with_samples(detail);
        let sent =
            |i: usize| -> Vec<u32> { stays[i].samples.iter().map(|s| s.bitrate_send).collect() };
        assert_eq!(sent(0), vec![100, 101, 102, 103, 104]);
        assert_eq!(sent(1), vec![200, 201, 202]);
        assert_eq!((stays[2].interval_ms, sent(2)), (0, vec![]));
        assert_eq!(stays[0].interval_ms, 2000);
        assert_eq!(sent(3), vec![300, 301, 0, 0, 400, 401]);
    }
}
