//! Insights, in either engine: the queries of `insights_sql.rs`, and a participant's detail.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Database, Encode, Executor, IntoArguments, Type};

use super::SqlEngine;
use super::columns::Columns;
use super::history;
use super::insights_sql::{self, stay_columns};
use crate::meeting::ClientId;
use crate::meeting::network::{NetworkSample, NetworkSeries};
use crate::store::StoreError;
use crate::store::insights::{
    Forgotten, InsightStore, ParticipantDetail, ParticipantEvent, ParticipantInsight,
    ParticipantQuery, RoomInsight, RoomInsightQuery, SessionInsight, SessionInsightQuery,
};
use crate::store::{millis, stored_room};

#[async_trait]
impl<S> InsightStore for S
where
    S: SqlEngine,
    for<'c> &'c sqlx::Pool<S::Db>: Executor<'c, Database = S::Db>,
    for<'c> &'c mut <S::Db as Database>::Connection: Executor<'c, Database = S::Db>,
    <S::Db as Database>::Arguments: IntoArguments<S::Db>,
    for<'a> &'a str: Encode<'a, S::Db> + Type<S::Db>,
    for<'a> String: Encode<'a, S::Db> + Type<S::Db>,
    for<'a> i64: Encode<'a, S::Db> + Type<S::Db>,
    <S::Db as Database>::Row: Columns,
{
    async fn room_insights(
        &self,
        query: &RoomInsightQuery,
        now: DateTime<Utc>,
    ) -> Result<Vec<RoomInsight>, StoreError> {
        let mut sql = insights_sql::room_insights::<S::Db>(query, now);
        let rows = sql.build().fetch_all(self.reads()).await?;
        rows.iter().map(insights_sql::room_from_row).collect()
    }

    async fn session_insights(
        &self,
        query: &SessionInsightQuery,
        now: DateTime<Utc>,
    ) -> Result<Vec<SessionInsight>, StoreError> {
        let mut sql = insights_sql::session_insights::<S::Db>(query, now);
        let rows = sql.build().fetch_all(self.reads()).await?;
        rows.iter().map(insights_sql::session_from_row).collect()
    }

    async fn participant_insights(
        &self,
        query: &ParticipantQuery,
    ) -> Result<Vec<ParticipantInsight>, StoreError> {
        let mut sql = insights_sql::participant_insights::<S::Db>(query);
        let rows = sql.build().fetch_all(self.reads()).await?;
        rows.iter().map(insights_sql::stay_from_row).collect()
    }

    async fn participant_detail(
        &self,
        session_id: &str,
        participant_id: &str,
    ) -> Result<ParticipantDetail, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            stay_columns!(),
            " FROM participations WHERE session_id = $1 AND client_id = $2 ORDER BY id"
        ))
        .bind(session_id)
        .bind(participant_id)
        .fetch_all(self.reads())
        .await?;
        let stays: Vec<ParticipantInsight> = rows
            .iter()
            .map(insights_sql::stay_from_row)
            .collect::<Result<_, _>>()?;
        if stays.is_empty() {
            return Ok(ParticipantDetail::default());
        }
        let events = sqlx::query(
            "SELECT e.kind, e.at_ms FROM room_events e \
             JOIN room_sessions s ON s.room_name = e.room_name \
             WHERE s.id = $1 AND e.client_id = $2 ORDER BY e.id",
        )
        .bind(session_id)
        .bind(participant_id)
        .fetch_all(self.reads())
        .await?;
        let events = events
            .iter()
            .map(|row| {
                Ok(ParticipantEvent {
                    kind: row.text("kind")?,
                    at: row.time("at_ms")?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        let networks = sqlx::query(
            "SELECT room_name, client_id, started_ms, interval_ms, samples FROM network_samples \
             WHERE client_id = $1 ORDER BY started_ms",
        )
        .bind(participant_id)
        .fetch_all(self.reads())
        .await?;
        let networks = networks
            .iter()
            .map(network_from_row)
            .collect::<Result<_, StoreError>>()?;
        Ok(ParticipantDetail {
            stays,
            events,
            networks,
        })
    }

    async fn save_network_series(&self, series: &NetworkSeries) -> Result<(), StoreError> {
        let samples: Vec<(u32, u32, f32, f32)> = series
            .samples
            .iter()
            .map(|s| {
                (
                    s.bitrate_send,
                    s.bitrate_recv,
                    s.packet_loss_send,
                    s.packet_loss_recv,
                )
            })
            .collect();
        let samples = serde_json::to_string(&samples)
            .map_err(|err| StoreError::Corrupt(format!("network samples: {err}")))?;
        sqlx::query(
            "INSERT INTO network_samples (room_name, client_id, started_ms, interval_ms, samples) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(series.room.as_str())
        .bind(series.client.as_str())
        .bind(millis(series.started))
        .bind(i64::from(series.interval_ms))
        .bind(samples)
        .execute(self.writes())
        .await?;
        Ok(())
    }

    async fn prune_network_samples(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM network_samples WHERE started_ms < $1")
            .bind(millis(cutoff))
            .execute(self.writes())
            .await?;
        Ok(S::rows_affected(&done))
    }

    async fn prune_history(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        history::prune(self, millis(cutoff)).await
    }

    async fn forget_external_id(&self, external_id: &str) -> Result<Forgotten, StoreError> {
        history::forget(self, external_id).await
    }
}

fn network_from_row<R: Columns>(row: &R) -> Result<NetworkSeries, StoreError> {
    let corrupt = |what: String| StoreError::Corrupt(format!("network samples: {what}"));
    let samples: Vec<(u32, u32, f32, f32)> =
        serde_json::from_str(&row.text("samples")?).map_err(|err| corrupt(err.to_string()))?;
    Ok(NetworkSeries {
        room: stored_room(&row.text("room_name")?)?,
        client: ClientId::new(row.text("client_id")?),
        started: row.time("started_ms")?,
        interval_ms: u32::try_from(row.int("interval_ms")?)
            .map_err(|err| corrupt(err.to_string()))?,
        samples: samples
            .into_iter()
            .map(
                |(bitrate_send, bitrate_recv, packet_loss_send, packet_loss_recv)| NetworkSample {
                    bitrate_send,
                    bitrate_recv,
                    packet_loss_send,
                    packet_loss_recv,
                },
            )
            .collect(),
    })
}
