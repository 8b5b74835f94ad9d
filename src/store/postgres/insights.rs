//! Insights in PostgreSQL: the shared queries (`store/insights_sql.rs`) run on this engine.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Postgres;
use sqlx::Row;

use super::PostgresStore;
use crate::store::insights::{
    InsightStore, ParticipantEvent, ParticipantInsight, ParticipantQuery, RoomInsight,
    RoomInsightQuery, SessionInsight, SessionInsightQuery,
};
use crate::store::insights_sql::{self, stay_columns};
use crate::store::{StoreError, from_millis};

#[async_trait]
impl InsightStore for PostgresStore {
    async fn room_insights(
        &self,
        query: &RoomInsightQuery,
        now: DateTime<Utc>,
    ) -> Result<Vec<RoomInsight>, StoreError> {
        let mut sql = insights_sql::room_insights::<Postgres>(query, now);
        let rows = sql.build().fetch_all(&self.pool).await?;
        rows.iter().map(insights_sql::room_from_row).collect()
    }

    async fn session_insights(
        &self,
        query: &SessionInsightQuery,
        now: DateTime<Utc>,
    ) -> Result<Vec<SessionInsight>, StoreError> {
        let mut sql = insights_sql::session_insights::<Postgres>(query, now);
        let rows = sql.build().fetch_all(&self.pool).await?;
        rows.iter().map(insights_sql::session_from_row).collect()
    }

    async fn participant_insights(
        &self,
        query: &ParticipantQuery,
    ) -> Result<Vec<ParticipantInsight>, StoreError> {
        let mut sql = insights_sql::participant_insights::<Postgres>(query);
        let rows = sql.build().fetch_all(&self.pool).await?;
        rows.iter().map(insights_sql::stay_from_row).collect()
    }

    async fn participant_detail(
        &self,
        session_id: &str,
        participant_id: &str,
    ) -> Result<(Vec<ParticipantInsight>, Vec<ParticipantEvent>), StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            stay_columns!(),
            " FROM participations WHERE session_id = $1 AND client_id = $2 ORDER BY id"
        ))
        .bind(session_id)
        .bind(participant_id)
        .fetch_all(&self.pool)
        .await?;
        let stays: Vec<ParticipantInsight> = rows
            .iter()
            .map(insights_sql::stay_from_row)
            .collect::<Result<_, _>>()?;
        if stays.is_empty() {
            return Ok((stays, Vec::new()));
        }
        let events = sqlx::query(
            "SELECT e.kind, e.at_ms FROM room_events e \
             JOIN room_sessions s ON s.room_name = e.room_name \
             WHERE s.id = $1 AND e.client_id = $2 ORDER BY e.id",
        )
        .bind(session_id)
        .bind(participant_id)
        .fetch_all(&self.pool)
        .await?;
        let events = events
            .iter()
            .map(|row| {
                Ok(ParticipantEvent {
                    kind: row.try_get("kind")?,
                    at: from_millis(row.try_get("at_ms")?)?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok((stays, events))
    }
}
